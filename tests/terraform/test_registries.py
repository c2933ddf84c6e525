"""Terraform's lists of sources and destinations are the code's registries, not a copy typed by
hand that drifts: adding a platform or a destination must reach `terraform/variables.tf`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shared.destinations import DESTINATIONS
from shared.sources import SOURCES

VARIABLES = Path(__file__).resolve().parents[2] / "terraform" / "variables.tf"


def _variable_block(name: str) -> str:
    text = VARIABLES.read_text()
    match = re.search(rf'variable "{name}" \{{.*?\n\}}', text, re.DOTALL)
    assert match, f"terraform/variables.tf has no variable {name!r}"
    return match.group()


def _allowed(name: str) -> tuple[list[str], list[str]]:
    """The names the variable's validation accepts, and those its error message lists."""
    block = _variable_block(name)
    condition = re.search(r"contains\(\[([^\]]*)\]", block)
    message = re.search(r'error_message\s*=\s*".*?: ([^"]*)\."', block)
    assert condition, f"variable {name!r} has no subset validation"
    assert message, f"variable {name!r}'s error message does not list the names"
    accepted = re.findall(r'"([^"]+)"', condition.group(1))
    listed = [item.strip() for item in message.group(1).split(",")]
    return accepted, listed


@pytest.mark.parametrize(
    ("variable", "registry"), [("sources", SOURCES), ("destinations", DESTINATIONS)]
)
def test_terraform_accepts_exactly_the_registered_names(
    variable: str, registry: dict[str, object]
) -> None:
    accepted, listed = _allowed(variable)
    assert sorted(accepted) == sorted(registry)
    assert sorted(listed) == sorted(registry)
