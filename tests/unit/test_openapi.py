"""The committed OpenAPI document is the one ingest serves."""

from __future__ import annotations

import json
from pathlib import Path

from shared.openapi import openapi_document
from shared.sources import SOURCES

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_committed_openapi_document_is_current() -> None:
    committed = json.loads(COMMITTED.read_text())

    # Regenerate with: python -m shared.openapi > docs/openapi.json
    assert committed == json.loads(json.dumps(openapi_document()))


def test_openapi_document_names_every_registered_source() -> None:
    description = openapi_document()["info"]["description"]

    assert all(f"`{name}`" in description for name in SOURCES)
