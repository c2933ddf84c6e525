"""Fixtures for every test layer: isolated environment, real Pub/Sub and Firestore emulators."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from shared.settings import Settings, variable_names
from tools.stack import Ports, Stack

# Variables Settings reads, plus the emulator switches: a developer's shell must not leak in.
_SETTINGS_PREFIXES = variable_names()


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    """Remove every configuration variable; emulator hosts are restored where emulators run."""
    for name in list(os.environ):
        if name.startswith(_SETTINGS_PREFIXES):
            monkeypatch.delenv(name)
    if "pubsub_emulator" in request.fixturenames:
        emulator: Stack = request.getfixturevalue("pubsub_emulator")
        monkeypatch.setenv("PUBSUB_EMULATOR_HOST", emulator.emulator_host)
        monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", emulator.project)
    if "firestore_emulator" in request.fixturenames:
        firestore: Stack = request.getfixturevalue("firestore_emulator")
        monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", firestore.firestore_host)


@pytest.fixture(scope="session")
def pubsub_emulator() -> Iterator[Stack]:
    """A real Pub/Sub emulator on a free port, for the whole test session."""
    with Stack(ports=Ports.free(), services=("emulator",)) as stack:
        # The publisher client is made once per process and reads this when it is made.
        os.environ["PUBSUB_EMULATOR_HOST"] = stack.emulator_host
        yield stack


@pytest.fixture(scope="session")
def firestore_emulator() -> Iterator[Stack]:
    """A real Firestore emulator on a free port, for the whole test session."""
    with Stack(ports=Ports.free(), services=("firestore",)) as stack:
        # Ledger clients are made once per process and read this when they are made.
        os.environ["FIRESTORE_EMULATOR_HOST"] = stack.firestore_host
        yield stack


@pytest.fixture
def empty_ledger(firestore_emulator: Stack) -> Stack:
    """The Firestore emulator with no delivery recorded: each test starts from a clean ledger."""
    firestore_emulator.clear_firestore(Settings().firestore_database)
    return firestore_emulator


@pytest.fixture
def settings() -> Settings:
    """Settings as a test builds them: defaults plus a generic secret and a property id."""
    return Settings(
        webhook_secrets={"generic": ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",)},
        ua_property_id="UA-12345678-1",
    )
