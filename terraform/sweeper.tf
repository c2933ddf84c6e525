# sweep-kept: republishes calls ingest kept in Firestore while Pub/Sub was unavailable
# (shared/outbox.py). Cloud Scheduler calls it every var.sweep_schedule; it answers 503 while
# Pub/Sub still refuses, so the job's run shows as failed and the next run tries again.

resource "google_cloudfunctions2_function" "sweeper" {
  name        = local.sweeper_name
  location    = var.region
  description = "Republishes calls kept while Pub/Sub was unavailable to ${local.topic_name}"

  build_config {
    runtime           = "python312"
    entry_point       = "sweep_kept"
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
    available_cpu                    = "1"
    available_memory                 = "512Mi"
    timeout_seconds                  = 300
    min_instance_count               = 0
    max_instance_count               = 1
    max_instance_request_concurrency = 1
    # Cloud Scheduler in the same project reaches an internal-only service at its run.app URL
    # (cloud.google.com/run/docs/securing/ingress, "Internal").
    ingress_settings               = "ALLOW_INTERNAL_ONLY"
    all_traffic_on_latest_revision = true
    service_account_email          = google_service_account.sweeper.email

    environment_variables = merge(local.app_env, {
      THREADS            = tostring(1)
      FIRESTORE_DATABASE = google_firestore_database.ledger.name
    })
  }

  depends_on = [
    google_project_iam_member.build_uses_gcf_sources,
    google_project_iam_member.build_writes_logs,
    google_artifact_registry_repository_iam_member.build_pushes_images,
    google_storage_bucket_iam_member.build_reads_source,
    google_project_iam_member.sweeper_uses_kept_calls,
  ]
}

resource "google_cloud_scheduler_job" "sweep_kept" {
  name        = "${local.sweeper_name}-schedule"
  region      = var.region
  description = "Republish calls ingest kept while Pub/Sub was unavailable"
  schedule    = var.sweep_schedule
  time_zone   = "Etc/UTC"
  # Shorter than the function's timeout: a run still busy is not started twice.
  attempt_deadline = "320s"

  http_target {
    http_method = "POST"
    uri         = google_cloudfunctions2_function.sweeper.service_config[0].uri
    oidc_token {
      service_account_email = google_service_account.scheduler_invoker.email
      audience              = google_cloudfunctions2_function.sweeper.service_config[0].uri
    }
  }

  depends_on = [google_project_service.apis]
}

# Kept calls live in the ledger's database (collection kept_events), read by document id order
# only: none of their fields is queried, and kept_at grows with time (the 500 writes/s limit of
# an indexed ever-increasing field would cap kept calls during an outage).
resource "google_firestore_field" "kept_unindexed" {
  for_each = toset(["data", "attributes", "kept_at"])

  project    = var.project_id
  database   = google_firestore_database.ledger.name
  collection = local.kept_collection
  field      = each.key

  index_config {}
}
