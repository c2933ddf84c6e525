"""docs/ga4-cookies.js run with node: it finds both cookies, and the bridge accepts them."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shared.events import parse_event

SNIPPET = Path(__file__).resolve().parents[2] / "docs" / "ga4-cookies.js"
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")


def read_cookies(measurement_id: str, cookie_string: str) -> dict[str, str | None]:
    script = (
        f"const {{ readGa4Cookies }} = require({json.dumps(str(SNIPPET))});"
        f"process.stdout.write(JSON.stringify(readGa4Cookies("
        f"{json.dumps(measurement_id)}, {json.dumps(cookie_string)})));"
    )
    done = subprocess.run(
        [str(NODE), "-e", script], capture_output=True, check=True, timeout=30, text=True
    )
    result: dict[str, str | None] = json.loads(done.stdout)
    return result


@pytest.mark.parametrize(
    ("session_cookie", "session_id"),
    [
        ("GS1.1.1764243000.3.1.1764243500.0.0.0", "1764243000"),
        ("GS2.1.s1764243000$o3$g1$t1764243500$j60$l0$h0", "1764243000"),
    ],
)
def test_both_cookies_are_read_and_become_the_ids_ga4_wants(
    session_cookie: str, session_id: str
) -> None:
    cookies = (
        "_gcl_au=1.1.1.1; _ga=GA1.1.1760224793.1424413995; "
        f"_ga_OTHER1234=GS2.1.s1$o1; _ga_ABC123XYZ={session_cookie}; theme=dark"
    )

    found = read_cookies("G-ABC123XYZ", cookies)

    assert found == {"client_id": "GA1.1.1760224793.1424413995", "session_id": session_cookie}
    call = {
        "source": "generic",
        "call_id": "c-1",
        "status": "answered",
        "started_at": datetime(2026, 11, 27, tzinfo=UTC).isoformat(),
        **found,
    }
    event = parse_event(call, "US")
    assert (event.client_id, event.session_id) == ("1760224793.1424413995", session_id)


def test_a_percent_encoded_cookie_is_decoded() -> None:
    found = read_cookies("G-ABC123XYZ", "_ga_ABC123XYZ=GS2.1.s1764243000%24o3%24g1")

    assert found == {"client_id": None, "session_id": "GS2.1.s1764243000$o3$g1"}


def test_missing_cookies_are_null() -> None:
    assert read_cookies("G-ABC123XYZ", "") == {"client_id": None, "session_id": None}
