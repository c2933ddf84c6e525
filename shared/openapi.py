"""The OpenAPI document of `ingest`, built from the registered sources and the call event model.

Nothing vendor-specific is typed here: each source declares its methods, content types and the
headers and query parameters its credentials ride in; the call event's schema is
`call_event_json_schema`'s, so docs/openapi.json and docs/call-event.schema.json agree.
"""

from __future__ import annotations

from typing import Any

from shared.events import call_event_json_schema
from shared.sources import SOURCES, generic, ringcentral

_JSON = "application/json"
_FORM = "application/x-www-form-urlencoded"
# How a request body of each media type a source declares is described.
_BODY_SCHEMAS: dict[str, dict[str, Any]] = {
    _JSON: {},
    _FORM: {"type": "object", "additionalProperties": {"type": "string"}},
}
_TEXT_BODY: dict[str, Any] = {"type": "string"}
_EVENT_REF = {"$ref": "#/components/schemas/CallEvent"}


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 description served at `GET /openapi.json` and kept in docs/openapi.json."""
    event_schema = _component_refs(call_event_json_schema())
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
        f"/{generic.NAME}": {"post": _generic_operation()},
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
    lines = []
    for name, module in sorted(SOURCES.items()):
        where = [*module.AUTH_HEADERS, *(f"?{param}" for param in module.AUTH_QUERY)]
        credentials = f"; {', '.join(where)}" if where else ""
        methods = "/".join(sorted(module.METHODS))
        content_types = ", ".join(sorted(module.CONTENT_TYPES))
        lines.append(f"`{name}` ({methods}; {content_types}{credentials})")
    return lines


def _component_refs(schema: Any) -> Any:
    """The schema with its `#/$defs/…` references pointed at OpenAPI's components."""
    if isinstance(schema, dict):
        return {
            key: (
                value.replace("#/$defs/", "#/components/schemas/")
                if key == "$ref" and isinstance(value, str)
                else _component_refs(value)
            )
            for key, value in schema.items()
        }
    if isinstance(schema, list):
        return [_component_refs(item) for item in schema]
    return schema


def _generic_operation() -> dict[str, Any]:
    """`POST /generic`: the call event itself, one or an array of them, signed."""
    events = {"type": "array", "items": _EVENT_REF, "minItems": 1, "maxItems": generic.MAX_EVENTS}
    return {
        "summary": "Receive call events in this service's own format (Standard Webhooks signed)",
        "parameters": [_header(name, required=True) for name in generic.AUTH_HEADERS],
        "requestBody": {
            "required": True,
            "content": {_JSON: {"schema": {"oneOf": [_EVENT_REF, events]}}},
        },
        "responses": _responses(),
    }


def _header(name: str, *, required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "header", "required": required, "schema": {"type": "string"}}


def _auth_query_parameters() -> list[dict[str, Any]]:
    users: dict[str, list[str]] = {}
    for name, module in sorted(SOURCES.items()):
        for param in module.AUTH_QUERY:
            users.setdefault(param, []).append(name)
    return [
        {
            "name": param,
            "in": "query",
            "required": False,
            "description": "Read by " + ", ".join(f"`{name}`" for name in names) + ".",
            "schema": {"type": "string"},
        }
        for param, names in sorted(users.items())
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
    headers = sorted({header for module in SOURCES.values() for header in module.AUTH_HEADERS})
    parameters += [*_auth_query_parameters(), *(_header(name) for name in headers)]
    content_types = sorted({ct for module in SOURCES.values() for ct in module.CONTENT_TYPES})
    post = {
        "summary": "Receive one vendor webhook",
        "parameters": parameters,
        "requestBody": {
            "required": False,
            "content": {ct: {"schema": _BODY_SCHEMAS.get(ct, _TEXT_BODY)} for ct in content_types},
        },
        "responses": _responses(),
    }
    get_sources = ", ".join(sorted(name for name, m in SOURCES.items() if "GET" in m.METHODS))
    get = {
        "summary": f"Receive one vendor webhook sent as GET ({get_sources})",
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
            "headers": {ringcentral.VALIDATION_HEADER: {"schema": {"type": "string"}}},
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
