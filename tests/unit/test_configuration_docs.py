"""Settings are declared once: one variable per field, and docs/configuration.md is current."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from shared.destinations import DESTINATIONS
from shared.settings import SECRET_PREFIX, VARIABLES, Settings, variable_names
from tools import config_docs


def test_every_settings_field_is_set_by_exactly_one_variable_or_the_secret_family() -> None:
    declared = sorted(variable.field for variable in VARIABLES)
    assert declared == sorted({f.name for f in fields(Settings)} - {"webhook_secrets"})


def test_variable_names_are_unique_and_upper_case() -> None:
    names = [variable.name for variable in VARIABLES]
    assert len(names) == len(set(names))
    assert [name for name in names if name != name.upper()] == []


def test_tests_clear_every_variable_and_the_secret_prefix() -> None:
    names = variable_names()
    assert SECRET_PREFIX in names
    assert {variable.name for variable in VARIABLES} <= set(names)


def test_configuration_page_matches_the_declarations() -> None:
    assert config_docs.DOC_PATH.read_text() == config_docs.render()


def test_delivery_limits_table_matches_the_registered_destinations() -> None:
    page = config_docs.DELIVERY_PATH.read_text()
    assert config_docs.replace_limits(page, config_docs.render_limits()) == page
    assert [f"| `{name}` |" in page for name in DESTINATIONS] == [True] * len(DESTINATIONS)


def test_doc_check_notices_a_stale_page(tmp_path: Path) -> None:
    page = tmp_path / "configuration.md"
    page.write_text(config_docs.render().replace("`PUBSUB_TOPIC`", "`OLD_TOPIC`"))
    delivery = tmp_path / "delivery.md"
    delivery.write_text(config_docs.DELIVERY_PATH.read_text().replace("| 30 days |", "| 31 days |"))
    paths = ["--doc", str(page), "--delivery", str(delivery)]
    assert config_docs.main([*paths, "--check"]) == 1
    assert config_docs.main(paths) == 0
    assert config_docs.main([*paths, "--check"]) == 0
    assert "| 31 days |" not in delivery.read_text()
