"""Delivery of observations to the collector: a disk spool, a small HTTP client and the sinks every
source uses (the agent, the camera worker, the pollers, the importers). Standard library only, and no
import of the collector: the endpoint agent runs without it."""
