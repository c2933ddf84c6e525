"""Generated files: written, or with --check compared, by the generators (config_docs,
export_schema), which name what is stale and how to regenerate it."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path


def write_or_check(wanted: Mapping[Path, str], *, check: bool, command: str) -> int:
    """Write each file whose text differs (creating its folder), or with `check` write nothing
    and return 1 naming each one that differs, with `command` to regenerate them."""
    stale = []
    for path, text in wanted.items():
        if path.exists() and path.read_text() == text:
            continue
        if check:
            stale.append(path.name)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"wrote {path}")
    if stale:
        print(f"stale: {', '.join(stale)}; run {command}", file=sys.stderr)
        return 1
    return 0
