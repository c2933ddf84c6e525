# Log-based metrics over the functions' structured outcome lines, alerts on the Pub/Sub backlog,
# and one dashboard. Each outcome is one JSON log line with outcome, source or destination, reason
# and latency_ms; Cloud Functions gen2 logs under resource.type "cloud_run_revision".

locals {
  ingest_logs   = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${local.ingest_name}\" AND jsonPayload.outcome:*"
  dispatch_logs = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${local.dispatch_name}\" AND jsonPayload.outcome:*"

  notification_channels = concat(google_monitoring_notification_channel.email[*].id, var.notification_channels)

  push_subscription_filter = "resource.labels.subscription_id = one_of(${join(", ", [for s in google_pubsub_subscription.push : "\"${s.name}\""])})"
}

resource "google_logging_metric" "ingest_outcomes" {
  name        = "call_bridge_ingest_outcomes"
  description = "Webhook outcomes at ingest, one per line: published (a call ingested), ignored, rejected or failed, by source and reason."
  filter      = local.ingest_logs

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "INT64"
    unit         = "1"
    display_name = "call-bridge ingest outcomes"
    labels {
      key        = "source"
      value_type = "STRING"
    }
    labels {
      key        = "outcome"
      value_type = "STRING"
    }
    labels {
      key        = "reason"
      value_type = "STRING"
    }
  }

  label_extractors = {
    source  = "EXTRACT(jsonPayload.source)"
    outcome = "EXTRACT(jsonPayload.outcome)"
    reason  = "EXTRACT(jsonPayload.reason)"
  }

  depends_on = [google_project_service.apis]
}

resource "google_logging_metric" "dispatch_outcomes" {
  name        = "call_bridge_dispatch_outcomes"
  description = "Dispatch outcomes per destination: sent, duplicate (already sent, not resent), retry, dead_lettered or failed, with reason."
  filter      = local.dispatch_logs

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "INT64"
    unit         = "1"
    display_name = "call-bridge dispatch outcomes"
    labels {
      key        = "destination"
      value_type = "STRING"
    }
    labels {
      key        = "outcome"
      value_type = "STRING"
    }
    labels {
      key        = "reason"
      value_type = "STRING"
    }
  }

  label_extractors = {
    destination = "EXTRACT(jsonPayload.destination)"
    outcome     = "EXTRACT(jsonPayload.outcome)"
    reason      = "EXTRACT(jsonPayload.reason)"
  }

  depends_on = [google_project_service.apis]
}

resource "google_logging_metric" "ingest_latency" {
  name            = "call_bridge_ingest_latency"
  description     = "Time ingest took per webhook, from the latency_ms of its outcome line."
  filter          = "${local.ingest_logs} AND jsonPayload.latency_ms:*"
  value_extractor = "EXTRACT(jsonPayload.latency_ms)"

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "DISTRIBUTION"
    unit         = "ms"
    display_name = "call-bridge ingest latency"
    labels {
      key        = "source"
      value_type = "STRING"
    }
  }

  label_extractors = {
    source = "EXTRACT(jsonPayload.source)"
  }

  bucket_options {
    exponential_buckets {
      num_finite_buckets = 32
      growth_factor      = 1.5
      scale              = 1
    }
  }

  depends_on = [google_project_service.apis]
}

resource "google_logging_metric" "dispatch_latency" {
  name            = "call_bridge_dispatch_latency"
  description     = "Time dispatch took per delivery attempt, by destination and outcome."
  filter          = "${local.dispatch_logs} AND jsonPayload.latency_ms:*"
  value_extractor = "EXTRACT(jsonPayload.latency_ms)"

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "DISTRIBUTION"
    unit         = "ms"
    display_name = "call-bridge dispatch latency"
    labels {
      key        = "destination"
      value_type = "STRING"
    }
    labels {
      key        = "outcome"
      value_type = "STRING"
    }
  }

  label_extractors = {
    destination = "EXTRACT(jsonPayload.destination)"
    outcome     = "EXTRACT(jsonPayload.outcome)"
  }

  bucket_options {
    exponential_buckets {
      num_finite_buckets = 32
      growth_factor      = 1.5
      scale              = 1
    }
  }

  depends_on = [google_project_service.apis]
}

resource "google_monitoring_notification_channel" "email" {
  count        = var.alert_email != "" ? 1 : 0
  display_name = "call-bridge alerts"
  type         = "email"
  labels = {
    email_address = var.alert_email
  }
  depends_on = [google_project_service.apis]
}

