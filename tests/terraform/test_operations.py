"""The deployment is sized and watched as docs/deploy.md says: retries, ledger, logs, alerts."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest

from tests.terraform.invariants import ROOT, Config, load, parse_texts, read_texts
from tools import topology

ONE_HOUR_S = 3600
# Outcomes the fault-tolerance work (issue 12) adds to shared/logs.py; the alert on kept calls is
# written against them ahead of the code. Drop a name here once Outcome lists it.
ANNOUNCED_OUTCOMES = {"kept", "republished"}


def _evaluate(config: Config, expression: object) -> float:
    """A numeric Terraform expression of variable defaults, locals and arithmetic, evaluated."""
    text = str(expression)
    text = re.sub(r"^\$\{(.*)\}$", r"\1", text, flags=re.DOTALL)
    for _ in range(10):
        text = re.sub(
            r"\bvar\.(\w+)", lambda m: f"({config.variables[m.group(1)]['default']})", text
        )
        text = re.sub(
            r"\blocal\.(\w+)",
            lambda m: "(" + re.sub(r"^\$\{(.*)\}$", r"\1", str(config.locals[m.group(1)])) + ")",
            text,
        )
    text = re.sub(r"\btostring\((.*)\)$", r"\1", text)
    if not re.fullmatch(r"[\d\s.+\-*/()]+", text):
        raise ValueError(f"not plain arithmetic: {text}")
    return float(eval(text, {"__builtins__": {}}))  # noqa: S307 (digits and operators only)


def _push_subscription(config: Config) -> dict[str, Any]:
    return config.of_type("google_pubsub_subscription")["push"]


def _dispatch_env(config: Config) -> str:
    service = config.of_type("google_cloudfunctions2_function")["dispatch"]["service_config"][0]
    return str(service["environment_variables"])


def _budget(config: Config) -> dict[str, float]:
    """The retry numbers of the deployed defaults, in seconds and attempts."""
    subscription = _push_subscription(config)
    lease = re.search(r"DELIVERY_LEASE_SECONDS\s*=\s*(tostring\([^)]*\))", _dispatch_env(config))
    assert lease is not None, "dispatch has no DELIVERY_LEASE_SECONDS"
    service = config.of_type("google_cloudfunctions2_function")["dispatch"]["service_config"][0]
    retry = subscription["retry_policy"][0]
    return {
        "timeout": _evaluate(config, service["timeout_seconds"]),
        "ack_deadline": _evaluate(config, subscription["ack_deadline_seconds"]),
        "lease": _evaluate(config, lease.group(1)),
        "min_backoff": _evaluate(config, str(retry["minimum_backoff"]).removesuffix("s")),
        "max_backoff": _evaluate(config, str(retry["maximum_backoff"]).removesuffix("s")),
        "attempts": _evaluate(
            config, subscription["dead_letter_policy"][0]["max_delivery_attempts"]
        ),
    }


def retry_budget_problems(config: Config) -> list[str]:
    """What in the retry numbers would dead-letter good calls or resend hits."""
    b = _budget(config)
    problems = []
    if b["ack_deadline"] <= b["timeout"]:
        problems.append("ack deadline does not exceed dispatch's request timeout")
    if b["lease"] <= b["timeout"]:
        problems.append("ledger lease does not outlive one attempt (dispatch timeout)")
    if b["lease"] >= b["min_backoff"]:
        problems.append("ledger lease is not shorter than the minimum gap between attempts")
    # Pub/Sub's documented bound only: every gap is at least the minimum backoff.
    if (b["attempts"] - 1) * b["min_backoff"] < ONE_HOUR_S:
        problems.append("attempts and backoff span less than an hour of destination outage")
    if not (b["min_backoff"] <= b["max_backoff"] <= 600 and 5 <= b["attempts"] <= 100):
        problems.append("backoff or attempts outside Pub/Sub's limits")
    return problems


def test_retry_budget_outlasts_an_hour_and_keeps_the_lease_between_timeout_and_backoff() -> None:
    config = load()
    assert _budget(config) == {
        "timeout": 60,
        "ack_deadline": 90,
        "lease": 90,
        "min_backoff": 120,
        "max_backoff": 600,
        "attempts": 40,
    }
    assert retry_budget_problems(config) == []


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("max_delivery_attempts", "5", "span less than an hour"),
        ("retry_minimum_backoff_seconds", "10", "lease is not shorter than the minimum gap"),
        ("dispatch_timeout_seconds", "200", "lease is not shorter than the minimum gap"),
    ],
)
def test_retry_budget_check_notices_the_old_numbers(
    variable: str, value: str, expected: str
) -> None:
    texts = read_texts()
    pattern = rf'(variable "{variable}" \{{.*?default     = )\d+'
    broken, edits = re.subn(pattern, rf"\g<1>{value}", texts["variables.tf"], flags=re.DOTALL)
    assert edits == 1
    problems = retry_budget_problems(parse_texts({**texts, "variables.tf": broken}))
    assert any(expected in problem for problem in problems), problems


def test_ack_deadline_equal_to_the_timeout_is_reported() -> None:
    texts = read_texts()
    broken = texts["pubsub.tf"].replace(
        "ack_deadline_seconds = local.ack_deadline_seconds",
        "ack_deadline_seconds = var.dispatch_timeout_seconds",
    )
    assert broken != texts["pubsub.tf"]
    problems = retry_budget_problems(parse_texts({**texts, "pubsub.tf": broken}))
    assert problems == ["ack deadline does not exceed dispatch's request timeout"]


def test_local_topology_mirrors_the_deployed_delivery_attempts() -> None:
    config = load()
    deployed = _evaluate(
        config, _push_subscription(config)["dead_letter_policy"][0]["max_delivery_attempts"]
    )
    assert deployed == topology.MAX_DELIVERY_ATTEMPTS


def test_settings_default_lease_is_the_deployed_lease() -> None:
    from shared.settings import Settings

    assert Settings.delivery_lease_s == _budget(load())["lease"]


# --- The delivery ledger: no indexed field that could cap its write rate ---------------------


def _ledger_fields_written() -> set[str]:
    """Every field name shared/deliveries.py writes into a delivery document."""
    tree = ast.parse((ROOT / "shared" / "deliveries.py").read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "fields" for target in node.targets
        ):
            assert isinstance(node.value, ast.Dict)
            names |= {
                key.value
                for key in node.value.keys
                if isinstance(key, ast.Constant) and isinstance(key.value, str)
            }
    return names


def unindexed_ledger_fields(config: Config) -> set[str]:
    """Ledger fields with an empty index_config (exempt from automatic indexing)."""
    found = set()
    for body in config.of_type("google_firestore_field").values():
        if body.get("index_config") not in ([{}], {}):
            continue
        field = body["field"]
        keys = re.fullmatch(r"\$\{each\.key\}", str(field))
        if keys:
            for_each = str(body.get("for_each", ""))
            found |= set(re.findall(r'"(\w+)"', for_each))
        else:
            found.add(str(field))
    return found


def test_every_ledger_field_is_exempt_from_indexing() -> None:
    written = _ledger_fields_written()
    # Guard against a parser that finds nothing: these are the fields the ledger is built on.
    assert {"state", "claimed_at", "sent_at", "expire_at"} <= written
    assert written - unindexed_ledger_fields(load()) == set()


def test_an_indexed_timestamp_in_the_ledger_is_reported() -> None:
    texts = read_texts()
    broken = texts["firestore.tf"].replace('"claimed_at", ', "")
    assert broken != texts["firestore.tf"]
    missing = _ledger_fields_written() - unindexed_ledger_fields(
        parse_texts({**texts, "firestore.tf": broken})
    )
    assert missing == {"claimed_at"}


# --- Request logs with a query string are not stored ----------------------------------------


def test_ingest_request_logs_with_a_query_string_are_excluded() -> None:
    config = load()
    filters = [
        _resolve(config, body["filter"])
        for body in config.of_type("google_logging_project_exclusion").values()
        if not body.get("disabled")
    ]
    wanted = [
        'resource.type="cloud_run_revision"',
        'resource.labels.service_name="ingest"',
        'log_id("run.googleapis.com/requests")',
        'httpRequest.requestUrl:"?"',
    ]
    assert any(all(part in text for part in wanted) for text in filters), filters


def _resolve(config: Config, expression: object) -> str:
    """A filter with local.x and ${local.ingest_name}-style references filled in."""
    text = str(expression)
    for _ in range(5):
        text = re.sub(
            r"\$\{local\.(\w+)\}|^local\.(\w+)$",
            lambda m: str(config.locals[m.group(1) or m.group(2)]),
            text,
        )
    return text.replace('\\"', '"')


# --- Metric and alert filters name what shared/logs.py writes -------------------------------


def _log_vocabulary() -> tuple[set[str], set[str]]:
    """(Outcome literal values, field names log_outcome writes) read from shared/logs.py."""
    tree = ast.parse((ROOT / "shared" / "logs.py").read_text())
    outcomes: set[str] = set()
    fields = {"severity", "message"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "Outcome" for t in node.targets
        ):
            outcomes = {
                c.value
                for c in ast.walk(node.value)
                if isinstance(c, ast.Constant) and isinstance(c.value, str)
            }
        if isinstance(node, ast.FunctionDef) and node.name == "log_outcome":
            fields |= {arg.arg for arg in node.args.kwonlyargs}
    return outcomes, fields


def filter_problems(texts: dict[str, str], outcomes: set[str], fields: set[str]) -> list[str]:
    """Outcome values and jsonPayload fields in the .tf files that the code never writes."""
    problems = []
    for name, text in sorted(texts.items()):
        text = text.replace('\\"', '"')
        for field in sorted(set(re.findall(r"jsonPayload\.(\w+)", text)) - fields):
            problems.append(f"{name}: jsonPayload.{field} is not a log_outcome field")
        named = re.findall(r'(?:jsonPayload|metric\.label)\.outcome\s*=\s*"(\w+)"', text)
        for group in re.findall(r"(?:outcome\s*=\s*|outcomes\s*=\s*\")one_of\(([^)]*)\)", text):
            named += re.findall(r'"(\w+)"', group)
        for outcome in sorted(set(named) - outcomes - ANNOUNCED_OUTCOMES):
            problems.append(f"{name}: outcome {outcome!r} is not in shared/logs.py's Outcome")
    return problems


def test_metric_and_alert_filters_use_only_fields_and_outcomes_the_code_logs() -> None:
    outcomes, fields = _log_vocabulary()
    assert {"published", "rejected", "dead_lettered"} <= outcomes
    assert {"outcome", "source", "destination", "reason", "latency_ms"} <= fields
    texts = read_texts()
    named = "".join(texts.values())
    # The filters exist at all: each alert this module promises is there.
    for promised in ('outcome=\\"rejected\\"', 'outcome=\\"dead_lettered\\"', 'outcome=\\"kept\\"'):
        assert promised in named
    assert filter_problems(texts, outcomes, fields) == []


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (('outcome=\\"rejected\\"', 'outcome=\\"refused\\"'), "outcome 'refused' is not"),
        (("jsonPayload.destination", "jsonPayload.target"), "jsonPayload.target is not"),
    ],
)
def test_a_filter_naming_something_the_code_never_logs_is_reported(
    edit: tuple[str, str], expected: str
) -> None:
    outcomes, fields = _log_vocabulary()
    texts = read_texts()
    broken = texts["monitoring.tf"].replace(*edit)
    assert broken != texts["monitoring.tf"]
    problems = filter_problems({**texts, "monitoring.tf": broken}, outcomes, fields)
    assert any(expected in problem for problem in problems), problems


def test_alerts_cover_refusals_silence_dead_letters_and_kept_calls() -> None:
    policies = load().of_type("google_monitoring_alert_policy")
    assert {
        "webhooks_rejected",
        "no_calls",
        "dead_lettered_by_dispatch",
        "dead_lettered_by_pubsub",
        "calls_kept",
        "dead_letter_backlog",
        "oldest_unacked",
    } <= set(policies)
    absent = policies["no_calls"]["conditions"][0]["condition_absent"][0]
    assert absent["duration"] == "${var.no_calls_alert_hours * 3600}s"


def test_lock_file_or_exact_pin() -> None:
    versions = (ROOT / "terraform" / "versions.tf").read_text()
    lock = Path(ROOT / "terraform" / ".terraform.lock.hcl")
    pinned = re.search(r'version\s*=\s*"=\s*\d+\.\d+\.\d+"', versions)
    assert lock.exists() or pinned, "an open provider range without a lock file"
