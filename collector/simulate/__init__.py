"""A simulated collection site for `clausewatch demo`, benchmarks and tests.

Each capability contributes a source function `(site, t) -> observations`, registered in
SOURCES. Observation ids are derived from (kind, subject, time) so replays are idempotent.
"""
from collector.simulate.site import SOURCES, SimSite

__all__ = ["SOURCES", "SimSite"]
