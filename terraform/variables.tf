variable "project_id" {
  type        = string
  description = "ID of the existing Google Cloud project to deploy into (billing enabled)."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be 6-30 characters: lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen."
  }
}

variable "region" {
  type        = string
  description = "Region for the functions, the source bucket and the image repository, e.g. europe-west1."
  default     = "europe-west1"

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]+$", var.region))
    error_message = "region must be a Google Cloud region name such as europe-west1 or us-central1 (not a zone)."
  }
}

variable "firestore_location" {
  type        = string
  description = "Location of the delivery ledger's Firestore database (call-bridge): a region such as europe-west1, or a multi-region such as eur3 or nam5. Empty: region. Changing it recreates the database."
  default     = ""

  validation {
    condition     = var.firestore_location == "" || can(regex("^([a-z]+-[a-z]+[0-9]+|nam[0-9]+|eur[0-9]+)$", var.firestore_location))
    error_message = "firestore_location must be a region such as europe-west1, a multi-region such as eur3 or nam5, or empty."
  }
}

variable "sources" {
  type        = set(string)
  description = "Webhook sources to enable. Each gets a Secret Manager secret WEBHOOK_SECRET_<SOURCE> and a webhook URL; a source not listed answers 404."
  default     = ["generic"]

  validation {
    condition     = length(var.sources) > 0 && alltrue([for s in var.sources : contains(["generic", "callrail", "twilio", "aircall", "ringcentral", "dialpad", "ringostat", "uis", "calltouch"], s)])
    error_message = "sources must be a non-empty subset of: generic, callrail, twilio, aircall, ringcentral, dialpad, ringostat, uis, calltouch."
  }
}

variable "destinations" {
  type        = set(string)
  description = "Destinations to deliver to. Each gets its own push subscription to dispatch at /<destination>, with its own retries and dead-lettering."
  default     = ["owox", "ga4"]

  validation {
    condition     = length(var.destinations) > 0 && alltrue([for d in var.destinations : contains(["owox", "ua", "ga4", "owox_ga4", "google_ads"], d)])
    error_message = "destinations must be a non-empty subset of: owox, ua, ga4, owox_ga4, google_ads."
  }
}

variable "owox_endpoint" {
  type        = string
  description = "OWOX BI access point base URL given to your service by OWOX, e.g. https://acme.bi.owox.com (OWOX_ENDPOINT). Empty: the code's default access point."
  default     = ""

  validation {
    condition     = var.owox_endpoint == "" || can(regex("^https://[a-z0-9.-]+(:[0-9]+)?$", var.owox_endpoint))
    error_message = "owox_endpoint must be an https:// base URL without a path or trailing slash, e.g. https://acme.bi.owox.com."
  }
}

variable "ua_property_id" {
  type        = string
  description = "Default Universal Analytics property id (UA-XXXXX-Y) for events that carry none (UA_PROPERTY_ID). Empty: events must carry their own."
  default     = ""

  validation {
    condition     = var.ua_property_id == "" || can(regex("^UA-[0-9]{4,10}-[0-9]{1,4}$", var.ua_property_id))
    error_message = "ua_property_id must look like UA-12345-1, or be empty."
  }
}

variable "ga4_measurement_id" {
  type        = string
  description = "Default GA4 measurement id (G-XXXXXXX) for events that carry none (GA4_MEASUREMENT_ID). Its API secret goes into the ga4-api-secret secret."
  default     = ""

  validation {
    condition     = var.ga4_measurement_id == "" || can(regex("^G-[A-Z0-9]{4,20}$", var.ga4_measurement_id))
    error_message = "ga4_measurement_id must look like G-ABC123XYZ, or be empty."
  }
}

variable "ga4_api_secrets_per_stream" {
  type        = bool
  description = "With ga4: also create the secret ga4-api-secrets (GA4_API_SECRETS, G-XXX=secret,G-YYY=secret) for events that name several measurement ids."
  default     = false
}

variable "owox_ga4_url" {
  type        = string
  description = "OWOX BI GA4 streaming URL (OWOX_GA4_URL). Required when destinations contains owox_ga4."
  default     = ""

  validation {
    condition     = var.owox_ga4_url == "" || can(regex("^https://[^\\s]+$", var.owox_ga4_url))
    error_message = "owox_ga4_url must be an https:// URL."
  }

  validation {
    condition     = !contains(var.destinations, "owox_ga4") || var.owox_ga4_url != ""
    error_message = "owox_ga4_url is required when destinations contains owox_ga4."
  }
}

