"""Secrets the e2e stack runs with: one per source, each test signs with its own."""

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
