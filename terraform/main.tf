provider "google" {
  project = var.project_id
  region  = var.region

  default_labels = {
    app = "call-bridge"
  }
}

data "google_project" "this" {
  project_id = var.project_id
  depends_on = [google_project_service.apis]
}

locals {
  # Names the Python side expects (its defaults), kept here so env vars and resources agree.
  topic_name             = "call-events"
  dead_letter_topic_name = "call-events-dead-letter"
  ingest_name            = "ingest"
  dispatch_name          = "dispatch"
  sweeper_name           = "sweep-kept"
  # The delivery ledger: a named Firestore database and the collection dispatch writes.
  firestore_database_name = "call-bridge"
  deliveries_collection   = "deliveries"
  # Calls ingest keeps while Pub/Sub is unavailable (shared/outbox.py KEPT_COLLECTION).
  kept_collection    = "kept_events"
  firestore_location = var.firestore_location != "" ? var.firestore_location : var.region

  # One delivery attempt lasts at most dispatch_timeout_seconds (Cloud Run ends the request then).
  # Pub/Sub must wait longer than that for the answer, or it redelivers while the attempt still
  # sends; the ledger's lease must outlive a live attempt, yet lapse before the next attempt
  # (retry_minimum_backoff_seconds > this, checked in variables.tf). docs/deploy.md has the numbers.
  attempt_margin_seconds = 30
  ack_deadline_seconds   = var.dispatch_timeout_seconds + local.attempt_margin_seconds
  delivery_lease_seconds = var.dispatch_timeout_seconds + local.attempt_margin_seconds

  project_number = data.google_project.this.number
  pubsub_agent   = "serviceAccount:service-${local.project_number}@gcp-sa-pubsub.iam.gserviceaccount.com"

  # Deterministic Cloud Run URL: known before the function exists, so ingest can be told its own
  # public address (vendors sign the URL they call) without a dependency cycle.
  ingest_url      = "https://${local.ingest_name}-${local.project_number}.${var.region}.run.app"
  public_base_url = var.public_base_url != "" ? var.public_base_url : local.ingest_url

  # Secret env var name => Secret Manager secret_id. Only enabled sources/destinations get one.
  webhook_secrets = { for s in var.sources : "WEBHOOK_SECRET_${upper(s)}" => "webhook-secret-${s}" }
  ga4_enabled     = contains(var.destinations, "ga4")
  ads_enabled     = contains(var.destinations, "google_ads")
  dispatch_secrets = merge(
    local.ga4_enabled ? { GA4_API_SECRET = "ga4-api-secret" } : {},
    local.ga4_enabled && var.ga4_api_secrets_per_stream ? { GA4_API_SECRETS = "ga4-api-secrets" } : {},
    local.ads_enabled ? {
      GOOGLE_ADS_DEVELOPER_TOKEN = "google-ads-developer-token"
      GOOGLE_ADS_CLIENT_SECRET   = "google-ads-client-secret"
      GOOGLE_ADS_REFRESH_TOKEN   = "google-ads-refresh-token"
    } : {},
  )
  secrets = merge(local.webhook_secrets, local.dispatch_secrets)

  # Settings both functions read; empty values are left out so the code's defaults apply.
  app_env = { for k, v in merge(var.extra_environment_variables, {
    GOOGLE_CLOUD_PROJECT = var.project_id
    PUBSUB_TOPIC         = local.topic_name
    DEAD_LETTER_TOPIC    = local.dead_letter_topic_name
    DEFAULT_PHONE_REGION = var.default_phone_region
    PUBLIC_BASE_URL      = local.public_base_url
    UA_PROPERTY_ID       = var.ua_property_id
    OWOX_ENDPOINT        = var.owox_endpoint
    UA_COLLECT_URL       = var.ua_collect_url
    GA4_COLLECT_URL      = var.ga4_collect_url
    GA4_MEASUREMENT_ID   = var.ga4_measurement_id
    OWOX_GA4_URL         = var.owox_ga4_url
    # Only with google_ads, so the ids do not reach a deployment that does not upload.
    GOOGLE_ADS_CUSTOMER_ID       = local.ads_enabled ? var.google_ads_customer_id : ""
    GOOGLE_ADS_LOGIN_CUSTOMER_ID = local.ads_enabled ? var.google_ads_login_customer_id : ""
    GOOGLE_ADS_CONVERSION_ACTION = local.ads_enabled ? var.google_ads_conversion_action : ""
    GOOGLE_ADS_CLIENT_ID         = local.ads_enabled ? var.google_ads_client_id : ""
  }) : k => v if v != "" }

  source_archive = var.source_archive != "" ? var.source_archive : "${path.module}/../.build/source.zip"
}

resource "google_project_service" "apis" {
  for_each = toset([
    "artifactregistry.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "cloudscheduler.googleapis.com",
    "firestore.googleapis.com",
    "iam.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "storage.googleapis.com",
  ])
  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}