variable "google_ads_customer_id" {
  type        = string
  description = "Google Ads account that owns the conversion action, ten digits (GOOGLE_ADS_CUSTOMER_ID). Required when destinations contains google_ads."
  default     = ""

  validation {
    condition     = var.google_ads_customer_id == "" || can(regex("^[0-9]{3}-?[0-9]{3}-?[0-9]{4}$", var.google_ads_customer_id))
    error_message = "google_ads_customer_id must be ten digits, dashes allowed (123-456-7890)."
  }

  validation {
    condition     = !contains(var.destinations, "google_ads") || var.google_ads_customer_id != ""
    error_message = "google_ads_customer_id is required when destinations contains google_ads."
  }
}

variable "google_ads_login_customer_id" {
  type        = string
  description = "Manager account the OAuth credentials sign in through (GOOGLE_ADS_LOGIN_CUSTOMER_ID, the login-customer-id header). Empty: the credentials are the account's own."
  default     = ""

  validation {
    condition     = var.google_ads_login_customer_id == "" || can(regex("^[0-9]{3}-?[0-9]{3}-?[0-9]{4}$", var.google_ads_login_customer_id))
    error_message = "google_ads_login_customer_id must be ten digits, dashes allowed, or empty."
  }
}

variable "google_ads_conversion_action" {
  type        = string
  description = "Resource name of the import (conversions from clicks) conversion action calls upload to, customers/<id>/conversionActions/<id> (GOOGLE_ADS_CONVERSION_ACTION). Required with google_ads."
  default     = ""

  validation {
    condition     = var.google_ads_conversion_action == "" || can(regex("^customers/[0-9]{10}/conversionActions/[0-9]{1,19}$", var.google_ads_conversion_action))
    error_message = "google_ads_conversion_action must look like customers/1234567890/conversionActions/987654321."
  }

  validation {
    condition     = !contains(var.destinations, "google_ads") || var.google_ads_conversion_action != ""
    error_message = "google_ads_conversion_action is required when destinations contains google_ads."
  }
}

variable "google_ads_client_id" {
  type        = string
  description = "OAuth 2.0 client id whose refresh token signs the uploads (GOOGLE_ADS_CLIENT_ID; not secret). Its secret, the refresh token and the developer token go into Secret Manager."
  default     = ""

  validation {
    condition     = !contains(var.destinations, "google_ads") || var.google_ads_client_id != ""
    error_message = "google_ads_client_id is required when destinations contains google_ads."
  }
}

variable "ua_collect_url" {
  type        = string
  description = "Universal Analytics collect URL (UA_COLLECT_URL); point it at /debug/collect to validate without recording."
  default     = "https://www.google-analytics.com/collect"

  validation {
    condition     = can(regex("^https://[^\\s]+$", var.ua_collect_url))
    error_message = "ua_collect_url must be an https:// URL."
  }
}

variable "ga4_collect_url" {
  type        = string
  description = "GA4 Measurement Protocol URL (GA4_COLLECT_URL); point it at /debug/mp/collect to validate without recording."
  default     = "https://www.google-analytics.com/mp/collect"

  validation {
    condition     = can(regex("^https://[^\\s]+$", var.ga4_collect_url))
    error_message = "ga4_collect_url must be an https:// URL."
  }
}

variable "default_phone_region" {
  type        = string
  description = "ISO 3166 region used to read phone numbers written without a country code (DEFAULT_PHONE_REGION)."
  default     = "US"

  validation {
    condition     = can(regex("^[A-Z]{2}$", var.default_phone_region))
    error_message = "default_phone_region must be a two-letter upper-case region code such as US or GB."
  }
}

variable "public_base_url" {
  type        = string
  description = "Public base URL of ingest when it sits behind your own domain or load balancer (PUBLIC_BASE_URL). Empty: the function's own run.app URL."
  default     = ""

  validation {
    condition     = var.public_base_url == "" || can(regex("^https://[^\\s]*[^/\\s]$", var.public_base_url))
    error_message = "public_base_url must be an https:// URL without a trailing slash, or empty."
  }
}

variable "ingest_min_instances" {
  type        = number
  description = "Instances of ingest kept warm. 0 costs nothing at idle; 1 removes cold starts on the first webhook."
  default     = 0

  validation {
    condition     = var.ingest_min_instances >= 0 && var.ingest_min_instances <= 100 && floor(var.ingest_min_instances) == var.ingest_min_instances
    error_message = "ingest_min_instances must be a whole number from 0 to 100."
  }
}