resource "google_monitoring_alert_policy" "dead_letter_backlog" {
  display_name          = "call-bridge: calls waiting in the dead-letter subscription"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = local.notification_channels

  conditions {
    display_name = "${google_pubsub_subscription.dead_letter.name} has undelivered messages"
    condition_threshold {
      filter          = "resource.type = \"pubsub_subscription\" AND resource.labels.subscription_id = \"${google_pubsub_subscription.dead_letter.name}\" AND metric.type = \"pubsub.googleapis.com/subscription/num_undelivered_messages\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "60s"
      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }
      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "86400s"
  }

  documentation {
    subject   = "call-bridge: dead-lettered calls"
    mime_type = "text/markdown"
    content   = <<-EOT
      Calls were not delivered: dispatch rejected them permanently (message attribute `reason`)
      or Pub/Sub gave up after ${var.max_delivery_attempts} attempts. They are held in the pull
      subscription `${google_pubsub_subscription.dead_letter.name}`.

      Inspect: `gcloud pubsub subscriptions pull ${google_pubsub_subscription.dead_letter.name} --limit=10`
      (without `--auto-ack` they stay). Fix the cause, then republish them to `${local.topic_name}`
      and acknowledge them here.
    EOT
  }

  depends_on = [google_project_service.apis]
}

# One condition over every push subscription (one incident per subscription): alerting is billed
# per condition, so one per destination would multiply the idle cost.
resource "google_monitoring_alert_policy" "oldest_unacked" {
  display_name          = "call-bridge: deliveries to a destination are stuck"
  combiner              = "OR"
  severity              = "WARNING"
  notification_channels = local.notification_channels

  conditions {
    display_name = "oldest unacked message older than ${var.oldest_unacked_alert_seconds}s"
    condition_threshold {
      filter          = "resource.type = \"pubsub_subscription\" AND ${local.push_subscription_filter} AND metric.type = \"pubsub.googleapis.com/subscription/oldest_unacked_message_age\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.oldest_unacked_alert_seconds
      duration        = "300s"
      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_MAX"
        cross_series_reducer = "REDUCE_MAX"
        group_by_fields      = ["resource.label.subscription_id"]
      }
      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "86400s"
  }

  documentation {
    subject   = "call-bridge: $${resource.label.subscription_id} deliveries are stuck"
    mime_type = "text/markdown"
    content   = <<-EOT
      Messages on subscription `$${resource.label.subscription_id}` wait longer than
      ${var.oldest_unacked_alert_seconds}s: dispatch keeps answering 503 (the destination is down
      or slow) or cannot be reached. Check the dispatch logs for `jsonPayload.outcome="retry"` and
      the destination named after the subscription. After ${var.max_delivery_attempts} attempts
      messages move to `${google_pubsub_subscription.dead_letter.name}`.
    EOT
  }

  depends_on = [google_project_service.apis]
}

# --- Alerts on what users lose: refused webhooks, silence, each dead letter, kept calls --------
# Filters name the fields shared/logs.py's log_outcome writes (jsonPayload.outcome, source,
# destination, reason) and only outcomes of its Outcome literal; tests/terraform checks both.

locals {
  ingest_outcome_metric = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.ingest_outcomes.name}\" AND resource.type=\"cloud_run_revision\""
  # A call is ingested when it is published, or kept durably while Pub/Sub is down.
  ingested_outcomes         = "one_of(\"published\", \"kept\")"
  dead_lettered_by_dispatch = "${local.dispatch_logs} AND jsonPayload.outcome=\"dead_lettered\""
}

resource "google_monitoring_alert_policy" "webhooks_rejected" {
  display_name          = "call-bridge: webhooks are being rejected"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = local.notification_channels

  conditions {
    display_name = "more than ${var.rejected_webhooks_alert_threshold} rejected webhooks in 5 minutes for a source"
    condition_threshold {
      filter          = "${local.ingest_outcome_metric} AND metric.label.outcome=\"rejected\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.rejected_webhooks_alert_threshold
      duration        = "0s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["metric.label.source", "metric.label.reason"]
      }
      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "3600s"
  }

  documentation {
    subject   = "call-bridge: $${metric.label.source} webhooks rejected ($${metric.label.reason})"
    mime_type = "text/markdown"
    content   = <<-EOT
      Ingest answered 401 (bad signature) or 400 (bad body) to more than
      ${var.rejected_webhooks_alert_threshold} webhooks in 5 minutes. Every rejected webhook is a
      call that reaches no destination. Usual causes: the vendor's secret differs from the
      `webhook-secret-<source>` secret, or the vendor calls the wrong URL. See the ingest lines with
      `jsonPayload.outcome="rejected"`; the vendor resends only if its own retries still run.
    EOT
  }

  depends_on = [google_project_service.apis]
}

