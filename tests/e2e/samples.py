"""What the e2e stack runs with beyond the local defaults (which enable every source)."""

from __future__ import annotations

GA4_MEASUREMENT_ID = "G-E2ETEST01"
GA4_API_SECRET = "e2e-api-secret"
E2E_DESTINATIONS = ("owox", "ua", "ga4", "owox_ga4")
E2E_DELIVERY_ATTEMPTS = 15
E2E_ENV: dict[str, str] = {
    "GA4_MEASUREMENT_ID": GA4_MEASUREMENT_ID,
    "GA4_API_SECRET": GA4_API_SECRET,
    "CUSTOM_PARAMETERS": "keyword=cd3",
}
