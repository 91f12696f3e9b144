"""Manual checks: attested evidence holds until the day after its validity ends."""
from datetime import timedelta

from tests.rules.checks.judging import NOW, obs, run


def test_manual_evidence_expires_the_day_after():
    def at(days_left):
        return obs("manual.evidence", {"control": "EXTINGUISHER-OFFICE",
                                       "valid_until": (NOW + timedelta(days=days_left)).isoformat()},
                   subject=("site", "default"), key="EXTINGUISHER-OFFICE", age=timedelta(days=20))
    assert run("EXTINGUISHER-OFFICE", at(3), subject=("site", "default")).status == "pass"
    assert run("EXTINGUISHER-OFFICE", at(-1), subject=("site", "default")).status == "fail"
    assert run("EXTINGUISHER-OFFICE", subject=("site", "default")).status == "unknown"
