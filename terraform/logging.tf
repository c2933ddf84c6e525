# Cloud Run writes a request log entry per request with the full URL (httpRequest.requestUrl).
# Ringostat, UIS and Calltouch authenticate with ?token=<secret>, and GET webhooks carry phone
# numbers in the query string: those entries must not be stored. The exclusion drops ingest's
# request entries whose URL has a query string from the _Default sink (the _Required sink cannot
# hold them: it keeps only audit logs). The functions' own outcome lines are other entries
# (run.googleapis.com/stdout) and stay, so metrics and alerts are unaffected.
# Verify after a deploy: docs/deploy.md, "Request logs without tokens".

resource "google_logging_project_exclusion" "ingest_query_strings" {
  name        = "call-bridge-ingest-query-strings"
  description = "Ingest request logs whose URL has a query string (webhook tokens, phone numbers)."
  filter      = local.ingest_request_logs_with_query

  depends_on = [google_project_service.apis]
}

locals {
  ingest_request_logs_with_query = join(" AND ", [
    "resource.type=\"cloud_run_revision\"",
    "resource.labels.service_name=\"${local.ingest_name}\"",
    "log_id(\"run.googleapis.com/requests\")",
    "httpRequest.requestUrl:\"?\"",
  ])
}
