"""The OpenAPI document of `ingest`, built from the registered sources and the call event model."""

from __future__ import annotations

from typing import Any

from shared.events import CallEvent
from shared.sources import SOURCES

_JSON = "application/json"


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 description served at `GET /openapi.json` and kept in docs/openapi.json."""
    event_schema = CallEvent.model_json_schema(
        mode="validation", ref_template="#/components/schemas/{model}"
    )
    schemas: dict[str, Any] = event_schema.pop("$defs", {})
    schemas["CallEvent"] = event_schema
    schemas["Accepted"] = {
        "type": "object",
        "required": ["event_ids", "message_ids"],
        "properties": {
            "event_ids": {"type": "array", "items": {"type": "string"}},
            "message_ids": {"type": "array", "items": {"type": "string"}},
            "note": {"type": ["string", "null"]},
        },
    }
    schemas["Error"] = {
        "type": "object",
        "required": ["error", "detail"],
        "properties": {
            "error": {"type": "string"},
            "detail": {"type": "string"},
            "field": {"type": "string"},
        },
    }
    webhook_paths = {
        "/{source}": _webhook_operations(with_event=False),
        "/{source}/{event}": _webhook_operations(with_event=True),
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "owox-call-bridge ingest",
            "version": "1",
            "description": (
                "Receives call-tracking webhooks, verifies them with the source's own scheme, "
                "and publishes call events. Sources: " + ", ".join(_source_lines()) + "."
            ),
        },
        "paths": {
            "/healthz": {"get": _simple_get("Liveness", {"type": "object"})},
            "/openapi.json": {"get": _simple_get("This document", {"type": "object"})},
            **webhook_paths,
        },
        "components": {"schemas": schemas},
    }


def _source_lines() -> list[str]:
    return [
        f"`{name}` ({'/'.join(sorted(module.METHODS))}; {', '.join(sorted(module.CONTENT_TYPES))})"
        for name, module in sorted(SOURCES.items())
    ]


def _simple_get(summary: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "summary": summary,
        "responses": {"200": {"description": "OK", "content": {_JSON: {"schema": schema}}}},
    }


def _webhook_operations(*, with_event: bool) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {
            "name": "source",
            "in": "path",
            "required": True,
            "description": "A registered source with a configured secret.",
            "schema": {"type": "string", "examples": sorted(SOURCES)},
        }
    ]
    if with_event:
        parameters.append(
            {
                "name": "event",
                "in": "path",
                "required": True,
                "description": "Event or tenant path some sources use (e.g. /callrail/post_call).",
                "schema": {"type": "string"},
            }
        )
    parameters += [
        {
            "name": "token",
            "in": "query",
            "required": False,
            "description": "Shared token of sources that sign nothing (Ringostat, UIS, Calltouch).",
            "schema": {"type": "string"},
        },
        *(
            {"name": header, "in": "header", "required": False, "schema": {"type": "string"}}
            for header in (
                "webhook-id",
                "webhook-timestamp",
                "webhook-signature",
                "Signature",
                "X-Twilio-Signature",
                "Verification-Token",
                "Validation-Token",
            )
        ),
    ]
    post = {
        "summary": "Receive one vendor webhook",
        "parameters": parameters,
        "requestBody": {
            "required": False,
            "content": {
                _JSON: {"schema": {}},
                "application/x-www-form-urlencoded": {
                    "schema": {"type": "object", "additionalProperties": {"type": "string"}}
                },
                "text/plain": {"schema": {"type": "string"}},
            },
        },
        "responses": _responses(),
    }
    get = {
        "summary": "Receive one vendor webhook sent as GET (Twilio, Ringostat, UIS, Calltouch)",
        "parameters": parameters,
        "responses": _responses(),
    }
    return {"post": post, "get": get}


def _responses() -> dict[str, Any]:
    accepted = {_JSON: {"schema": {"$ref": "#/components/schemas/Accepted"}}}
    error = {_JSON: {"schema": {"$ref": "#/components/schemas/Error"}}}
    errors = {
        "400": "The body is not a call webhook this source understands; the field is named.",
        "401": "Signature, token or timestamp does not verify, or an auth header is repeated.",
        "404": "No such source, or the source has no secret and is disabled.",
        "405": "The source does not accept this method.",
        "413": "The body is over MAX_BODY_BYTES.",
        "415": "The source does not accept this content type.",
    }
    responses: dict[str, Any] = {
        "200": {
            "description": "Accepted, for vendors that count only 200 (Ringostat) and the "
            "RingCentral handshake, which echoes Validation-Token.",
            "headers": {"Validation-Token": {"schema": {"type": "string"}}},
            "content": accepted,
        },
        "202": {"description": "Published (or acknowledged with a note).", "content": accepted},
        **{code: {"description": text, "content": error} for code, text in errors.items()},
        "503": {
            "description": "Pub/Sub did not acknowledge; retry later.",
            "headers": {"Retry-After": {"schema": {"type": "string"}}},
            "content": error,
        },
    }
    responses["405"]["headers"] = {"Allow": {"schema": {"type": "string"}}}
    return responses


if __name__ == "__main__":
    # `python -m shared.openapi > docs/openapi.json` refreshes the committed copy.
    import json
    import sys

    sys.stdout.write(json.dumps(openapi_document(), indent=2, sort_keys=True) + "\n")
