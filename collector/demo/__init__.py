"""A simulated collection site for `clausewatch demo`, benchmarks and tests.

Each capability contributes a source function `(site, t) -> observations`, listed by name in
`sources.SOURCES`. Observation ids are derived from (kind, subject, time) so replays are idempotent.
"""
from collector.demo.site import SimSite
from collector.demo.sources import SOURCES, snapshot

__all__ = ["SOURCES", "SimSite", "snapshot"]
