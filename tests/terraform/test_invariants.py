"""The Terraform module keeps its invariants, and each check notices when one is broken."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from tests.terraform.invariants import (
    ROOT,
    TERRAFORM_DIR,
    checkov_skips_without_reason,
    parse_texts,
    read_texts,
    violations,
)


@dataclass(frozen=True)
class Breakage:
    """One deliberate edit of a .tf file and the violation it must cause."""

    file: str
    pattern: str
    replacement: str
    expected: str


def _resource(kind: str, name: str) -> str:
    """A pattern matching one whole top-level resource block."""
    return rf'resource "{kind}" "{name}" \{{.*?\n\}}\n'


def _append(resource: str) -> tuple[str, str]:
    """A pattern/replacement pair that adds a block at the end of a file."""
    return r"\Z", "\n" + resource


ALL_USERS_ON_DISPATCH = """
resource "google_cloud_run_service_iam_member" "dispatch_public" {
  location = google_cloudfunctions2_function.dispatch.location
  service  = google_cloudfunctions2_function.dispatch.name
  role     = "roles/run.invoker"
  member   = "allUsers"
}
"""

ALL_USERS_ON_FUNCTION_IAM = """
resource "google_cloudfunctions2_function_iam_member" "open" {
  cloud_function = google_cloudfunctions2_function.ingest.name
  role           = "roles/cloudfunctions.invoker"
  member         = "allUsers"
}
"""

SECRET_IN_STATE = """
resource "google_secret_manager_secret_version" "leak" {
  secret      = google_secret_manager_secret.this["WEBHOOK_SECRET_GENERIC"].id
  secret_data = "hunter2"
}
"""

# The flow this module used before: a value for the first apply only, then every plan failed.
WRITE_ONLY_FOR_ONE_APPLY = """
resource "google_secret_manager_secret_version" "this" {
  for_each               = var.secret_values_version > 0 ? local.secrets : {}
  secret                 = google_secret_manager_secret.this[each.key].id
  secret_data_wo         = lookup(var.secret_values, each.key, null)
  secret_data_wo_version = var.secret_values_version
}

variable "secret_values" {
  type      = map(string)
  default   = {}
  sensitive = true
  ephemeral = true
}

variable "secret_values_version" {
  type    = number
  default = 0
}
"""

WRITE_ONLY_FROM_A_LITERAL = """
resource "google_secret_manager_secret_version" "literal" {
  secret                 = google_secret_manager_secret.this["WEBHOOK_SECRET_GENERIC"].id
  secret_data_wo         = "hunter2"
  secret_data_wo_version = 1
}
"""

WRITE_ONLY_FROM_A_PLAIN_VARIABLE = """
resource "google_secret_manager_secret_version" "plain" {
  secret                 = google_secret_manager_secret.this["WEBHOOK_SECRET_GENERIC"].id
  secret_data_wo         = var.generic_secret
  secret_data_wo_version = 1
}

