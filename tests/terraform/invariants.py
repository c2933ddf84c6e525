"""Parse terraform/ with python-hcl2 and report broken delivery and least-privilege invariants."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hcl2
from hcl2 import SerializationOptions

ROOT = Path(__file__).resolve().parents[2]
TERRAFORM_DIR = ROOT / "terraform"
WEBHOOK_FUNCTION = "ingest"  # the one function the internet may call
DISPATCH_FUNCTION = "dispatch"  # the one function that sends hits, so the one that needs the ledger

Body = dict[str, Any]

_OPTIONS = SerializationOptions(strip_string_quotes=True, explicit_blocks=False, with_comments=True)
_PUBLIC_MEMBERS = ("allUsers", "allAuthenticatedUsers")
_SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN|API_KEY", re.IGNORECASE)
# `NAME = value` inside an HCL map expression whose NAME looks like a secret (not `=>`/`==`).
_SECRET_ASSIGNMENT = re.compile(
    r"\b([A-Z0-9_]*(?:SECRET|PASSWORD|TOKEN|API_KEY)[A-Z0-9_]*)\b\s*=(?![=>])"
)
# The one shape of project grant a runtime identity may hold: limited to one Firestore database
# (Firestore has no per-database IAM resource to grant on instead).
_ONE_DATABASE = re.compile(
    r'resource\.name == "projects/\$\{var\.project_id\}/databases/'
    r'\$\{(google_firestore_database\.[a-z0-9_-]+)\.name\}"'
)


@dataclass(frozen=True)
class Config:
    """The parts of a Terraform module the invariants look at, keyed by type and name."""

    resources: dict[str, dict[str, Body]]
    variables: dict[str, Body]
    outputs: dict[str, Body]
    locals: dict[str, Any]

    def of_type(self, kind: str) -> dict[str, Body]:
        """Resources of one type by name; empty when there are none."""
        return self.resources.get(kind, {})


def parse_texts(texts: Mapping[str, str]) -> Config:
    """Parse .tf file contents (name -> text) into one Config; raises on invalid HCL."""
    resources: dict[str, dict[str, Body]] = {}
    variables: dict[str, Body] = {}
    outputs: dict[str, Body] = {}
    locals_: dict[str, Any] = {}
    for _, text in sorted(texts.items()):
        document = hcl2.loads(text, serialization_options=_OPTIONS)
        for block in document.get("resource", []):
            for kind, named in _labelled(block):
                for name, body in _labelled(named):
                    resources.setdefault(kind, {})[name] = body
        for block in document.get("variable", []):
            variables.update(_labelled(block))
        for block in document.get("output", []):
            outputs.update(_labelled(block))
        for block in document.get("locals", []):
            locals_.update(_labelled(block))
    return Config(resources, variables, outputs, locals_)


def load(directory: Path = TERRAFORM_DIR) -> Config:
    """Parse every .tf file of a directory."""
    return parse_texts(read_texts(directory))


def read_texts(directory: Path = TERRAFORM_DIR) -> dict[str, str]:
    """The .tf files of a directory, name -> text."""
    return {path.name: path.read_text() for path in sorted(directory.glob("*.tf"))}


def _labelled(block: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    return ((key, value) for key, value in block.items() if not key.startswith("__"))


def _block(body: Mapping[str, Any] | None, name: str) -> Body | None:
    """The single nested block `name`, or None."""
    if body is None:
        return None
    value = body.get(name)
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return value[0]
    return None


def _blocks(body: Mapping[str, Any], name: str) -> list[Body]:
    """Every static and dynamic `name` block's content."""
    static = [b for b in body.get(name, []) if isinstance(b, dict)]
    dynamic = [
        content
        for block in body.get("dynamic", [])
        if name in block
        for content in block[name].get("content", [])
    ]
    return static + dynamic


