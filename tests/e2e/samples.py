"""Secrets the e2e stack runs with: one per source, each test signs with its own."""

from __future__ import annotations

from tools.stack import DEV_SECRET

# Vendors add their WEBHOOK_SECRET_<SOURCE> here so the session's stack enables them.
E2E_SECRETS: dict[str, str] = {
    "WEBHOOK_SECRET_GENERIC": DEV_SECRET,
}
