"""Measurement Protocol message codes and every destination limit: sizes, counts and ages.

The one home of each limit: the rules (ua.py, ga4.py), the destinations, the Google Ads builder and
the local collector all read them from here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Final, Literal

# Message codes. Google's own (observed in /debug/collect and /debug/mp/collect responses):
#   VALUE_INVALID, VALUE_REQUIRED, VALUE_MODIFIED, UNKNOWN_PARAMETER (UA);
#   VALUE_INVALID, VALUE_REQUIRED, NAME_INVALID, NAME_RESERVED, VALUE_OUT_OF_BOUNDS,
#   EXCEEDED_MAX_ENTITIES, NAME_DUPLICATED (GA4).
# Ours, for things Google accepts with a 2xx but then truncates, ignores or drops silently:
#   VALUE_TRUNCATED (WARN)     text longer than its byte limit; Google keeps the truncated prefix.
#   PARAMETER_IGNORED (WARN)   parameter not used on this hit type (or product data without `pa`).
#   PARAMETER_DUPLICATED (WARN) the same key twice with different values; the first one is used.
#   PAYLOAD_TOO_LARGE (ERROR)  hit/batch over the byte limit; Google drops it without an error.
#   TOO_MANY_HITS (ERROR)      a batch with more than 20 hits.
#   PII_DETECTED (ERROR)       a phone number / e-mail in a hit bound for Google (shared/pii.py).
VALUE_INVALID: Final = "VALUE_INVALID"
VALUE_REQUIRED: Final = "VALUE_REQUIRED"
VALUE_MODIFIED: Final = "VALUE_MODIFIED"
UNKNOWN_PARAMETER: Final = "UNKNOWN_PARAMETER"
VALUE_TRUNCATED: Final = "VALUE_TRUNCATED"
PARAMETER_IGNORED: Final = "PARAMETER_IGNORED"
PARAMETER_DUPLICATED: Final = "PARAMETER_DUPLICATED"
PAYLOAD_TOO_LARGE: Final = "PAYLOAD_TOO_LARGE"
TOO_MANY_HITS: Final = "TOO_MANY_HITS"
PII_DETECTED: Final = "PII_DETECTED"
NAME_INVALID: Final = "NAME_INVALID"
NAME_RESERVED: Final = "NAME_RESERVED"
NAME_DUPLICATED: Final = "NAME_DUPLICATED"
VALUE_OUT_OF_BOUNDS: Final = "VALUE_OUT_OF_BOUNDS"
EXCEEDED_MAX_ENTITIES: Final = "EXCEEDED_MAX_ENTITIES"

MessageType = Literal["ERROR", "WARN", "INFO"]
Target = Literal["google", "owox"]

# How old an event may be when it is sent (from when what it reports happened: the call's start,
# or a later qualification), per destination.
# Universal Analytics' `qt` (queue time): Google may discard hits queued over 4 hours.
UA_MAX_AGE: Final = timedelta(hours=4)
# OWOX BI's UA access point takes `qt` up to 30 days.
OWOX_MAX_AGE: Final = timedelta(days=30)
# GA4 takes events back-dated by at most 72 hours (timestamp_micros).
GA4_MAX_AGE: Final = timedelta(hours=72)
# OWOX BI's GA4 access point accepts events of any past date and documents no limit; 30 days,
# as its UA access point documents for `qt`, bounds how long a stuck event keeps being retried.
OWOX_GA4_MAX_AGE: Final = OWOX_MAX_AGE
# A click converts for at most 90 days (the longest click-through window Google Ads offers):
# an older call cannot be attributed, and the API would answer EXPIRED_EVENT.
ADS_MAX_AGE: Final = timedelta(days=90)

UA_HIT_LIMIT_GOOGLE: Final = 8192
UA_HIT_LIMIT_OWOX: Final = 16 * 1024
# Google's documented GET limit, and a length common HTTP front ends accept.
UA_GET_LIMIT_GOOGLE: Final = 8000
UA_BATCH_MAX_HITS: Final = 20
UA_BATCH_LIMIT: Final = 16 * 1024
QT_LIMIT_MS: Final[Mapping[Target, int]] = {
    "google": int(UA_MAX_AGE.total_seconds() * 1000),
    "owox": int(OWOX_MAX_AGE.total_seconds() * 1000),
}

GA4_BODY_LIMIT: Final = 130_000  # "< 130 kB"; the decimal reading is the stricter one
GA4_MAX_EVENTS: Final = 25
GA4_MAX_PARAMS: Final = 25
GA4_MAX_USER_PROPERTIES: Final = 25
GA4_MAX_NAME: Final = 40
GA4_MAX_VALUE: Final = 100
GA4_LONG_VALUES: Final[Mapping[str, int]] = {
    "page_title": 300,
    "page_referrer": 420,
    "page_location": 1000,
}
GA4_MAX_USER_PROPERTY_NAME: Final = 24
GA4_MAX_USER_PROPERTY_VALUE: Final = 36
GA4_MAX_USER_ID: Final = 256
# Vendor clocks (the call's start time) may run a little ahead of ours.
GA4_FUTURE_SKEW: Final = timedelta(minutes=5)

# OWOX BI's phone parameter `tel`, on its UA and GA4 access points alike: an E.164 number.
TEL_E164: Final = re.compile(r"\+[1-9]\d{6,14}", re.ASCII)
