from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from collector.audits.access import AccessEvent, AccessPolicy, Approval, Badge, WorkingHours, audit_access
from collector.audits.access_report import door_observations, door_subject_id

TZ = ZoneInfo("Asia/Shanghai")
MR = "machine-room-door"
POLICY = AccessPolicy(machine_room_doors=frozenset({MR}), door_rooms={MR: "machine-room"}, zone=TZ)
BADGES = [
    Badge("A1", "Wang", "admin"),
    Badge("S1", "Li", "staff", datetime(2026, 1, 1, tzinfo=TZ), datetime(2026, 12, 31, 23, 59, 59, tzinfo=TZ)),
    Badge("V1", "Guest", "visitor"),
    Badge("R1", "Gone", "revoked"),
    Badge("42", "Zhou", "staff"),
]


def at(hh: int, mm: int = 0, ss: int = 0, day: int = 3) -> datetime:
    return datetime(2026, 11, day, hh, mm, ss, tzinfo=TZ)


def ev(t: datetime, door: str = MR, badge: str = "S1", person: str = "", direction: str = "in",
       result: str = "granted", duration_s: float | None = None) -> AccessEvent:
    return AccessEvent(t, door, badge, person, direction, result, duration_s)


def approve(person: str, door: str = MR, start: datetime = at(8), end: datetime = at(18)) -> Approval:
    return Approval("AP", person, door, start, end, "boss")


def types(events, approvals=(), policy=POLICY) -> list[str]:
    return sorted(v.type for v in audit_access(events, approvals, BADGES, policy).violations)


@pytest.mark.parametrize(("events", "approvals", "want"), [
    pytest.param([ev(at(10), badge="A1")], [approve("Wang")], [], id="approved-admin-needs-no-escort"),
    pytest.param([ev(at(10), badge="A1")], [], ["unapproved_entry"], id="admin-without-approval"),
    pytest.param([ev(at(10), badge="A1"), ev(at(10, 2), badge="S1")], [approve("Wang"), approve("Li")], [],
                 id="staff-escorted-within-120s"),
    pytest.param([ev(at(10), badge="A1"), ev(at(10, 2, 1), badge="S1")], [approve("Wang"), approve("Li")],
                 ["unescorted_entry"], id="escort-121s-too-late"),
    pytest.param([ev(at(10, 2), badge="S1"), ev(at(10, 3, 30), badge="A1")], [approve("Wang"), approve("Li")], [],
                 id="escort-arriving-after-within-window"),
    pytest.param([ev(at(10), badge="A1", direction="out"), ev(at(10), badge="S1")], [approve("Li")],
                 ["unescorted_entry"], id="admin-leaving-is-no-escort"),
    pytest.param([ev(at(10), badge="A1", door="office-door"), ev(at(10), badge="S1")], [approve("Li")],
                 ["unescorted_entry"], id="admin-at-another-door-is-no-escort"),
    pytest.param([ev(at(10), badge="A1"), ev(at(10), badge="V1")], [approve("Wang")],
                 ["unapproved_entry"], id="visitor-without-approval"),
    pytest.param([ev(at(10), badge="S1")], [approve("Li", start=at(11))], ["unapproved_entry", "unescorted_entry"],
                 id="approval-not-yet-valid"),
    pytest.param([ev(at(10), badge="A1")], [approve("Wang", door="machine-room")], [], id="approval-names-room"),
    pytest.param([ev(at(10), badge="A1")], [approve("Wang", door="office-door")], ["unapproved_entry"],
                 id="approval-for-other-door"),
    pytest.param([ev(at(10), badge="A1")], [approve("Wang", door="machine-room")], [], id="approval-names-door-prefix"),
    pytest.param([ev(at(10), badge="A1")], [approve("Wang", door="*")], [], id="approval-for-every-door"),
    pytest.param([ev(at(10), badge="A1")], [approve("Wang", door="machine")], ["unapproved_entry"],
                 id="prefix-must-end-at-a-separator"),
    pytest.param([ev(at(10), badge="S1", direction="out")], [], [], id="exit-is-not-entry"),
    pytest.param([ev(at(10), badge="S1", result="denied")], [], [], id="denied-is-not-entry"),
])
def test_machine_room_entries(events, approvals, want):
    assert types(events, approvals) == want


