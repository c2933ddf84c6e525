"""What the e2e stack runs with: every destination, and a secret per source."""

from __future__ import annotations

from tests.vendor_samples import SECRETS, TIMEZONES
from tools.stack import DEV_SECRET

# Vendors add their WEBHOOK_SECRET_<SOURCE> here so the session's stack enables them.
E2E_SECRETS: dict[str, str] = {
    "WEBHOOK_SECRET_GENERIC": DEV_SECRET,
    **{f"WEBHOOK_SECRET_{name.upper()}": secret for name, secret in SECRETS.items()},
    # Not a secret, but vendors that send naive local times need it to read them.
    "SOURCE_TIMEZONES": ",".join(f"{name}={zone}" for name, zone in TIMEZONES.items()),
}

GA4_MEASUREMENT_ID = "G-E2ETEST01"
GA4_API_SECRET = "e2e-api-secret"
E2E_DESTINATIONS = ("owox", "ua", "ga4", "owox_ga4")
E2E_ENV: dict[str, str] = {
    **E2E_SECRETS,
    "GA4_MEASUREMENT_ID": GA4_MEASUREMENT_ID,
    "GA4_API_SECRET": GA4_API_SECRET,
    "CUSTOM_PARAMETERS": "keyword=cd3",
}
