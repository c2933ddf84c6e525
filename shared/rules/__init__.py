"""The rules destinations apply to a hit before sending it: limits.py (every limit and message
code), ua.py (Universal Analytics v1 hits), ga4.py (GA4 Measurement Protocol bodies)."""
