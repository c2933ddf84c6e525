output "webhook_urls" {
  description = "Webhook URL per enabled source: configure each vendor to POST here."
  value       = { for s in sort(tolist(var.sources)) : s => "${local.public_base_url}/${s}" }
}

output "ingest_url" {
  description = "Base URL of the ingest function (GET /healthz answers 200)."
  value       = local.public_base_url
}

output "dispatch_url" {
  description = "Internal URL of the dispatch function (reachable only from Pub/Sub push in this project)."
  value       = google_cloudfunctions2_function.dispatch.service_config[0].uri
}

output "topic" {
  description = "Pub/Sub topic that carries call events."
  value       = google_pubsub_topic.events.name
}

output "dead_letter_topic" {
  description = "Pub/Sub topic that receives calls which could not be delivered."
  value       = google_pubsub_topic.dead_letter.name
}

output "dead_letter_subscription" {
  description = "Pull subscription holding dead letters for inspection and replay."
  value       = google_pubsub_subscription.dead_letter.name
}

output "push_subscriptions" {
  description = "Push subscription name per enabled destination."
  value       = { for d, s in google_pubsub_subscription.push : d => s.name }
}

output "secret_ids" {
  description = "Secret Manager secret id per environment variable; add values with gcloud secrets versions add <id> --data-file=-."
  value       = { for k, s in google_secret_manager_secret.this : k => s.secret_id }
}

output "service_accounts" {
  description = "Email of each identity: ingest, dispatch, push invoker, build."
  value = {
    ingest       = google_service_account.ingest.email
    dispatch     = google_service_account.dispatch.email
    push_invoker = google_service_account.push_invoker.email
    build        = google_service_account.build.email
  }
}

output "delivery_ledger" {
  description = "Firestore database and collection where dispatch records each hit it sent (kept 35 days)."
  value       = "${google_firestore_database.ledger.name}/${local.deliveries_collection}"
}

output "source_object" {
  description = "Content-hashed name of the deployed source archive in the source bucket."
  value       = "gs://${google_storage_bucket.source.name}/${google_storage_bucket_object.source.name}"
}

output "dashboard_url" {
  description = "Cloud Monitoring dashboard for the pipeline."
  value       = "https://console.cloud.google.com/monitoring/dashboards/builder/${element(split("/", google_monitoring_dashboard.call_bridge.id), 3)}?project=${var.project_id}"
}