def _ref(expression: object) -> str:
    """`${a.b.c}` -> `a.b.c`; anything else as text."""
    text = str(expression)
    match = re.fullmatch(r"\$\{(.*)\}", text, re.DOTALL)
    return match.group(1) if match else text


def _target(expression: object) -> str | None:
    """The resource an expression points at: `${google_x.y.id}` -> `google_x.y`."""
    match = re.fullmatch(
        r"(google_[a-z0-9_]+)\.([a-z0-9_-]+)(?:\[[^\]]*\])?(?:\.\w+)*", _ref(expression)
    )
    return f"{match.group(1)}.{match.group(2)}" if match else None


def _strings(value: object) -> Iterator[str]:
    """Every string inside a parsed value, comments excluded."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            if not key.startswith("__"):
                yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _is_pubsub_agent(config: Config, member: object) -> bool:
    text = str(member)
    local = re.fullmatch(r"\$\{local\.(\w+)\}", text)
    if local:
        text = str(config.locals.get(local.group(1), ""))
    return text.startswith("serviceAccount:service-") and text.endswith(
        "@gcp-sa-pubsub.iam.gserviceaccount.com"
    )


def _push_subscriptions(config: Config) -> dict[str, Body]:
    return {
        name: body
        for name, body in config.of_type("google_pubsub_subscription").items()
        if _block(body, "push_config") is not None
    }


def check_push_subscriptions(config: Config) -> list[str]:
    """Every push subscription uses OIDC, backs off, dead-letters and never expires."""
    subscriptions = _push_subscriptions(config)
    if not subscriptions:
        return ["no push subscription feeds dispatch"]
    problems = []
    for name, body in subscriptions.items():
        where = f"google_pubsub_subscription.{name}"
        oidc = _block(_block(body, "push_config"), "oidc_token")
        if oidc is None or not oidc.get("service_account_email") or not oidc.get("audience"):
            problems.append(f"{where}: push without an oidc_token (service account and audience)")
        dead_letter = _block(body, "dead_letter_policy")
        if dead_letter is None or not dead_letter.get("dead_letter_topic"):
            problems.append(f"{where}: push without a dead_letter_policy")
        elif "max_delivery_attempts" not in dead_letter:
            problems.append(f"{where}: dead_letter_policy without max_delivery_attempts")
        if _block(body, "retry_policy") is None:
            problems.append(f"{where}: push without an exponential retry_policy")
        expiration = _block(body, "expiration_policy")
        if expiration is None or expiration.get("ttl") != "":
            problems.append(f'{where}: may expire when idle (expiration_policy ttl must be "")')
        if "ack_deadline_seconds" not in body:
            problems.append(f"{where}: no ack_deadline_seconds")
    return problems


def check_dead_letter_grants(config: Config) -> list[str]:
    """The Pub/Sub service agent can forward dead letters, ack them, and mint push tokens."""
    problems = []
    topic_grants = [
        g
        for g in config.of_type("google_pubsub_topic_iam_member").values()
        if g.get("role") == "roles/pubsub.publisher" and _is_pubsub_agent(config, g.get("member"))
    ]
    subscription_grants = [
        g
        for g in config.of_type("google_pubsub_subscription_iam_member").values()
        if g.get("role") == "roles/pubsub.subscriber" and _is_pubsub_agent(config, g.get("member"))
    ]
    token_grants = [
        g
        for g in config.of_type("google_service_account_iam_member").values()
        if g.get("role") == "roles/iam.serviceAccountTokenCreator"
        and _is_pubsub_agent(config, g.get("member"))
    ]
    for name, body in config.of_type("google_pubsub_subscription").items():
        where = f"google_pubsub_subscription.{name}"
        dead_letter = _block(body, "dead_letter_policy")
        if dead_letter is not None:
            topic = _target(dead_letter.get("dead_letter_topic"))
            if not any(_target(g.get("topic")) == topic for g in topic_grants):
                problems.append(
                    f"{where}: the Pub/Sub service agent lacks roles/pubsub.publisher on {topic}"
                )
            if not any(_grants_subscription(g, name) for g in subscription_grants):
                problems.append(
                    f"{where}: the Pub/Sub service agent lacks roles/pubsub.subscriber on it"
                )
        oidc = _block(_block(body, "push_config"), "oidc_token")
        if oidc is not None:
            account = _target(oidc.get("service_account_email"))
            if not any(_target(g.get("service_account_id")) == account for g in token_grants):
                problems.append(
                    f"{where}: the Pub/Sub service agent lacks roles/iam.serviceAccountTokenCreator"
                    f" on {account}"
                )
    return problems


def _grants_subscription(grant: Body, name: str) -> bool:
    resource = f"google_pubsub_subscription.{name}"
    if _target(grant.get("subscription")) == resource:
        return True
    # for_each over the subscriptions themselves: one grant per subscription.
    return _ref(grant.get("for_each")) == resource and _ref(grant.get("subscription")) in (
        "each.value.id",
        "each.value.name",
    )


def check_function_identities(config: Config) -> list[str]:
    """Each function runs as a service account of its own, with no project-wide role but one
    limited to the ledger's Firestore database."""
    functions = config.of_type("google_cloudfunctions2_function")
    if not functions:
        return ["no function is defined"]
    problems = []
    runtime: dict[str, list[str]] = {}
    builders = set()
    for name, body in functions.items():
        where = f"google_cloudfunctions2_function.{name}"
        email = _ref((_block(body, "service_config") or {}).get("service_account_email", ""))
        match = re.fullmatch(r"google_service_account\.(\w+)\.email", email)
        if match is None:
            problems.append(f"{where}: does not run as a service account of its own")
        else:
            runtime.setdefault(match.group(1), []).append(name)
        build = _ref((_block(body, "build_config") or {}).get("service_account", ""))
        build_match = re.fullmatch(r"google_service_account\.(\w+)\.id", build)
        if build_match is None:
            problems.append(f"{where}: builds without the dedicated build service account")
        else:
            builders.add(build_match.group(1))
    for account, users in sorted(runtime.items()):
        if len(users) > 1:
            problems.append(f"google_service_account.{account}: shared by {', '.join(users)}")
        if account in builders:
            problems.append(f"google_service_account.{account}: both runs and builds functions")
        for grant_name, grant in config.of_type("google_project_iam_member").items():
            if _target(grant.get("member")) != f"google_service_account.{account}":
                continue
            if _ledger_database(grant) is None:
                problems.append(
                    f"google_project_iam_member.{grant_name}: gives runtime identity {account}"
                    " a project-wide role"
                )
    return problems


