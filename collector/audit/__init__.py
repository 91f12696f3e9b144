"""Log audits: pure functions from imported records to violations (no I/O)."""
