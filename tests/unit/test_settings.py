"""Settings from the environment: parsed once, every problem reported, secrets kept out of repr."""

from __future__ import annotations

import pytest

from shared.errors import ConfigError
from shared.events import CallStatus
from shared.settings import Settings

SECRET_A = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SECRET_B = "whsec_c2Vjb25kLXNlY3JldC1mb3Itcm90YXRpb24="
GA4_SECRET = "ga4-api-secret-value-Zx81"


def test_empty_environment_gives_the_defaults() -> None:
    assert Settings.from_env({}) == Settings()


def test_every_documented_variable_is_read() -> None:
    settings = Settings.from_env(
        {
            "GOOGLE_CLOUD_PROJECT": "acme-calls",
            "PUBSUB_TOPIC": "calls",
            "DEAD_LETTER_TOPIC": "calls-dead",
            "DEFAULT_PHONE_REGION": "gb",
            "UA_PROPERTY_ID": "ua-12345678-2",
            "OWOX_ENDPOINT": "https://acme.bi.owox.com/",
            "UA_COLLECT_URL": "http://127.0.0.1:9999/collect",
            "GA4_COLLECT_URL": "http://127.0.0.1:9999/mp/collect",
            "GA4_MEASUREMENT_ID": "G-ABC123XYZ",
            "GA4_API_SECRET": GA4_SECRET,
            "WEBHOOK_SECRET_GENERIC": SECRET_A,
            "EVENT_ACTIONS": "missed=missed call,answered=call",
            "EVENT_LABEL": "{source}/{utm_campaign}",
            "CUSTOM_PARAMETERS": "agent=cd3,score=cm1",
            "HTTP_TIMEOUT_SECONDS": "2.5",
            "MAX_BODY_BYTES": "1024",
            "MISSING_CLIENT_ID": "ua=skip,synthesize",
        }
    )
    assert settings == Settings(
        project_id="acme-calls",
        topic="calls",
        dead_letter_topic="calls-dead",
        default_phone_region="GB",
        ua_property_id="UA-12345678-2",
        owox_endpoint="https://acme.bi.owox.com",
        ua_collect_url="http://127.0.0.1:9999/collect",
        ga4_collect_url="http://127.0.0.1:9999/mp/collect",
        ga4_measurement_id="G-ABC123XYZ",
        ga4_api_secret=GA4_SECRET,
        webhook_secrets={"generic": (SECRET_A,)},
        event_actions={CallStatus.MISSED: "missed call", CallStatus.ANSWERED: "call"},
        event_label="{source}/{utm_campaign}",
        custom_parameters={"agent": "cd3", "score": "cm1"},
        http_timeout_s=2.5,
        max_body_bytes=1024,
        missing_client_id={"ua": "skip", "": "synthesize"},
    )


def test_config_error_lists_every_bad_variable_at_once() -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env(
            {
                "DEFAULT_PHONE_REGION": "XX",
                "UA_PROPERTY_ID": "G-NOTUA",
                "OWOX_ENDPOINT": "ftp://acme",
                "HTTP_TIMEOUT_SECONDS": "-1",
                "MAX_BODY_BYTES": "lots",
                "EVENT_LABEL": "{caller}",
                "CUSTOM_PARAMETERS": "caller=cd1",
                "WEBHOOK_SECRET_BAD-NAME": SECRET_A,
            }
        )
    named = [problem.split(":", 1)[0] for problem in raised.value.problems]
    assert sorted(named) == [
        "CUSTOM_PARAMETERS",
        "DEFAULT_PHONE_REGION",
        "EVENT_LABEL",
        "HTTP_TIMEOUT_SECONDS",
        "MAX_BODY_BYTES",
        "OWOX_ENDPOINT",
        "UA_PROPERTY_ID",
        "WEBHOOK_SECRET_BAD-NAME",
    ]


def test_config_error_message_names_each_problem() -> None:
    with pytest.raises(ConfigError, match=r"PUBSUB_TOPIC: .*; GA4_MEASUREMENT_ID: "):
        Settings.from_env({"PUBSUB_TOPIC": "no spaces allowed", "GA4_MEASUREMENT_ID": "UA-1"})


def test_config_error_never_contains_a_secret_value() -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({"WEBHOOK_SECRET_9BAD": SECRET_A, "MAX_BODY_BYTES": "0"})
    assert SECRET_A not in str(raised.value)


@pytest.mark.parametrize(
    "raw", [f"G-ABC123XYZ {GA4_SECRET}", f"G-ABC123XYZ=x,{GA4_SECRET}", f"={GA4_SECRET}"]
)
def test_malformed_ga4_api_secrets_are_reported_without_the_secret(raw: str) -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({"GA4_API_SECRETS": raw})
    assert raised.value.problems[0].startswith("GA4_API_SECRETS: ")
    assert GA4_SECRET not in str(raised.value)


def test_ga4_api_secrets_give_a_secret_per_stream() -> None:
    settings = Settings.from_env({"GA4_API_SECRETS": f"G-ABC123XYZ={GA4_SECRET},G-OTHER99=two"})
    assert settings.ga4_secret_for("G-ABC123XYZ") == GA4_SECRET
    assert settings.ga4_secret_for("G-OTHER99") == "two"


