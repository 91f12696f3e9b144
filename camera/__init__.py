"""Camera ingest: stream health and tamper detection, coverage, retention."""
