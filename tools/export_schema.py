"""Write docs/call-event.schema.json and docs/openapi.json from the code
(`python -m tools.export_schema`; `--check` fails when either committed file is stale).

Both come from the call event model (shared/events.py) and the sources' own declarations
(shared/sources/): nothing in them is typed by hand. `make test` runs the check.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from shared.events import call_event_json_schema
from shared.openapi import openapi_document
from tools.generated import write_or_check

DOCS = Path(__file__).resolve().parent.parent / "docs"
SCHEMA_PATH = DOCS / "call-event.schema.json"
OPENAPI_PATH = DOCS / "openapi.json"


def schema_text() -> str:
    """The schema as the committed file holds it: indented JSON with a final newline."""
    return json.dumps(call_event_json_schema(), indent=2, ensure_ascii=False) + "\n"


def openapi_text() -> str:
    """The OpenAPI document as committed: indented, keys sorted, a final newline."""
    return json.dumps(openapi_document(), indent=2, sort_keys=True) + "\n"


EXPORTS: dict[str, Callable[[], str]] = {
    SCHEMA_PATH.name: schema_text,
    OPENAPI_PATH.name: openapi_text,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Write both files (or, with --check, exit 1 naming each stale one)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if a file is out of date")
    parser.add_argument("--docs", type=Path, default=DOCS, help="the folder holding the files")
    args = parser.parse_args(argv)
    return write_or_check(
        {args.docs / name: render() for name, render in EXPORTS.items()},
        check=args.check,
        command="python -m tools.export_schema",
    )


if __name__ == "__main__":
    sys.exit(main())
