"""Generate the Inputs and Outputs tables of terraform/README.md from terraform/*.tf."""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

import hcl2
from hcl2 import SerializationOptions

ROOT = Path(__file__).resolve().parent.parent
BEGIN = "<!-- BEGIN_TF_DOCS -->"
END = "<!-- END_TF_DOCS -->"
_OPTIONS = SerializationOptions(
    strip_string_quotes=True, explicit_blocks=False, with_comments=False
)


def _blocks(directory: Path, kind: str) -> list[tuple[str, dict[str, Any]]]:
    """Every `kind` block (variable, output) of the module, in file then source order."""
    found: list[tuple[str, dict[str, Any]]] = []
    for path in sorted(directory.glob("*.tf")):
        document = hcl2.loads(path.read_text(), serialization_options=_OPTIONS)
        for block in document.get(kind, []):
            found.extend((name, body) for name, body in block.items() if not name.startswith("__"))
    return found


def _expression(value: object) -> str:
    """A parsed value written back the way HCL shows it."""
    if isinstance(value, str):
        match = re.fullmatch(r"\$\{(.*)\}", value, re.DOTALL)
        return match.group(1) if match else json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_expression(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_expression(v)}" for k, v in value.items()) + "}"
    return str(value)


def _type(value: object) -> str:
    """A type constraint as written: `string`, `set(string)`."""
    return _expression(value) if isinstance(value, str) and value.startswith("${") else str(value)


def _cell(text: str) -> str:
    """One line of table text; `|` and angle brackets would break the markdown table."""
    text = " ".join(text.split()).replace("|", "\\|")
    return text.replace("<", "&lt;").replace(">", "&gt;")


def render(directory: Path) -> str:
    """The Inputs and Outputs markdown tables for the module in `directory`."""
    lines = [
        "## Inputs",
        "",
        "| Name | Description | Type | Default | Required |",
        "|------|-------------|------|---------|:--------:|",
    ]
    for name, body in _blocks(directory, "variable"):
        has_default = "default" in body
        default = f"`{_cell(_expression(body['default']))}`" if has_default else "n/a"
        lines.append(
            f"| `{name}` | {_cell(str(body.get('description', '')))} "
            f"| `{_type(body.get('type', 'any'))}` | {default} "
            f"| {'no' if has_default else 'yes'} |"
        )
    lines += ["", "## Outputs", "", "| Name | Description |", "|------|-------------|"]
    for name, body in _blocks(directory, "output"):
        lines.append(f"| `{name}` | {_cell(str(body.get('description', '')))} |")
    return "\n".join(lines) + "\n"


def replace_section(document: str, tables: str) -> str:
    """`document` with the text between the markers replaced; raises ValueError without them."""
    start, end = document.find(BEGIN), document.find(END)
    if start < 0 or end < start:
        raise ValueError(f"the document needs {BEGIN} and {END} markers")
    return document[: start + len(BEGIN)] + "\n" + tables + document[end:]


def main(argv: list[str] | None = None) -> int:
    """Print the tables, or write/check them in a markdown file between the markers."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--terraform", type=Path, default=ROOT / "terraform")
    # The module's own README holds the tables, as the terraform-google-modules repositories do.
    parser.add_argument("--doc", type=Path, default=ROOT / "terraform" / "README.md")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="update the tables in --doc")
    mode.add_argument("--check", action="store_true", help="fail when --doc is out of date")
    args = parser.parse_args(argv)

    tables = render(args.terraform)
    if not (args.write or args.check):
        sys.stdout.write(tables)
        return 0
    current = args.doc.read_text()
    wanted = replace_section(current, tables)
    if args.check:
        if current != wanted:
            print(
                f"{args.doc} is out of date: run python tools/tf_docs.py --write", file=sys.stderr
            )
            return 1
        return 0
    args.doc.write_text(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main())
