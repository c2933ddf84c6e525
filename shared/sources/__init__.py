"""The webhook sources ingest knows, by the name in `POST /{source}`."""

from __future__ import annotations

from shared.sources import (
    aircall,
    callrail,
    calltouch,
    dialpad,
    generic,
    ringcentral,
    ringostat,
    twilio,
    uis,
)
from shared.sources.base import Source

# Adding a vendor: write shared/sources/<vendor>.py with NAME, METHODS, CONTENT_TYPES, verify
# and parse, then register it here. Nothing else changes.
SOURCES: dict[str, Source] = {
    module.NAME: module
    for module in (
        generic,
        callrail,
        twilio,
        aircall,
        ringcentral,
        dialpad,
        ringostat,
        uis,
        calltouch,
    )
}