resource "google_monitoring_alert_policy" "no_calls" {
  display_name          = "call-bridge: no calls ingested"
  combiner              = "OR"
  severity              = "WARNING"
  notification_channels = local.notification_channels

  # Metric absence: fires once the series that existed has had no point for the whole duration
  # (at most 23.5 hours; it needs one call after the policy is created to arm itself).
  conditions {
    display_name = "no call ingested for ${var.no_calls_alert_hours} hours"
    condition_absent {
      filter   = "${local.ingest_outcome_metric} AND metric.label.outcome=${local.ingested_outcomes}"
      duration = "${var.no_calls_alert_hours * 3600}s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_SUM"
      }
      trigger {
        count = 1
      }
    }
  }

  documentation {
    subject   = "call-bridge: no calls for ${var.no_calls_alert_hours} hours"
    mime_type = "text/markdown"
    content   = <<-EOT
      No webhook produced a call for ${var.no_calls_alert_hours} hours. A vendor may have stopped
      sending (webhook removed, account changed), or ingest may be unreachable. Check the vendor's
      webhook log and `curl -i <ingest_url>/healthz`.
    EOT
  }

  depends_on = [google_project_service.apis]
}

# One notification per dead letter dispatch writes (rate-limited), not one per non-empty backlog.
# A log-match condition must be the only condition of its policy.
resource "google_monitoring_alert_policy" "dead_lettered_by_dispatch" {
  display_name          = "call-bridge: a call was dead-lettered"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = local.notification_channels

  conditions {
    display_name = "dispatch dead-lettered a call"
    condition_matched_log {
      filter = local.dead_lettered_by_dispatch
      label_extractors = {
        destination = "EXTRACT(jsonPayload.destination)"
        reason      = "EXTRACT(jsonPayload.reason)"
      }
    }
  }

  alert_strategy {
    notification_rate_limit {
      period = "300s"
    }
    auto_close = "1800s"
  }

  documentation {
    subject   = "call-bridge: dead letter for $${log.extracted_label.destination} ($${log.extracted_label.reason})"
    mime_type = "text/markdown"
    content   = <<-EOT
      A destination rejected a call for good; it is held in
      `${google_pubsub_subscription.dead_letter.name}`. Fix the cause named by the reason, then
      replay (docs/deploy.md, "Dead letters: inspect and replay").
    EOT
  }

  depends_on = [google_project_service.apis]
}

# Dead letters Pub/Sub moves itself after max_delivery_attempts (dispatch only logged retries).
resource "google_monitoring_alert_policy" "dead_lettered_by_pubsub" {
  display_name          = "call-bridge: Pub/Sub gave up on a call"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = local.notification_channels

  conditions {
    display_name = "messages moved to the dead-letter topic after ${var.max_delivery_attempts} attempts"
    condition_threshold {
      filter          = "resource.type = \"pubsub_subscription\" AND ${local.push_subscription_filter} AND metric.type = \"pubsub.googleapis.com/subscription/dead_letter_message_count\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.label.subscription_id"]
      }
      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "1800s"
  }

  documentation {
    subject   = "call-bridge: $${resource.label.subscription_id} dead-lettered calls after every attempt"
    mime_type = "text/markdown"
    content   = <<-EOT
      A destination failed for longer than ${var.max_delivery_attempts} attempts span (at least
      ${floor((var.max_delivery_attempts - 1) * var.retry_minimum_backoff_seconds / 60)} minutes).
      The calls wait in `${google_pubsub_subscription.dead_letter.name}` with the reason
      `delivery_attempts_exhausted`: replay them once the destination answers again.
    EOT
  }

  depends_on = [google_project_service.apis]
}

# Calls ingest kept durably because Pub/Sub did not take them (outcome "kept", reason
# "publish_failed"); a sweeper republishes them later (outcome "republished"). Both names come
# from the fault-tolerance work (issue 12) and are written against its announced log lines.
resource "google_monitoring_alert_policy" "calls_kept" {
  display_name          = "call-bridge: calls kept while Pub/Sub was unavailable"
  combiner              = "OR"
  severity              = "WARNING"
  notification_channels = local.notification_channels

  conditions {
    display_name = "ingest kept calls instead of publishing them"
    condition_threshold {
      filter          = "${local.ingest_outcome_metric} AND metric.label.outcome=\"kept\" AND metric.label.reason=\"publish_failed\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_SUM"
      }
      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "3600s"
  }

  documentation {
    subject   = "call-bridge: calls kept while Pub/Sub was unavailable"
    mime_type = "text/markdown"
    content   = <<-EOT
      Ingest could not publish and kept calls to send later. Compare the ingest lines with
      `jsonPayload.outcome="kept"` against those with `jsonPayload.outcome="republished"`: the
      backlog is the difference. If it does not shrink, check Pub/Sub's status and ingest's
      publisher role on `${local.topic_name}`.
    EOT
  }

  depends_on = [google_project_service.apis]
}

