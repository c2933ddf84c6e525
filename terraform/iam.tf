# One identity per role, each granted only what it needs on the narrowest resource.
#
# | identity          | role                              | on                                   |
# |-------------------|-----------------------------------|--------------------------------------|
# | ingest            | pubsub.publisher                  | topic call-events                    |
# | ingest            | secretmanager.secretAccessor      | each enabled webhook secret          |
# | dispatch          | pubsub.publisher                  | topic call-events-dead-letter        |
# | dispatch          | secretmanager.secretAccessor      | ga4-api-secret (when ga4 is enabled) |
# | dispatch          | secretmanager.secretAccessor      | google-ads-* (with google_ads)       |
# | dispatch          | datastore.user (conditioned)      | the call-bridge Firestore database   |
# | push invoker      | run.invoker                       | the dispatch Cloud Run service       |
# | build             | artifactregistry.writer           | the call-bridge-functions repository |
# | build             | storage.objectViewer              | the source bucket                    |
# | build             | storage.objectAdmin (conditioned) | the gcf-v2-sources bucket only       |
# | build             | logging.logWriter                 | project (build logs have no narrower home) |
# | Pub/Sub agent     | iam.serviceAccountTokenCreator    | push invoker (mint OIDC tokens)      |
# | Pub/Sub agent     | pubsub.publisher                  | dead-letter topic                    |
# | Pub/Sub agent     | pubsub.subscriber                 | each push subscription               |
# | allUsers          | run.invoker                       | the ingest Cloud Run service only    |
#
# The runtime identities get no unconditioned project-level role: Cloud Run collects stdout/stderr
# logs itself, and dispatch's Firestore grant names the one database it may use.

resource "google_service_account" "ingest" {
  account_id   = "call-bridge-ingest"
  display_name = "call-bridge ingest function (webhook receiver)"
  depends_on   = [google_project_service.apis]
}

resource "google_service_account" "dispatch" {
  account_id   = "call-bridge-dispatch"
  display_name = "call-bridge dispatch function (Measurement Protocol sender)"
  depends_on   = [google_project_service.apis]
}

resource "google_service_account" "push_invoker" {
  account_id   = "call-bridge-push"
  display_name = "call-bridge identity Pub/Sub pushes to dispatch with"
  depends_on   = [google_project_service.apis]
}

resource "google_service_account" "sweeper" {
  account_id   = "call-bridge-sweeper"
  display_name = "call-bridge sweep-kept function (republishes kept calls)"
  depends_on   = [google_project_service.apis]
}

resource "google_service_account" "scheduler_invoker" {
  account_id   = "call-bridge-scheduler"
  display_name = "call-bridge identity Cloud Scheduler calls sweep-kept with"
  depends_on   = [google_project_service.apis]
}

resource "google_service_account" "build" {
  account_id   = "call-bridge-build"
  display_name = "call-bridge Cloud Build identity for function builds"
  depends_on   = [google_project_service.apis]
}

# --- ingest -----------------------------------------------------------------------------------

resource "google_pubsub_topic_iam_member" "ingest_publishes_events" {
  topic  = google_pubsub_topic.events.id
  role   = "roles/pubsub.publisher"
  member = google_service_account.ingest.member
}

resource "google_secret_manager_secret_iam_member" "ingest_reads_webhook_secrets" {
  for_each  = local.webhook_secrets
  secret_id = google_secret_manager_secret.this[each.key].secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.ingest.member
}

# Public webhook: vendors cannot send Google ID tokens; every request is HMAC-verified in code.
resource "google_cloud_run_service_iam_member" "ingest_public" {
  #checkov:skip=CKV_GCP_102:Vendor webhooks cannot present Google identity tokens; each request is signature-verified in code.
  location = google_cloudfunctions2_function.ingest.location
  service  = google_cloudfunctions2_function.ingest.name
  role     = "roles/run.invoker"
  member   = "allUsers"
}

# --- dispatch ---------------------------------------------------------------------------------

resource "google_pubsub_topic_iam_member" "dispatch_publishes_dead_letters" {
  topic  = google_pubsub_topic.dead_letter.id
  role   = "roles/pubsub.publisher"
  member = google_service_account.dispatch.member
}

