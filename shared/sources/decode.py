"""Untrusted vendor bytes to Python values: strict UTF-8, bounded JSON, forms and query strings."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import parse_qsl

from shared.errors import BadPayload, position_label
from shared.sources.base import WebhookRequest

# Vendor call payloads are shallow and small; anything deeper or wider is hostile or broken.
MAX_JSON_DEPTH = 16
MAX_ITEMS = 1000  # members of one JSON object or array, fields of one form
# A JSON escape that can spell a UTF-16 surrogate (\uD800-\uDFFF), paired or lone.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def utf8(raw: bytes, what: str = "body") -> str:
    """The bytes as UTF-8 text; raises BadPayload for any other encoding."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadPayload(f"{what} is not UTF-8", field=None) from None


def json_value(raw: bytes | str, what: str = "body") -> Any:
    """Decode JSON within the depth and size limits; raises BadPayload on anything else."""
    text = raw if isinstance(raw, str) else utf8(raw, what)
    try:
        value = _DECODER.decode(text)
    # ValueError covers malformed JSON and numbers beyond int's digit limit; RecursionError
    # covers nesting deeper than the parser's stack.
    except (ValueError, RecursionError):
        raise BadPayload(f"{what} is not valid JSON") from None
    if not within_limits_by_text(text, from_utf8=not isinstance(raw, str)):
        _check_shape(value, what)
    return value


def within_limits_by_text(text: str, *, from_utf8: bool) -> bool:
    """True when the JSON text alone proves its value within every limit `_check_shape` checks.

    A few scans in C instead of a walk over every value (a third of a webhook's handling):
    nesting is at most the number of opening brackets, a container holds at most one item
    more than the commas, and a decoded string holds a lone surrogate only through a
    \\uD8xx-\\uDFxx escape, or raw in text that did not come from strict UTF-8. Brackets,
    commas and escapes inside strings count too, so it can only say False too often; False
    means walk the value.
    """
    return (
        text.count("[") + text.count("{") <= MAX_JSON_DEPTH
        and text.count(",") < MAX_ITEMS
        and _SURROGATE_ESCAPE.search(text) is None
        and (from_utf8 or _encodable(text))
    )


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def json_object(raw: bytes | str, what: str = "body") -> dict[str, Any]:
    """Decode a JSON object within the limits; raises BadPayload for anything else."""
    value = json_value(raw, what)
    if not isinstance(value, dict):
        raise BadPayload(f"{what} must be a JSON object")
    return value


def form(text: str, what: str = "body") -> list[tuple[str, str]]:
    """Decode `a=1&b=2` (form body or query string) keeping blanks and repeats, in order.

    Raises BadPayload for non-ASCII text, bytes that are not UTF-8 once unescaped, or too
    many fields.
    """
    if not text.isascii():
        raise BadPayload(f"{what} must be URL-encoded ASCII")
    try:
        return parse_qsl(
            text,
            keep_blank_values=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=MAX_ITEMS,
        )
    except UnicodeDecodeError:
        raise BadPayload(f"{what} is not UTF-8 once unescaped") from None
    except ValueError:
        raise BadPayload(f"{what} has more than {MAX_ITEMS} fields") from None


def single_values(pairs: list[tuple[str, str]], what: str = "body") -> dict[str, str]:
    """Fields as a dict; raises BadPayload when a name repeats with different values."""
    fields: dict[str, str] = {}
    for name, value in pairs:
        if fields.get(name, value) != value:
            # The name is the sender's text: echoed only when it cannot hold a phone number.
            label = position_label(name, list(fields))
            raise BadPayload(f"{what}: field {label} sent twice with different values", field=label)
        fields[name] = value
    return fields


def flat_fields(document: Mapping[str, Any]) -> dict[str, Any]:
    """Top-level members, with members of nested objects lifted up when the name is free."""
    fields = {key: value for key, value in document.items() if not isinstance(value, dict)}
    for value in document.values():
        if isinstance(value, dict):
            for key, inner in value.items():
                if key not in fields and not isinstance(inner, dict | list):
                    fields[key] = inner
    return fields


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


# Made once, as json.loads makes its default one: with any option json.loads builds a new
# decoder per call. A byte-order mark is refused still (json.loads names it; decode fails at
# the first character), and decoding shares no state between calls.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def _check_shape(value: Any, what: str) -> None:
    # Iterative, so the check itself cannot overflow the stack it protects.
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            _check_text(item, what)
            continue
        if not isinstance(item, dict | list):
            continue
        if depth > MAX_JSON_DEPTH:
            raise BadPayload(f"{what} nests deeper than {MAX_JSON_DEPTH} levels")
        if len(item) > MAX_ITEMS:
            raise BadPayload(f"{what} has an object or array of more than {MAX_ITEMS} items")
        pending.extend((child, depth + 1) for child in _children(item))


def _children(item: dict[str, Any] | list[Any]) -> Iterator[Any]:
    if isinstance(item, list):
        yield from item
        return
    for key, child in item.items():
        yield key
        yield child


def _check_text(text: str, what: str) -> None:
    # JSON escapes can spell lone surrogates, which no UTF-8 encoder downstream accepts.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise BadPayload(f"{what} has a string that is not valid Unicode") from None


def request_fields(request: WebhookRequest, exclude: frozenset[str]) -> dict[str, Any]:
    """Fields of a vendor whose user picks them: query string, then form or JSON body on top.

    Raises BadPayload when the body or query cannot be read or a field repeats ambiguously.
    """
    fields: dict[str, Any] = single_values(form(request.query, "query string"), "query string")
    if request.body:
        if request.content_type == "application/json":
            fields.update(flat_fields(json_object(request.body)))
        else:
            fields.update(single_values(form(utf8(request.body))))
    return {name: value for name, value in fields.items() if name not in exclude}
