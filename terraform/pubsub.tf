# call-events fans out to one push subscription per destination, so a failing destination retries
# and dead-letters on its own and never makes another destination receive a hit twice.

resource "google_pubsub_topic" "events" {
  name                       = local.topic_name
  message_retention_duration = "86400s" # a day of history to seek back to after a bad deploy
  depends_on                 = [google_project_service.apis]
}

resource "google_pubsub_topic" "dead_letter" {
  name       = local.dead_letter_topic_name
  depends_on = [google_project_service.apis]
}

resource "google_pubsub_subscription" "push" {
  for_each = var.destinations

  name                 = "${local.topic_name}-${each.key}" # as tools/topology.py names them locally
  topic                = google_pubsub_topic.events.id
  ack_deadline_seconds = local.ack_deadline_seconds # for push, how long Pub/Sub waits for an answer

  push_config {
    push_endpoint = "${google_cloudfunctions2_function.dispatch.service_config[0].uri}/${each.key}"
    oidc_token {
      service_account_email = google_service_account.push_invoker.email
      audience              = google_cloudfunctions2_function.dispatch.service_config[0].uri
    }
  }

  retry_policy {
    minimum_backoff = "${var.retry_minimum_backoff_seconds}s"
    maximum_backoff = "${var.retry_maximum_backoff_seconds}s"
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter.id
    max_delivery_attempts = var.max_delivery_attempts
  }

  # The default expires a subscription after 31 idle days, which would silently stop a quiet
  # destination.
  expiration_policy {
    ttl = ""
  }

  depends_on = [
    google_pubsub_topic_iam_member.pubsub_agent_publishes_dead_letters,
    google_service_account_iam_member.pubsub_agent_mints_push_tokens,
    google_cloud_run_service_iam_member.push_invokes_dispatch,
  ]
}

# Messages published to a topic without a subscription are lost: this one holds dead letters for
# inspection and replay, for the longest retention Pub/Sub allows, and never expires.
resource "google_pubsub_subscription" "dead_letter" {
  name                       = "${local.dead_letter_topic_name}-hold"
  topic                      = google_pubsub_topic.dead_letter.id
  ack_deadline_seconds       = 60
  message_retention_duration = "2678400s"
  retain_acked_messages      = false

  expiration_policy {
    ttl = ""
  }
}