variable "ingest_max_instances" {
  type        = number
  description = "Upper bound on ingest instances; with ingest_concurrency it caps the webhooks handled at once (docs/deploy.md, Capacity)."
  default     = 20

  validation {
    condition     = var.ingest_max_instances >= 1 && var.ingest_max_instances <= 1000 && floor(var.ingest_max_instances) == var.ingest_max_instances
    error_message = "ingest_max_instances must be a whole number from 1 to 1000."
  }

  validation {
    condition     = var.ingest_max_instances >= var.ingest_min_instances
    error_message = "ingest_max_instances must be at least ingest_min_instances."
  }
}

variable "ingest_concurrency" {
  type        = number
  description = "Concurrent requests per ingest instance; also the THREADS of its server, so both always match."
  default     = 20

  validation {
    condition     = var.ingest_concurrency >= 1 && var.ingest_concurrency <= 1000 && floor(var.ingest_concurrency) == var.ingest_concurrency
    error_message = "ingest_concurrency must be a whole number from 1 to 1000."
  }
}

variable "dispatch_max_instances" {
  type        = number
  description = "Upper bound on dispatch instances. dispatch_max_instances x dispatch_concurrency pushes run at once; size it above calls/s x destinations x the slowest push (docs/deploy.md, Capacity), or Cloud Run answers 429."
  default     = 25

  validation {
    condition     = var.dispatch_max_instances >= 1 && var.dispatch_max_instances <= 1000 && floor(var.dispatch_max_instances) == var.dispatch_max_instances
    error_message = "dispatch_max_instances must be a whole number from 1 to 1000."
  }
}

variable "dispatch_concurrency" {
  type        = number
  description = "Concurrent push requests per dispatch instance; also the THREADS of its server. A push mostly waits on Firestore and the destination, so one CPU serves many."
  default     = 40

  validation {
    condition     = var.dispatch_concurrency >= 1 && var.dispatch_concurrency <= 1000 && floor(var.dispatch_concurrency) == var.dispatch_concurrency
    error_message = "dispatch_concurrency must be a whole number from 1 to 1000."
  }
}

variable "dispatch_timeout_seconds" {
  type        = number
  description = "Request timeout of dispatch: the longest one delivery attempt may take. The push subscriptions' ack deadline and the delivery ledger's lease are this plus 30 s."
  default     = 60

  validation {
    condition     = var.dispatch_timeout_seconds >= 10 && var.dispatch_timeout_seconds <= 540 && floor(var.dispatch_timeout_seconds) == var.dispatch_timeout_seconds
    error_message = "dispatch_timeout_seconds must be a whole number from 10 to 540 (plus 30 s it is the ack deadline, at most 600)."
  }
}

variable "max_delivery_attempts" {
  type        = number
  description = "Deliveries Pub/Sub tries per destination before moving a message to the dead-letter topic. With the backoff defaults, 40 attempts span at least 78 minutes (39 gaps of at least 120 s), so a destination outage of an hour heals by itself."
  default     = 40

  validation {
    condition     = var.max_delivery_attempts >= 5 && var.max_delivery_attempts <= 100 && floor(var.max_delivery_attempts) == var.max_delivery_attempts
    error_message = "max_delivery_attempts must be a whole number from 5 to 100 (Pub/Sub's limits)."
  }
}

variable "retry_minimum_backoff_seconds" {
  type        = number
  description = "Shortest gap between two deliveries of a message; Pub/Sub grows it exponentially up to retry_maximum_backoff_seconds. Must exceed the delivery ledger's lease (dispatch_timeout_seconds + 30), so a crashed attempt's claim has lapsed when the next attempt comes."
  default     = 120

  validation {
    condition     = var.retry_minimum_backoff_seconds >= 0 && var.retry_minimum_backoff_seconds <= 600
    error_message = "retry_minimum_backoff_seconds must be from 0 to 600."
  }

  validation {
    condition     = var.retry_minimum_backoff_seconds > var.dispatch_timeout_seconds + 30
    error_message = "retry_minimum_backoff_seconds must exceed dispatch_timeout_seconds + 30 (the delivery ledger's lease): otherwise a crashed attempt's claim answers the next attempts 'in flight' until they run out."
  }
}