def test_owox_endpoint_on_a_google_host_is_refused() -> None:
    with pytest.raises(ConfigError, match="OWOX_ENDPOINT: points at a Google host"):
        Settings.from_env({"OWOX_ENDPOINT": "https://www.google-analytics.com/collect"})


def test_comma_separated_secrets_all_verify_during_rotation() -> None:
    settings = Settings.from_env({"WEBHOOK_SECRET_GENERIC": f" {SECRET_A} , {SECRET_B} ,"})
    assert settings.secrets_for("generic") == (SECRET_A, SECRET_B)


def test_secret_variable_name_gives_the_lower_case_source() -> None:
    settings = Settings.from_env({"WEBHOOK_SECRET_CALLRAIL": "token"})
    assert settings.secrets_for("callrail") == ("token",)


def test_source_without_a_secret_is_disabled() -> None:
    settings = Settings.from_env({"WEBHOOK_SECRET_GENERIC": " , "})
    assert settings.secrets_for("generic") == ()


def test_repr_of_settings_never_contains_a_secret() -> None:
    settings = Settings.from_env(
        {
            "WEBHOOK_SECRET_GENERIC": f"{SECRET_A},{SECRET_B}",
            "GA4_API_SECRET": GA4_SECRET,
            "GA4_API_SECRETS": "G-OTHER99=second-stream-secret",
        }
    )
    text = repr(settings) + str(settings)
    assert SECRET_A not in text
    assert SECRET_B not in text
    assert GA4_SECRET not in text
    assert "second-stream-secret" not in text


def test_unmapped_status_is_its_own_event_action() -> None:
    settings = Settings(event_actions={CallStatus.MISSED: "missed call"})
    assert (settings.action_for(CallStatus.MISSED), settings.action_for(CallStatus.BUSY)) == (
        "missed call",
        "busy",
    )


def test_client_id_policy_falls_back_to_the_default_then_synthesize() -> None:
    assert Settings().client_id_policy("owox") == "synthesize"
    settings = Settings(missing_client_id={"ua": "skip", "": "synthesize"})
    assert (settings.client_id_policy("ua"), settings.client_id_policy("owox")) == (
        "skip",
        "synthesize",
    )


def test_lead_event_and_statuses_are_read() -> None:
    settings = Settings.from_env(
        {"GA4_LEAD_EVENT_NAME": "qualified_call", "GA4_LEAD_STATUSES": " Hot, warm_lead ,"}
    )
    assert (settings.ga4_lead_event_name, settings.ga4_lead_statuses) == (
        "qualified_call",
        frozenset({"hot", "warm_lead"}),
    )


def test_lead_event_and_statuses_can_be_switched_off() -> None:
    settings = Settings.from_env({"GA4_LEAD_EVENT_NAME": "off", "GA4_LEAD_STATUSES": "OFF"})
    assert (settings.ga4_lead_event_name, settings.ga4_lead_statuses) == (None, frozenset())


def test_lead_defaults_are_generate_lead_and_the_platforms_good_lead_values() -> None:
    settings = Settings.from_env({})
    assert (settings.ga4_event_name, settings.ga4_lead_event_name) == (
        "phone_call",
        "generate_lead",
    )
    assert settings.ga4_lead_statuses == {"good_lead", "proper", "target", "unique_target"}


@pytest.mark.parametrize(
    ("variable", "name", "why"),
    [
        ("GA4_EVENT_NAME", "page_view", "is reserved"),
        ("GA4_LEAD_EVENT_NAME", "google_lead", "is reserved"),
        ("GA4_EVENT_NAME", "phone-call", "alphanumeric characters and underscores"),
        ("GA4_LEAD_EVENT_NAME", "1st_call", "start with an alphabetic character"),
        ("GA4_EVENT_NAME", "c" * 41, "40 characters or fewer"),
    ],
)
def test_event_names_ga4_would_refuse_are_refused_at_start(
    variable: str, name: str, why: str
) -> None:
    with pytest.raises(ConfigError, match=f"{variable}: not a GA4 event name: .*{why}"):
        Settings.from_env({variable: name})


def test_lead_event_named_like_the_call_event_is_refused() -> None:
    with pytest.raises(ConfigError, match="GA4_LEAD_EVENT_NAME: the same as GA4_EVENT_NAME"):
        Settings.from_env({"GA4_EVENT_NAME": "call", "GA4_LEAD_EVENT_NAME": "call"})


def test_consent_default_is_read_per_type() -> None:
    settings = Settings.from_env({"GA4_CONSENT_DEFAULT": "ad_user_data=denied"})
    assert settings.ga4_consent_default == {"ad_user_data": "DENIED"}


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("ad_storage=GRANTED", "unknown consent type 'ad_storage'"),
        ("ad_user_data=yes", "ad_user_data: expected GRANTED or DENIED"),
    ],
)
def test_bad_consent_default_is_refused(raw: str, why: str) -> None:
    with pytest.raises(ConfigError, match=f"GA4_CONSENT_DEFAULT: {why}"):
        Settings.from_env({"GA4_CONSENT_DEFAULT": raw})
