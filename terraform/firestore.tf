# The delivery ledger (shared/deliveries.py): one document per destination and event id that
# dispatch sent a hit for, so a vendor's retry or a Pub/Sub redelivery of the same event is
# acknowledged instead of counted twice. A database of its own, not (default): it never collides
# with a Firestore database the project already uses, and only dispatch may touch it.

resource "google_firestore_database" "ledger" {
  project     = var.project_id
  name        = local.firestore_database_name
  location_id = local.firestore_location
  type        = "FIRESTORE_NATIVE"

  # Short-lived claims that nothing restores: no recovery window to pay for, and `make destroy`
  # removes the database with the rest of the pipeline.
  point_in_time_recovery_enablement = "POINT_IN_TIME_RECOVERY_DISABLED"
  delete_protection_state           = "DELETE_PROTECTION_DISABLED"
  deletion_policy                   = "DELETE"

  depends_on = [google_project_service.apis]
}

# Firestore deletes a delivery once its expire_at has passed (35 days after the send, longer than
# the dead-letter hold from which an event can be replayed), so the ledger never grows.
resource "google_firestore_field" "ledger_ttl" {
  project    = var.project_id
  database   = google_firestore_database.ledger.name
  collection = local.deliveries_collection
  field      = "expire_at"

  ttl_config {}

  # Documents are read by id only; an index on an ever-increasing timestamp would only cost
  # writes and, at high rates, make a hotspot.
  index_config {}
}

# Every other field of a delivery (shared/deliveries.py) goes unindexed too: nothing queries the
# ledger, it only gets documents by id. claimed_at and sent_at grow with time, and Firestore
# limits writes to a collection with such an indexed field to 500 per second; state has two
# values. Document ids ("<destination>:<event_id>", event ids being hashes) are spread already.
resource "google_firestore_field" "ledger_unindexed" {
  for_each = toset(["state", "claimed_at", "sent_at"])

  project    = var.project_id
  database   = google_firestore_database.ledger.name
  collection = local.deliveries_collection
  field      = each.key

  # An empty index_config is an empty list of indexes: the field is exempt from automatic
  # indexing (firebase.google.com/docs/reference/firestore/indexes: `indexes: []`).
  index_config {}
}
