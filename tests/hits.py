"""A realistic call hit, shared by the tests of validation, the PII guard and the collector."""

from __future__ import annotations

from urllib.parse import quote, urlencode

CALL_HIT_PARAMS: dict[str, str] = {
    "v": "1",
    "tid": "UA-12345678-1",
    "cid": "1760224793.1424413995",
    "t": "event",
    "ec": "call",
    "ea": "answered",
    "el": "callrail",
    "ev": "187",
    "qt": "5000",
    "cs": "google",
    "cm": "cpc",
    "cn": "fall_storm_2024",
    "gclid": "EAIaIQobChMIdemo0001",
    "dl": "https://www.example.com/roof-repair",
    "uip": "203.0.113.7",
    "ua": "Mozilla/5.0",
    "ds": "call center",
    "z": "8f3a2c",
}
# As dispatch encodes it: spaces as %20, every reserved character escaped.
CALL_HIT = urlencode(CALL_HIT_PARAMS, quote_via=quote, safe="")
OWOX_CALL_HIT = CALL_HIT + "&tel=%2B12015550123"