locals {
  user_metric = "logging.googleapis.com/user"

  # One line chart tile: filter, how to align and which labels to keep.
  dashboard_tiles = [
    { title = "Calls ingested per minute, by source", filter = "metric.type=\"${local.user_metric}/${google_logging_metric.ingest_outcomes.name}\" AND metric.label.outcome=\"published\"", aligner = "ALIGN_DELTA", reducer = "REDUCE_SUM", group = ["metric.label.source"] },
    { title = "Webhooks rejected (4xx) or failed (503) per minute, by reason", filter = "metric.type=\"${local.user_metric}/${google_logging_metric.ingest_outcomes.name}\" AND metric.label.outcome=one_of(\"rejected\", \"failed\")", aligner = "ALIGN_DELTA", reducer = "REDUCE_SUM", group = ["metric.label.source", "metric.label.outcome", "metric.label.reason"] },
    { title = "Hits sent, and duplicates not resent, per minute, by destination", filter = "metric.type=\"${local.user_metric}/${google_logging_metric.dispatch_outcomes.name}\" AND metric.label.outcome=one_of(\"sent\", \"duplicate\")", aligner = "ALIGN_DELTA", reducer = "REDUCE_SUM", group = ["metric.label.destination", "metric.label.outcome"] },
    { title = "Retries (503 to Pub/Sub) per minute, by destination", filter = "metric.type=\"${local.user_metric}/${google_logging_metric.dispatch_outcomes.name}\" AND metric.label.outcome=one_of(\"retry\", \"failed\")", aligner = "ALIGN_DELTA", reducer = "REDUCE_SUM", group = ["metric.label.destination", "metric.label.outcome"] },
    { title = "Dead-lettered by dispatch, by destination and reason", filter = "metric.type=\"${local.user_metric}/${google_logging_metric.dispatch_outcomes.name}\" AND metric.label.outcome=\"dead_lettered\"", aligner = "ALIGN_DELTA", reducer = "REDUCE_SUM", group = ["metric.label.destination", "metric.label.reason"] },
    { title = "Dead-lettered by Pub/Sub after max attempts, by subscription", filter = "metric.type=\"pubsub.googleapis.com/subscription/dead_letter_message_count\" AND resource.type=\"pubsub_subscription\"", aligner = "ALIGN_DELTA", reducer = "REDUCE_SUM", group = ["resource.label.subscription_id"] },
    { title = "Dispatch latency p95 (ms), by destination", filter = "metric.type=\"${local.user_metric}/${google_logging_metric.dispatch_latency.name}\"", aligner = "ALIGN_DELTA", reducer = "REDUCE_PERCENTILE_95", group = ["metric.label.destination"] },
    { title = "Ingest latency p95 (ms), by source", filter = "metric.type=\"${local.user_metric}/${google_logging_metric.ingest_latency.name}\"", aligner = "ALIGN_DELTA", reducer = "REDUCE_PERCENTILE_95", group = ["metric.label.source"] },
    { title = "Dead-letter backlog (messages held)", filter = "metric.type=\"pubsub.googleapis.com/subscription/num_undelivered_messages\" AND resource.type=\"pubsub_subscription\" AND resource.label.subscription_id=\"${google_pubsub_subscription.dead_letter.name}\"", aligner = "ALIGN_MAX", reducer = "REDUCE_MAX", group = [] },
    { title = "Oldest unacked message age (s), by subscription", filter = "metric.type=\"pubsub.googleapis.com/subscription/oldest_unacked_message_age\" AND resource.type=\"pubsub_subscription\" AND ${local.push_subscription_filter}", aligner = "ALIGN_MAX", reducer = "REDUCE_MAX", group = ["resource.label.subscription_id"] },
  ]
}

resource "google_monitoring_dashboard" "call_bridge" {
  dashboard_json = jsonencode({
    displayName = "call-bridge"
    mosaicLayout = {
      columns = 48
      tiles = [for i, t in local.dashboard_tiles : {
        xPos   = (i % 2) * 24
        yPos   = floor(i / 2) * 16
        width  = 24
        height = 16
        widget = {
          title = t.title
          xyChart = {
            dataSets = [{
              plotType = "LINE"
              timeSeriesQuery = {
                timeSeriesFilter = {
                  filter = t.filter
                  aggregation = {
                    alignmentPeriod    = "60s"
                    perSeriesAligner   = t.aligner
                    crossSeriesReducer = t.reducer
                    groupByFields      = t.group
                  }
                }
              }
            }]
          }
        }
      }]
    }
  })

  depends_on = [google_project_service.apis]
}
