# dispatch: internal HTTP function that Pub/Sub pushes to at /<destination>. It answers 2xx when a
# hit was sent or dead-lettered, 503 when Pub/Sub should redeliver.

resource "google_cloudfunctions2_function" "dispatch" {
  name        = local.dispatch_name
  location    = var.region
  description = "Sends call events from ${local.topic_name} as Measurement Protocol hits, one destination per push subscription"

  build_config {
    runtime           = "python312"
    entry_point       = "dispatch"
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
    timeout_seconds                  = var.dispatch_timeout_seconds
    min_instance_count               = 0
    max_instance_count               = var.dispatch_max_instances
    max_instance_request_concurrency = var.dispatch_concurrency
    # Pub/Sub push from this project counts as internal traffic.
    ingress_settings               = "ALLOW_INTERNAL_ONLY"
    all_traffic_on_latest_revision = true
    service_account_email          = google_service_account.dispatch.email

    environment_variables = merge(local.app_env, {
      THREADS = tostring(var.dispatch_concurrency)
      # Never send a hit twice: claim each delivery in the ledger first (see firestore.tf).
      DEDUP                 = "firestore"
      FIRESTORE_DATABASE    = google_firestore_database.ledger.name
      DELIVERIES_COLLECTION = local.deliveries_collection
      # Longer than one attempt can live, shorter than the gap to the next (see main.tf).
      DELIVERY_LEASE_SECONDS = tostring(local.delivery_lease_seconds)
    })

    dynamic "secret_environment_variables" {
      for_each = local.dispatch_secrets
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
    google_secret_manager_secret_iam_member.dispatch_reads_api_secrets,
    google_project_iam_member.dispatch_uses_ledger,
  ]
}