resource "google_secret_manager_secret_iam_member" "dispatch_reads_api_secrets" {
  for_each  = local.dispatch_secrets
  secret_id = google_secret_manager_secret.this[each.key].secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.dispatch.member
}

# Firestore has no per-database IAM resource: the grant is made on the project, with a condition
# that limits it to the ledger database (documents in any other database stay out of reach).
resource "google_project_iam_member" "dispatch_uses_ledger" {
  project = var.project_id
  role    = "roles/datastore.user"
  member  = google_service_account.dispatch.member

  condition {
    title      = "call-bridge-ledger-only"
    expression = "resource.name == \"projects/${var.project_id}/databases/${google_firestore_database.ledger.name}\""
  }
}

# Ingest keeps a call in the same database when Pub/Sub does not take it (kept_events).
resource "google_project_iam_member" "ingest_keeps_calls" {
  project = var.project_id
  role    = "roles/datastore.user"
  member  = google_service_account.ingest.member

  condition {
    title      = "call-bridge-ledger-only"
    expression = "resource.name == \"projects/${var.project_id}/databases/${google_firestore_database.ledger.name}\""
  }
}

# --- sweep-kept -----------------------------------------------------------------------------------

resource "google_project_iam_member" "sweeper_uses_kept_calls" {
  project = var.project_id
  role    = "roles/datastore.user"
  member  = google_service_account.sweeper.member

  condition {
    title      = "call-bridge-ledger-only"
    expression = "resource.name == \"projects/${var.project_id}/databases/${google_firestore_database.ledger.name}\""
  }
}

resource "google_pubsub_topic_iam_member" "sweeper_publishes_events" {
  topic  = google_pubsub_topic.events.id
  role   = "roles/pubsub.publisher"
  member = google_service_account.sweeper.member
}

resource "google_cloud_run_service_iam_member" "scheduler_invokes_sweeper" {
  location = google_cloudfunctions2_function.sweeper.location
  service  = google_cloudfunctions2_function.sweeper.name
  role     = "roles/run.invoker"
  member   = google_service_account.scheduler_invoker.member
}

resource "google_cloud_run_service_iam_member" "push_invokes_dispatch" {
  location = google_cloudfunctions2_function.dispatch.location
  service  = google_cloudfunctions2_function.dispatch.name
  role     = "roles/run.invoker"
  member   = google_service_account.push_invoker.member
}

# --- Pub/Sub service agent: OIDC tokens for push, and dead-lettering ----------------------------

resource "google_service_account_iam_member" "pubsub_agent_mints_push_tokens" {
  service_account_id = google_service_account.push_invoker.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.pubsub_agent
}

resource "google_pubsub_topic_iam_member" "pubsub_agent_publishes_dead_letters" {
  topic  = google_pubsub_topic.dead_letter.id
  role   = "roles/pubsub.publisher"
  member = local.pubsub_agent
}

resource "google_pubsub_subscription_iam_member" "pubsub_agent_acks_dead_letters" {
  for_each     = google_pubsub_subscription.push
  subscription = each.value.id
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_agent
}

# --- build ------------------------------------------------------------------------------------

resource "google_artifact_registry_repository_iam_member" "build_pushes_images" {
  location   = google_artifact_registry_repository.functions.location
  repository = google_artifact_registry_repository.functions.name
  role       = "roles/artifactregistry.writer"
  member     = google_service_account.build.member
}

resource "google_storage_bucket_iam_member" "build_reads_source" {
  bucket = google_storage_bucket.source.name
  role   = "roles/storage.objectViewer"
  member = google_service_account.build.member
}

# Cloud Functions copies the archive into its own gcf-v2-sources bucket, created on first deploy,
# so the grant is made on the project with a condition naming that bucket.
resource "google_project_iam_member" "build_uses_gcf_sources" {
  project = var.project_id
  role    = "roles/storage.objectAdmin"
  member  = google_service_account.build.member

  condition {
    title      = "gcf-v2-sources-only"
    expression = "resource.name.startsWith(\"projects/_/buckets/gcf-v2-sources-${local.project_number}-${var.region}\")"
  }
}

resource "google_project_iam_member" "build_writes_logs" {
  project = var.project_id
  role    = "roles/logging.logWriter"
  member  = google_service_account.build.member
}
