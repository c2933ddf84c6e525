# ingest: the public webhook receiver (POST /<source>, GET /healthz). Authenticated by each
# vendor's signature in code, so its Cloud Run service admits allUsers (see iam.tf).

resource "google_cloudfunctions2_function" "ingest" {
  #checkov:skip=CKV_GCP_124:Vendor webhooks arrive from the internet; ingress must be ALLOW_ALL and requests are signature-verified in code.
  name        = local.ingest_name
  location    = var.region
  description = "Receives call-tracking webhooks and publishes call events to ${local.topic_name}"

  build_config {
    runtime           = "python312"
    entry_point       = "ingest"
    service_account   = google_service_account.build.id
    docker_repository = google_artifact_registry_repository.functions.id
    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    available_cpu                    = "1" # concurrency above 1 needs a whole CPU
    available_memory                 = "512Mi"
    timeout_seconds                  = 60
    min_instance_count               = var.ingest_min_instances
    max_instance_count               = var.ingest_max_instances
    max_instance_request_concurrency = var.ingest_concurrency
    ingress_settings                 = "ALLOW_ALL"
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.ingest.email

    environment_variables = merge(local.app_env, {
      THREADS = tostring(var.ingest_concurrency)
      # Where a call is kept when Pub/Sub does not take it (shared/outbox.py, sweeper.tf).
      FIRESTORE_DATABASE = google_firestore_database.ledger.name
    })

    dynamic "secret_environment_variables" {
      for_each = local.webhook_secrets
      content {
        key        = secret_environment_variables.key
        project_id = var.project_id
        secret     = google_secret_manager_secret.this[secret_environment_variables.key].secret_id
        version    = "latest"
      }
    }
  }

  depends_on = [
    google_project_iam_member.build_uses_gcf_sources,
    google_project_iam_member.build_writes_logs,
    google_artifact_registry_repository_iam_member.build_pushes_images,
    google_storage_bucket_iam_member.build_reads_source,
    google_secret_manager_secret_iam_member.ingest_reads_webhook_secrets,
    google_project_iam_member.ingest_keeps_calls,
  ]
}