def _ledger_database(grant: Body) -> str | None:
    """The database a Firestore grant is limited to by its condition, or None if it is not."""
    condition = _block(grant, "condition") or {}
    match = _ONE_DATABASE.fullmatch(str(condition.get("expression", "")))
    if grant.get("role") != "roles/datastore.user" or match is None:
        return None
    return match.group(1)


def check_delivery_ledger(config: Config) -> list[str]:
    """Dispatch claims every delivery in a Firestore ledger it may write, whose entries expire."""
    where = f"google_cloudfunctions2_function.{DISPATCH_FUNCTION}"
    dispatch = config.of_type("google_cloudfunctions2_function").get(DISPATCH_FUNCTION)
    if dispatch is None:
        return [f"{where}: not defined"]
    env = _ref((_block(dispatch, "service_config") or {}).get("environment_variables", ""))
    if not re.search(r'\bDEDUP\s*=\s*"firestore"', env):
        return [f'{where}: runs without the delivery ledger (DEDUP = "firestore")']
    database = re.search(
        r"\bFIRESTORE_DATABASE\s*=\s*(google_firestore_database\.[\w-]+)\.name", env
    )
    collection = re.search(r"\bDELIVERIES_COLLECTION\s*=\s*(\S+?)[,}\s]", env)
    if database is None or collection is None:
        return [f"{where}: FIRESTORE_DATABASE or DELIVERIES_COLLECTION does not name the ledger"]
    ledger = database.group(1)
    problems = []
    body = config.of_type("google_firestore_database").get(ledger.split(".")[1])
    if body is None or body.get("type") != "FIRESTORE_NATIVE":
        problems.append(f"{ledger}: not a Firestore database in Native mode")
    ttl = [
        name
        for name, field in config.of_type("google_firestore_field").items()
        if _target(field.get("database")) == ledger
        and _ref(field.get("collection")) == collection.group(1).strip('"')
        and field.get("field") == "expire_at"
        and _block(field, "ttl_config") is not None
    ]
    if not ttl:
        problems.append(f"{ledger}: no TTL policy on expire_at, so the ledger grows forever")
    account = re.fullmatch(
        r"google_service_account\.(\w+)\.email",
        _ref((_block(dispatch, "service_config") or {}).get("service_account_email", "")),
    )
    grants = [
        grant
        for grant in config.of_type("google_project_iam_member").values()
        if account and _target(grant.get("member")) == f"google_service_account.{account.group(1)}"
    ]
    if not any(_ledger_database(grant) == ledger for grant in grants):
        problems.append(f"{where}: its identity lacks roles/datastore.user on {ledger}")
    return problems


