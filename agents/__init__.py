"""The endpoint agent: probes that gather observations, USB enforcement, spool and shipper."""

AGENT_VERSION = "0.1.0"
