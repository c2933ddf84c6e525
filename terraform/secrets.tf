# One secret per enabled webhook source (WEBHOOK_SECRET_<SOURCE>), with ga4 the GA4 API secret,
# and with google_ads its developer token, OAuth client secret and refresh token.
# Terraform creates the secrets and who may read them, never their values: a value is a secret
# version added with `gcloud secrets versions add <id> --data-file=-` (docs/deploy.md, step 5).
# So no value passes through a plan or the state, and every later plan works without the values.
#
# Why no google_secret_manager_secret_version here: its secret_data and secret_data_wo are
# ExactlyOneOf, so a write-only version fed by a variable that is set for one apply and unset
# afterwards makes every later plan fail (tests/terraform checks that this cannot come back).

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

# Deployments made before this change may hold write-only versions in their state. Forget them
# without destroying: their deletion_policy would disable the versions the functions read.
removed {
  from = google_secret_manager_secret_version.this

  lifecycle {
    destroy = false
  }
}
