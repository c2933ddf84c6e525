"""Write the call event's JSON Schema to docs/ (`python -m tools.export_schema`)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from shared.events import call_event_json_schema

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "docs" / "call-event.schema.json"


def schema_text() -> str:
    """The schema as the committed file holds it: indented JSON with a final newline."""
    return json.dumps(call_event_json_schema(), indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    """Write the schema (or, with --check, fail when the committed file is stale)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is out of date")
    args = parser.parse_args()
    text = schema_text()
    if args.check:
        current = SCHEMA_PATH.read_text() if SCHEMA_PATH.exists() else ""
        if current != text:
            print(
                f"{SCHEMA_PATH.name} is stale: run python -m tools.export_schema", file=sys.stderr
            )
            return 1
        return 0
    SCHEMA_PATH.parent.mkdir(parents=True, exist_ok=True)
    SCHEMA_PATH.write_text(text)
    print(f"wrote {SCHEMA_PATH.relative_to(SCHEMA_PATH.parent.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
