"""Endpoint agent: probes, enforcement, osquery integration, spool and shipper."""