variable "generic_secret" {
  type      = string
  sensitive = true
}
"""

BREAKAGES = {
    "push subscription without dead-letter policy": Breakage(
        "pubsub.tf",
        r"\n  dead_letter_policy \{.*?\n  \}\n",
        "\n",
        "push without a dead_letter_policy",
    ),
    "push subscription without OIDC token": Breakage(
        "pubsub.tf",
        r"\n    oidc_token \{.*?\n    \}\n",
        "\n",
        "push without an oidc_token",
    ),
    "push subscription without retry policy": Breakage(
        "pubsub.tf",
        r"\n  retry_policy \{.*?\n  \}\n",
        "\n",
        "exponential retry_policy",
    ),
    "push subscription that expires": Breakage(
        "pubsub.tf",
        r"\n  # The default expires.*?\n  expiration_policy \{.*?\n  \}\n",
        "\n",
        "may expire when idle",
    ),
    "service agent cannot ack dead letters": Breakage(
        "iam.tf",
        _resource("google_pubsub_subscription_iam_member", "pubsub_agent_acks_dead_letters"),
        "",
        "lacks roles/pubsub.subscriber",
    ),
    "service agent cannot publish dead letters": Breakage(
        "iam.tf",
        _resource("google_pubsub_topic_iam_member", "pubsub_agent_publishes_dead_letters"),
        "",
        "lacks roles/pubsub.publisher on google_pubsub_topic.dead_letter",
    ),
    "service agent cannot mint push tokens": Breakage(
        "iam.tf",
        _resource("google_service_account_iam_member", "pubsub_agent_mints_push_tokens"),
        "",
        "lacks roles/iam.serviceAccountTokenCreator",
    ),
    "dispatch runs as the ingest identity": Breakage(
        "dispatch.tf",
        r"google_service_account\.dispatch\.email",
        "google_service_account.ingest.email",
        "google_service_account.ingest: shared by",
    ),
    "function runs as the default compute identity": Breakage(
        "dispatch.tf",
        r"\n    service_account_email *= google_service_account\.dispatch\.email\n",
        "\n",
        "dispatch: does not run as a service account of its own",
    ),
    "runtime identity gets a project role": Breakage(
        "iam.tf",
        r'(resource "google_project_iam_member" "build_writes_logs" \{.*?)'
        r"google_service_account\.build\.member",
        r"\1google_service_account.ingest.member",
        "a project-wide role",
    ),
    "allUsers invokes dispatch": Breakage(
        "iam.tf", *_append(ALL_USERS_ON_DISPATCH), "dispatch_public: grants access to the public"
    ),
    "push identity swapped for allUsers": Breakage(
        "iam.tf",
        r"member   = google_service_account\.push_invoker\.member",
        'member   = "allUsers"',
        "push_invokes_dispatch: grants access to the public",
    ),
    "allUsers through the functions IAM API": Breakage(
        "iam.tf", *_append(ALL_USERS_ON_FUNCTION_IAM), "open: grants access to the public"
    ),
    "dispatch open to the internet": Breakage(
        "dispatch.tf",
        r'"ALLOW_INTERNAL_ONLY"',
        '"ALLOW_ALL"',
        "dispatch: ingress ALLOW_ALL",
    ),
    "secret value kept in state": Breakage(
        "secrets.tf", *_append(SECRET_IN_STATE), "leak: secret_data is kept in state"
    ),
    "write-only secret from a literal": Breakage(
        "secrets.tf",
        *_append(WRITE_ONLY_FROM_A_LITERAL),
        "literal: secret_data_wo is not read from an ephemeral variable",
    ),
    "write-only secret from a plain variable": Breakage(
        "secrets.tf",
        *_append(WRITE_ONLY_FROM_A_PLAIN_VARIABLE),
        "var.generic_secret is not ephemeral",
    ),
    # Issue 11: the second `make deploy` failed once TF_VAR_secret_values was unset.
    "write-only secret supplied for one apply only": Breakage(
        "secrets.tf",
        *_append(WRITE_ONLY_FOR_ONE_APPLY),
        "this: secret_data_wo can be absent in a later plan (var.secret_values)",
    ),
    "secret as a plain environment variable": Breakage(
        "ingest.tf",
        r"THREADS = tostring\(var\.ingest_concurrency\)",
        'THREADS = tostring(var.ingest_concurrency)\n      WEBHOOK_SECRET_GENERIC = "hunter2"',
        "WEBHOOK_SECRET_GENERIC is a plain environment variable",
    ),
    "secret variable with a default value": Breakage(
        "variables.tf",
        *_append(
            'variable "api_secret" {\n  type      = string\n  sensitive = true\n'
            '  default   = "hunter2"\n}\n'
        ),
        "var.api_secret: has a literal secret default",
    ),
    "dispatch without the delivery ledger": Breakage(
        "dispatch.tf",
        r'DEDUP( *)= "firestore"',
        r'DEDUP\1= "off"',
        "dispatch: runs without the delivery ledger",
    ),
    "delivery ledger that never expires": Breakage(
        "firestore.tf",
        r"\n  ttl_config \{\}\n",
        "\n",
        "no TTL policy on expire_at",
    ),
    "dispatch cannot write the delivery ledger": Breakage(
        "iam.tf",
        _resource("google_project_iam_member", "dispatch_uses_ledger"),
        "",
        "lacks roles/datastore.user on google_firestore_database.ledger",
    ),
    "Firestore grant on every database of the project": Breakage(
        "iam.tf",
        r'(resource "google_project_iam_member" "dispatch_uses_ledger" \{.*?)'
        r"\n  condition \{.*?\n  \}\n",
        r"\1\n",
        "dispatch_uses_ledger: gives runtime identity dispatch a project-wide role",
    ),
    "THREADS differs from concurrency": Breakage(
        "dispatch.tf",
        r"THREADS = tostring\(var\.dispatch_concurrency\)",
        'THREADS = "8"',
        "dispatch: THREADS is not tostring(var.dispatch_concurrency)",
    ),
}


@pytest.fixture(scope="module")
def texts() -> dict[str, str]:
    """The module's .tf files as they are in the repository."""
    return read_texts()


