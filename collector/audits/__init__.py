"""Pure audits over imported logs: each takes records and returns violations and counts."""
