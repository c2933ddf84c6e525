# The deploy archive (built by `make package`, byte-for-byte reproducible) and where builds put images.

resource "google_storage_bucket" "source" {
  #checkov:skip=CKV_GCP_62:Holds only deploy archives of open-source code; Cloud Audit Logs already record admin access, and a log bucket adds cost.
  #checkov:skip=CKV_GCP_78:Objects are content-addressed and never overwritten, so versioning would keep nothing new.
  name                        = "${var.project_id}-call-bridge-source"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = true

  depends_on = [google_project_service.apis]
}

# Named by content hash: a new archive is a new object, which makes both functions rebuild;
# the same archive keeps the same name, so re-applying changes nothing.
resource "google_storage_bucket_object" "source" {
  name         = "source-${filesha256(local.source_archive)}.zip"
  bucket       = google_storage_bucket.source.name
  source       = local.source_archive
  content_type = "application/zip"
}

# Our own repository (instead of the default gcf-artifacts) so the build identity can be granted
# writer on it alone, and old images are cleaned up instead of accruing storage cost.
resource "google_artifact_registry_repository" "functions" {
  repository_id = "call-bridge-functions"
  location      = var.region
  format        = "DOCKER"
  description   = "Images built for the ingest and dispatch functions"

  cleanup_policy_dry_run = false
  cleanup_policies {
    id     = "keep-recent"
    action = "KEEP"
    most_recent_versions {
      keep_count = 3
    }
  }
  cleanup_policies {
    id     = "delete-old"
    action = "DELETE"
    condition {
      tag_state  = "ANY"
      older_than = "2592000s"
    }
  }

  depends_on = [google_project_service.apis]
}