variable "retry_maximum_backoff_seconds" {
  type        = number
  description = "Longest redelivery delay."
  default     = 600

  validation {
    condition     = var.retry_maximum_backoff_seconds >= 0 && var.retry_maximum_backoff_seconds <= 600
    error_message = "retry_maximum_backoff_seconds must be from 0 to 600."
  }

  validation {
    condition     = var.retry_maximum_backoff_seconds >= var.retry_minimum_backoff_seconds
    error_message = "retry_maximum_backoff_seconds must be at least retry_minimum_backoff_seconds."
  }
}

variable "sweep_schedule" {
  type        = string
  description = "Cron schedule (UTC) on which Cloud Scheduler runs sweep-kept, which republishes calls ingest kept while Pub/Sub was unavailable. Every minute by default: a kept call waits at most about a minute once Pub/Sub accepts again."
  default     = "* * * * *"

  validation {
    condition     = length(split(" ", trimspace(var.sweep_schedule))) == 5
    error_message = "sweep_schedule must be a five-field cron expression, e.g. \"* * * * *\"."
  }
}

variable "alert_email" {
  type        = string
  description = "Email address that receives alerts; creates an email notification channel. Empty: no channel is created."
  default     = ""

  validation {
    condition     = var.alert_email == "" || can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.alert_email))
    error_message = "alert_email must be an email address, or empty."
  }
}

variable "notification_channels" {
  type        = list(string)
  description = "Existing notification channel ids (projects/P/notificationChannels/N) that also receive alerts."
  default     = []

  validation {
    condition     = alltrue([for c in var.notification_channels : can(regex("^projects/[^/]+/notificationChannels/[0-9]+$", c))])
    error_message = "notification_channels entries must look like projects/PROJECT/notificationChannels/123."
  }
}

variable "oldest_unacked_alert_seconds" {
  type        = number
  description = "Alert when a push subscription's oldest unacknowledged message is older than this (a stuck or failing destination)."
  default     = 900

  validation {
    condition     = var.oldest_unacked_alert_seconds >= 60 && var.oldest_unacked_alert_seconds <= 604800
    error_message = "oldest_unacked_alert_seconds must be from 60 to 604800."
  }
}

variable "rejected_webhooks_alert_threshold" {
  type        = number
  description = "Alert when more webhooks than this are rejected (401 bad signature, 400 bad body) within 5 minutes for one source: a wrong secret or URL loses every call."
  default     = 5

  validation {
    condition     = var.rejected_webhooks_alert_threshold >= 0 && floor(var.rejected_webhooks_alert_threshold) == var.rejected_webhooks_alert_threshold
    error_message = "rejected_webhooks_alert_threshold must be a whole number, 0 or more."
  }
}

variable "no_calls_alert_hours" {
  type        = number
  description = "Alert when no call has been ingested for this many hours (a vendor stopped sending, or ingest is unreachable). Choose it above your quietest stretch, e.g. a night."
  default     = 12

  validation {
    condition     = var.no_calls_alert_hours >= 1 && var.no_calls_alert_hours <= 23 && floor(var.no_calls_alert_hours) == var.no_calls_alert_hours
    error_message = "no_calls_alert_hours must be a whole number from 1 to 23 (a metric-absence condition lasts less than a day)."
  }
}

variable "extra_environment_variables" {
  type        = map(string)
  description = "Further non-secret settings for both functions, e.g. EVENT_CATEGORY, EVENT_ACTIONS, CUSTOM_PARAMETERS, MISSING_CLIENT_ID (see the README's settings table)."
  default     = {}

  validation {
    condition     = alltrue([for k in keys(var.extra_environment_variables) : can(regex("^[A-Z][A-Z0-9_]*$", k)) && !startswith(k, "WEBHOOK_SECRET_") && !startswith(k, "GA4_API_SECRET") && !contains(["THREADS", "DEDUP", "FIRESTORE_DATABASE", "DELIVERIES_COLLECTION", "DELIVERY_LEASE_SECONDS"], k)])
    error_message = "extra_environment_variables keys must be UPPER_SNAKE_CASE and must not be secrets (WEBHOOK_SECRET_*, GA4_API_SECRET*: use Secret Manager), THREADS (set from the concurrency variables) or the delivery ledger's DEDUP, FIRESTORE_DATABASE, DELIVERIES_COLLECTION, DELIVERY_LEASE_SECONDS (set by the module)."
  }
}

variable "source_archive" {
  type        = string
  description = "Path of the deploy archive built by make package. Empty: ../.build/source.zip next to this module."
  default     = ""
}