@pytest.mark.parametrize(("event", "want"), [
    pytest.param(ev(at(10), door="main", badge="", direction="", result="held_open", duration_s=61),
                 ["door_held_open"], id="held-61s"),
    pytest.param(ev(at(10), door="main", badge="", direction="", result="held_open", duration_s=60), [],
                 id="held-60s-is-the-limit"),
    pytest.param(ev(at(10), door="main", badge="", direction="", result="held_open"), ["door_held_open"],
                 id="held-no-duration"),
    pytest.param(ev(at(10), door="main", badge="", direction="", result="forced"), ["forced_entry"], id="forced"),
    pytest.param(ev(at(10), door="main", badge="X9"), ["unknown_badge"], id="badge-not-listed"),
    pytest.param(ev(at(10), door="main", badge="R1"), ["unknown_badge"], id="badge-revoked"),
    pytest.param(ev(at(10, day=1).replace(year=2027), door="main", badge="S1"), ["unknown_badge"],
                 id="badge-expired"),
    pytest.param(ev(at(10), door="main", badge="X9", result="denied"), [], id="unknown-badge-denied-is-fine"),
    pytest.param(ev(at(10), door="main", badge="s1"), [], id="badge-case-insensitive"),
    pytest.param(ev(at(10), door="main", badge="0042"), [], id="leading-zeros-dropped-by-excel"),
    pytest.param(ev(at(10), door="main", badge="", direction="out"), [], id="exit-button"),
    pytest.param(ev(at(10), door="main", badge="R1", direction="out"), ["unknown_badge"], id="revoked-used-on-exit"),
    pytest.param(ev(at(22, 15), door="main"), ["after_hours_entry"], id="after-hours"),
    pytest.param(ev(at(7, 29, 59), door="main"), ["after_hours_entry"], id="before-hours"),
    pytest.param(ev(at(7, 30), door="main"), [], id="hours-start-inclusive"),
    pytest.param(ev(at(21, 30), door="main"), [], id="hours-end-inclusive"),
    pytest.param(ev(at(22, 15), door="main", direction="out"), [], id="leaving-late-is-fine"),
    pytest.param(ev(datetime(2026, 11, 3, 14, 15, tzinfo=ZoneInfo("UTC")), door="main"), ["after_hours_entry"],
                 id="utc-time-judged-in-site-zone"),
])
def test_door_events(event, want):
    assert types([event]) == want


def test_approval_covers_after_hours_entry():
    late = ev(at(22), door="main")
    assert types([late], [approve("Li", door="main", start=at(21), end=at(23))]) == []


def test_after_hours_machine_room_entry_counts_every_broken_rule():
    assert types([ev(at(23), badge="V1")]) == ["after_hours_entry", "unapproved_entry", "unescorted_entry"]


def test_overnight_hours():
    night = AccessPolicy(zone=TZ, hours=WorkingHours.parse("22:00-06:00"))
    assert types([ev(at(23), door="main"), ev(at(5), door="main")], policy=night) == []
    assert types([ev(at(12), door="main")], policy=night) == ["after_hours_entry"]


@pytest.mark.parametrize("text", ["7:30", "25:00-26:00", "a-b"])
def test_bad_hours(text):
    with pytest.raises(ValueError, match="07:30-21:30"):
        WorkingHours.parse(text)


def test_result_is_sorted_and_counted():
    events = [ev(at(13), door="main", result="forced", badge="", direction=""), ev(at(9), door="main", badge="X9")]
    res = audit_access(events, [], BADGES, POLICY)
    d = res.as_dict()
    assert d["events"] == 2
    assert [v["type"] for v in d["violations"]] == ["unknown_badge", "forced_entry"]
    assert d["counts"]["forced_entry"] == 1 and d["counts"]["unapproved_entry"] == 0
    assert set(d["violations"][0]) == {"type", "time", "door", "badge", "person", "detail"}
    assert d["violations"][0]["time"] == "2026-11-03T09:00:00+08:00"


def test_door_observations_one_per_door_including_quiet_machine_room():
    events = [ev(at(13), door="大门", result="forced", badge="", direction=""), ev(at(9), door="main", badge="S1")]
    res = audit_access(events, [], BADGES, POLICY)
    obs = {o.payload["door"]: o for o in door_observations(res, site="s1", source="import:access",
                                                            observed_at=at(23))}
    assert set(obs) == {"大门", "main", MR}
    assert obs["大门"].subject_id == door_subject_id("大门") and obs["大门"].subject_id.startswith("door-")
    assert obs["大门"].payload["counts"]["forced_entry"] == 1 and obs["大门"].payload["events"] == 1
    assert obs[MR].payload["events"] == 0 and not any(obs[MR].payload["counts"].values())
    again = door_observations(res, site="s1", source="import:access", observed_at=at(23) + timedelta(hours=1))
    assert {o.id for o in again} == {o.id for o in obs.values()}  # re-importing the same log is harmless


def test_door_observations_carry_the_room_from_the_site_file():
    res = audit_access([ev(at(9), door="main", badge="S1")], [], BADGES, POLICY)  # POLICY: MR opens machine-room
    obs = {o.payload["door"]: o.payload for o in door_observations(res, site="s1", source="t", observed_at=at(23))}
    assert obs[MR]["room"] == "machine-room" and "room" not in obs["main"]
