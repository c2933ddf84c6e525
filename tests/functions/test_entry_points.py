"""Cold start: an instance loads its own entry point's modules, and only those."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MAIN = REPO / "functions" / "main.py"
WATCHED = (
    "shared.ingest",
    "shared.outbox",
    "shared.publish",
    "shared.dispatch",
    "shared.deliveries",
    "shared.destinations",
    "google.cloud.firestore",
)


def _loaded_at_cold_start(target: str, dedup: str) -> list[str]:
    """The watched modules loaded once functions-framework has loaded main.py for `target`."""
    script = (
        "import json, sys, functions_framework\n"
        f"functions_framework.create_app(target={target!r}, source={str(MAIN)!r})\n"
        f"print(json.dumps([m for m in {list(WATCHED)!r} if m in sys.modules]))\n"
    )
    env = {"PYTHONPATH": str(REPO), "DEDUP": dedup}
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    loaded: list[str] = json.loads(result.stdout)
    return loaded


@pytest.mark.parametrize(
    ("target", "dedup", "expected"),
    [
        ("ingest", "firestore", ["shared.ingest", "shared.outbox", "shared.publish"]),
        (
            "dispatch",
            "firestore",
            [
                "shared.publish",
                "shared.dispatch",
                "shared.deliveries",
                "shared.destinations",
                "google.cloud.firestore",
            ],
        ),
        (
            "dispatch",
            "off",
            ["shared.publish", "shared.dispatch", "shared.deliveries", "shared.destinations"],
        ),
        ("sweep_kept", "firestore", ["shared.outbox", "shared.publish"]),
    ],
)
def test_an_instance_loads_its_entry_points_modules_and_no_others(
    target: str, dedup: str, expected: list[str]
) -> None:
    assert _loaded_at_cold_start(target, dedup) == expected
