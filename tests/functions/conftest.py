"""Both functions through functions-framework's test client, on the real Pub/Sub emulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import functions_framework
import pytest
from flask import Flask
from flask.testing import FlaskClient

from shared.deliveries import firestore_client
from tests.functions.pubsub import Spy, ensure_topic, spy_on
from tools.stack import Stack, free_port

MAIN = str(Path(__file__).resolve().parents[2] / "functions" / "main.py")
INGEST_TOPIC = "fn-ingest-call-events"


def function_client(target: str) -> FlaskClient:
    """A test client of one entry point; set its environment first: main.py reads it on import."""
    app: Flask = functions_framework.create_app(  # type: ignore[no-untyped-call]
        target=target, source=MAIN
    )
    return app.test_client()


@pytest.fixture(scope="session")
def ingest_topic(pubsub_emulator: Stack) -> str:
    """The topic ingest publishes to in function tests (PUBSUB_TOPIC)."""
    return ensure_topic(pubsub_emulator.project, INGEST_TOPIC)


@pytest.fixture
def published(pubsub_emulator: Stack, ingest_topic: str) -> Iterator[Spy]:
    """What ingest publishes to the call topic during this test."""
    with spy_on(pubsub_emulator.project, ingest_topic) as spy:
        yield spy


@pytest.fixture
def unreachable_firestore(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Firestore refuses every connection; the cached client is remade before and after."""
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", f"127.0.0.1:{free_port()}")
    monkeypatch.setenv("LEDGER_TIMEOUT_SECONDS", "0.5")
    firestore_client.cache_clear()
    yield
    firestore_client.cache_clear()