def test_deployed_configuration_keeps_every_invariant(texts: dict[str, str]) -> None:
    assert violations(parse_texts(texts)) == []


@pytest.mark.parametrize("breakage", BREAKAGES.values(), ids=BREAKAGES.keys())
def test_breaking_an_invariant_is_reported(texts: dict[str, str], breakage: Breakage) -> None:
    broken_text, edits = re.subn(
        breakage.pattern, breakage.replacement, texts[breakage.file], count=1, flags=re.DOTALL
    )
    assert edits == 1, f"the breakage no longer applies to {breakage.file}: update the test"
    found = violations(parse_texts({**texts, breakage.file: broken_text}))
    assert any(breakage.expected in problem for problem in found), found


def test_every_checkov_skip_says_why(texts: dict[str, str]) -> None:
    assert checkov_skips_without_reason((ROOT / ".checkov.yaml").read_text(), texts) == []


def test_checkov_skip_without_reason_is_reported() -> None:
    config = "skip-check:\n  - CKV_GCP_83\n  - CKV_GCP_84 # short\n"
    inline = {"x.tf": 'resource "a" "b" {\n  #checkov:skip=CKV_GCP_62\n}\n'}
    assert checkov_skips_without_reason(config, inline) == [
        ".checkov.yaml: CKV_GCP_83 is skipped without a reason",
        ".checkov.yaml: CKV_GCP_84 is skipped without a reason",
        "x.tf: CKV_GCP_62 is skipped without a reason",
    ]


def test_every_variable_is_typed_and_described(texts: dict[str, str]) -> None:
    variables = parse_texts(texts).variables
    untyped = [name for name, body in variables.items() if "type" not in body]
    undescribed = [name for name, body in variables.items() if not body.get("description")]
    assert (untyped, undescribed) == ([], [])


def test_values_that_can_be_wrong_are_validated(texts: dict[str, str]) -> None:
    variables = parse_texts(texts).variables
    must_validate = {
        "project_id",
        "region",
        "sources",
        "destinations",
        "ua_property_id",
        "ga4_measurement_id",
        "ingest_concurrency",
        "ingest_max_instances",
        "dispatch_concurrency",
        "dispatch_max_instances",
        "max_delivery_attempts",
        "firestore_location",
    }
    assert sorted(n for n in must_validate if "validation" not in variables[n]) == []


def test_every_output_is_described(texts: dict[str, str]) -> None:
    outputs = parse_texts(texts).outputs
    assert [name for name, body in outputs.items() if not body.get("description")] == []


def test_example_variables_hold_no_secret_values(texts: dict[str, str]) -> None:
    variables = parse_texts(texts).variables
    example = (TERRAFORM_DIR / "terraform.tfvars.example").read_text()
    # Commented lines count too: a user uncomments them.
    assigned = re.findall(r"^[#\s]*(\w+)\s*=", example, re.MULTILINE)
    sensitive = [n for n in assigned if variables.get(n, {}).get("sensitive") is True]
    secret_keys = re.findall(r"\b(\w*SECRET\w*)\s*=", example)
    assert (sensitive, [k for k in secret_keys if k not in variables]) == ([], [])
