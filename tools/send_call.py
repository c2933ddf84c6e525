"""Send a signed sample call to ingest, as a platform would (`make demo [SOURCE=callrail]`)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from shared.sources.generic import sign
from tools.scenarios import PLATFORMS, build_requests, scenario_names
from tools.stack import DEV_SECRET


def sample_call(call_id: str | None = None, **overrides: Any) -> dict[str, Any]:
    """A realistic answered inbound call that started a minute ago, with web attribution."""
    started = datetime.now(UTC).replace(microsecond=0).timestamp() - 60
    call = {
        "call_id": call_id or f"demo-{uuid.uuid4().hex[:12]}",
        "status": "answered",
        "direction": "inbound",
        "started_at": datetime.fromtimestamp(started, UTC).isoformat().replace("+00:00", "Z"),
        "duration_s": 187,
        "talk_s": 170,
        "caller": "+12015550123",
        "tracking_number": "+12015550188",
        "client_id": "GA1.2.1760224793.1424413995",
        "utm_source": "google",
        "utm_medium": "cpc",
        "utm_campaign": "fall_storm_2024",
        "gclid": "EAIaIQobChMIdemo0001",
        "landing_page": "https://www.example.com/roof-repair",
    }
    return {**call, **overrides}


def signed_headers(secret: str, body: bytes, msg_id: str | None = None) -> dict[str, str]:
    """Standard Webhooks headers for `body`, signed now."""
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    timestamp = int(time.time())
    return {
        "Content-Type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, msg_id, timestamp, body),
    }


def main() -> int:
    """Post one signed sample call to the local ingest and print the answer."""
    parser = argparse.ArgumentParser(description=__doc__)
    port = os.environ.get("INGEST_PORT", "8080")
    parser.add_argument("--base-url", default=f"http://127.0.0.1:{port}", help="ingest's URL")
    parser.add_argument(
        "--source",
        default="generic",
        choices=["generic", *PLATFORMS],
        help="send this platform's requests, signed its own way with the local dev secret",
    )
    parser.add_argument(
        "--scenario",
        default="answered",
        help="platforms only: the call to send (answered, missed, voicemail, multi-leg, …)",
    )
    parser.add_argument("--secret", default=os.environ.get("WEBHOOK_SECRET_GENERIC", DEV_SECRET))
    parser.add_argument("--file", help="generic only: send this JSON file instead of the sample")
    args = parser.parse_args()
    if args.source == "generic":
        body = Path(args.file).read_bytes() if args.file else json.dumps(sample_call()).encode()
        secret = args.secret.split(",")[0]
        response = requests.post(
            f"{args.base_url}/generic", data=body, headers=signed_headers(secret, body), timeout=15
        )
    else:
        return _send_scenario(args.source, args.scenario, args.base_url)
    print(response.status_code, response.text.strip())
    return 0 if response.ok else 1


def _send_scenario(source: str, scenario: str, base_url: str) -> int:
    """Post a platform scenario's requests in order, printing what each one was answered."""
    if scenario not in scenario_names(source):
        known = ", ".join(scenario_names(source))
        print(f"{source} has no scenario {scenario!r}; known: {known}", file=sys.stderr)
        return 2
    started = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=2)
    sequence = build_requests(source, scenario, started, base_url, datetime.now(UTC))
    failed = False
    for request in sequence:
        response = requests.request(
            request.method,
            f"{base_url}{request.target}",
            data=request.body,
            headers=request.headers,
            timeout=15,
        )
        print(f"{request.method} {request.path} → {response.status_code} {response.text.strip()}")
        failed = failed or not response.ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