def check_public_access(config: Config) -> list[str]:
    """allUsers appears only on the webhook's run.invoker binding; other functions stay internal."""
    problems = []
    for kind, named in sorted(config.resources.items()):
        for name, body in sorted(named.items()):
            if not any(m in s for s in _strings(body) for m in _PUBLIC_MEMBERS):
                continue
            allowed = (
                kind == "google_cloud_run_service_iam_member"
                and body.get("member") == "allUsers"
                and body.get("role") == "roles/run.invoker"
                and _ref(body.get("service"))
                == f"google_cloudfunctions2_function.{WEBHOOK_FUNCTION}.name"
            )
            if not allowed:
                problems.append(f"{kind}.{name}: grants access to the public")
    for name, value in config.locals.items():
        if any(m in s for s in _strings(value) for m in _PUBLIC_MEMBERS):
            problems.append(f"local.{name}: names a public member")
    for name, body in config.of_type("google_cloudfunctions2_function").items():
        ingress = (_block(body, "service_config") or {}).get("ingress_settings")
        if name != WEBHOOK_FUNCTION and ingress != "ALLOW_INTERNAL_ONLY":
            problems.append(
                f"google_cloudfunctions2_function.{name}: ingress {ingress},"
                " not ALLOW_INTERNAL_ONLY"
            )
    return problems


def check_no_secret_literals(config: Config) -> list[str]:
    """Secret values never appear in the configuration, the state or plain environment variables."""
    problems = []
    for name, body in config.of_type("google_secret_manager_secret_version").items():
        where = f"google_secret_manager_secret_version.{name}"
        if "secret_data" in body:
            problems.append(f"{where}: secret_data is kept in state; use secret_data_wo")
        value = body.get("secret_data_wo", "")
        sources = re.findall(r"\bvar\.(\w+)", _ref(value))
        if not sources or not str(value).startswith("${") or '"' in str(value):
            problems.append(f"{where}: secret_data_wo is not read from an ephemeral variable")
        for source in sources:
            if config.variables.get(source, {}).get("ephemeral") is not True:
                problems.append(f"{where}: var.{source} is not ephemeral")
    for name, body in config.variables.items():
        if _SECRET_NAME.search(name) and _ref(body.get("type")) not in ("number", "bool"):
            if body.get("sensitive") is not True:
                problems.append(f"var.{name}: holds secrets but is not sensitive")
            if body.get("default") not in (None, "", {}, []):
                problems.append(f"var.{name}: has a literal secret default")
    for name, body in config.of_type("google_cloudfunctions2_function").items():
        where = f"google_cloudfunctions2_function.{name}"
        service = _block(body, "service_config") or {}
        env = _ref(service.get("environment_variables", ""))
        texts = [env] + [
            str(config.locals.get(local, "")) for local in re.findall(r"local\.(\w+)", env)
        ]
        for text in texts:
            for key in _SECRET_ASSIGNMENT.findall(text):
                problems.append(f"{where}: {key} is a plain environment variable, not a secret")
        for secret in _blocks(service, "secret_environment_variables"):
            target = _target(secret.get("secret"))
            if target is None or not target.startswith("google_secret_manager_secret."):
                problems.append(f"{where}: secret {secret.get('key')} is not from Secret Manager")
    return problems


