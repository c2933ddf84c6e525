"""The committed OpenAPI document is the one ingest serves."""

from __future__ import annotations

import json
from pathlib import Path

from shared.events import call_event_json_schema
from shared.openapi import openapi_document
from shared.sources import SOURCES, generic
from tools import export_schema

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_committed_openapi_document_is_current() -> None:
    committed = json.loads(COMMITTED.read_text())

    # Regenerate with: python -m tools.export_schema
    assert committed == json.loads(json.dumps(openapi_document()))


def test_openapi_document_names_every_registered_source() -> None:
    description = openapi_document()["info"]["description"]

    assert all(f"`{name}`" in description for name in SOURCES)


def test_openapi_call_event_is_the_published_json_schema() -> None:
    # One schema, two documents: they must agree on every field and on what is required.
    document = openapi_document()
    published = call_event_json_schema()
    in_openapi = document["components"]["schemas"]["CallEvent"]

    assert in_openapi["required"] == published["required"]
    assert "event_id" not in in_openapi["required"]
    assert set(in_openapi["properties"]) == set(published["properties"])


def test_generic_request_body_is_one_call_event_or_an_array_of_them() -> None:
    operation = openapi_document()["paths"]["/generic"]["post"]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    event = {"$ref": "#/components/schemas/CallEvent"}

    assert schema["oneOf"] == [
        event,
        {"type": "array", "items": event, "minItems": 1, "maxItems": generic.MAX_EVENTS},
    ]
    assert [p["name"] for p in operation["parameters"]] == list(generic.AUTH_HEADERS)


def test_webhook_parameters_are_the_sources_declared_headers_and_query_parameters() -> None:
    parameters = openapi_document()["paths"]["/{source}"]["post"]["parameters"]
    headers = {p["name"] for p in parameters if p["in"] == "header"}
    query = {p["name"] for p in parameters if p["in"] == "query"}

    assert headers == {h for source in SOURCES.values() for h in source.AUTH_HEADERS}
    assert query == {q for source in SOURCES.values() for q in source.AUTH_QUERY}


def test_export_check_names_a_stale_file(tmp_path: Path) -> None:
    assert export_schema.main(["--docs", str(tmp_path)]) == 0
    assert export_schema.main(["--docs", str(tmp_path), "--check"]) == 0
    (tmp_path / "openapi.json").write_text("{}\n")

    assert export_schema.main(["--docs", str(tmp_path), "--check"]) == 1
