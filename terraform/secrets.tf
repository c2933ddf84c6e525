# One secret per enabled webhook source (WEBHOOK_SECRET_<SOURCE>) and, with ga4, the GA4 API secret.
# Values never pass through Terraform state: add versions with `gcloud secrets versions add`, or
# set secret_values (ephemeral) with secret_values_version > 0 to write them write-only.

resource "google_secret_manager_secret" "this" {
  for_each  = local.secrets
  secret_id = each.value

  replication {
    auto {}
  }

  labels = {
    env_var = lower(each.key)
  }

  depends_on = [google_project_service.apis]
}

resource "google_secret_manager_secret_version" "this" {
  for_each = var.secret_values_version > 0 ? local.secrets : {}
  secret   = google_secret_manager_secret.this[each.key].id

  # Values are needed only when the version number changes (create or rotate); in other plans
  # secret_values may be empty, because write-only data is sent only when a version is created.
  secret_data_wo         = lookup(var.secret_values, each.key, null)
  secret_data_wo_version = var.secret_values_version
  # A rotation disables the replaced version instead of destroying it: it stops being readable,
  # yet can be re-enabled if a rollback needs it.
  deletion_policy = "DISABLE"
}