def check_secret_versions_survive_later_plans(config: Config) -> list[str]:
    """No secret version whose value must be supplied again for every later plan.

    secret_data and secret_data_wo are ExactlyOneOf (google provider >= 7.42), so a write-only
    version fed by a variable that is set for one apply and then left unset (a default, or a
    lookup that falls back to null) breaks every plan after the first.
    """
    problems = []
    for name, body in config.of_type("google_secret_manager_secret_version").items():
        where = f"google_secret_manager_secret_version.{name}"
        value = _ref(body.get("secret_data_wo", ""))
        if "secret_data_wo" not in body:
            continue
        optional = [
            source
            for source in re.findall(r"\bvar\.(\w+)", value)
            if "default" in config.variables.get(source, {})
        ]
        if optional or re.search(r"\bnull\b|\blookup\(|\btry\(", value):
            problems.append(
                f"{where}: secret_data_wo can be absent in a later plan"
                f" ({', '.join(f'var.{s}' for s in optional) or value}): add values with"
                " gcloud secrets versions add instead"
            )
    return problems


def check_threads_match_concurrency(config: Config) -> list[str]:
    """THREADS (server threads) equals max_instance_request_concurrency for every function."""
    problems = []
    for name, body in config.of_type("google_cloudfunctions2_function").items():
        service = _block(body, "service_config") or {}
        concurrency = _ref(service.get("max_instance_request_concurrency", ""))
        threads = re.search(
            r"THREADS\s*=\s*tostring\(([^)]*)\)", _ref(service.get("environment_variables", ""))
        )
        if threads is None or threads.group(1).strip() != concurrency:
            problems.append(
                f"google_cloudfunctions2_function.{name}: THREADS is not"
                f" tostring({concurrency}), its request concurrency"
            )
    return problems


CHECKS: tuple[Callable[[Config], list[str]], ...] = (
    check_push_subscriptions,
    check_dead_letter_grants,
    check_function_identities,
    check_delivery_ledger,
    check_public_access,
    check_no_secret_literals,
    check_secret_versions_survive_later_plans,
    check_threads_match_concurrency,
)


def violations(config: Config) -> list[str]:
    """Every broken invariant, one line each; empty when the configuration is sound."""
    return [problem for check in CHECKS for problem in check(config)]


def checkov_skips_without_reason(checkov_yaml: str, texts: Mapping[str, str]) -> list[str]:
    """Checkov skips (in .checkov.yaml or inline in .tf files) that do not say why."""
    problems = []
    for line in checkov_yaml.splitlines():
        entry = re.match(r"\s*-\s*(CKV2?_[A-Z0-9_]+)\s*(?:#\s*(.*))?$", line)
        if entry and len((entry.group(2) or "").strip()) < 20:
            problems.append(f".checkov.yaml: {entry.group(1)} is skipped without a reason")
    for name, text in sorted(texts.items()):
        for check, reason in re.findall(r"#\s*checkov:skip=(CKV2?_[A-Z0-9_]+)(?::(.*))?", text):
            if len(reason.strip()) < 20:
                problems.append(f"{name}: {check} is skipped without a reason")
    return problems
