from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from collector.sources.importers import access as imp
from collector.sources.importers.site import guess_machine_room_doors, load_site_policy
from collector.sources.importers.tables import InputError

TZ = ZoneInfo("Asia/Shanghai")
DEFAULT = ("time,door,badge,person,direction,result,duration_s\n"
           "2026-11-03T09:00:00+08:00,machine-room-door,A1,王管理,in,granted,\n"
           "2026-11-03 10:05:00,大门,,,,held_open,75\n")
CHINESE = ("门禁事件导出 2026-11\n"
           "序号,刷卡时间,门名称,卡号,姓名,进出方向,事件类型,开门时长,备注\n"
           "1,2026/11/3 9:00:00,机房门,A1,王管理,进门,刷卡开门,,\n"
           "2,2026/11/03 10:05,大门,,,,门长时间未关,75,\n")


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8", newline: str = "\n") -> Path:
    p = tmp_path / name
    p.write_bytes(text.replace("\n", newline).encode(encoding))
    return p


@pytest.mark.parametrize(("text", "encoding", "newline"), [
    pytest.param(DEFAULT, "utf-8", "\n", id="utf8"),
    pytest.param(DEFAULT, "utf-8-sig", "\r\n", id="utf8-bom-crlf"),
    pytest.param(DEFAULT, "gbk", "\r\n", id="gbk-crlf"),
    pytest.param(DEFAULT + "\n\n,,,,,,\n", "utf-8", "\n", id="blank-trailing-lines"),
    pytest.param(CHINESE, "gbk", "\r\n", id="chinese-headers-title-row-extra-columns"),
    pytest.param(CHINESE.replace(",", "\t"), "utf-8-sig", "\n", id="tab-separated"),
])
def test_events_in_real_export_shapes(tmp_path, text, encoding, newline):
    events = imp.read_events(write(tmp_path, "e.csv", text, encoding, newline), TZ)
    assert [(e.time, e.badge, e.direction, e.result, e.duration_s) for e in events] == [
        (datetime(2026, 11, 3, 9, tzinfo=TZ), "A1", "in", "granted", None),
        (datetime(2026, 11, 3, 10, 5, tzinfo=TZ), "", "", "held_open", 75.0)]
    assert events[1].door in ("大门",)
    assert events[0].person == "王管理"


def test_xlsx_with_typed_cells(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["time", "door", "badge", "person", "direction", "result", "duration_s"])
    ws.append([datetime(2026, 11, 3, 9, 0), "machine-room-door", 1001, "王管理", "in", "granted", None])
    ws.append(["2026-11-03T10:05:00+08:00", "main", None, None, None, "held_open", 75])
    wb.save(tmp_path / "e.xlsx")
    events = imp.read_events(tmp_path / "e.xlsx", TZ)
    assert events[0].badge == "1001" and events[0].time == datetime(2026, 11, 3, 9, tzinfo=TZ)
    assert events[1].duration_s == 75 and events[1].line == 3


def test_mapping_file_for_other_exports(tmp_path):
    events = write(tmp_path, "e.csv", "When;Portal;Card;Holder;Way;What\n03.11.2026 09:00;MR;7;Wang;E;OK\n")
    mapping = write(tmp_path, "map.yaml", """
events:
  columns: {time: When, door: Portal, badge: Card, person: Holder, direction: Way, result: What}
  values:
    direction: {E: in, X: out}
    result: {OK: granted, "NO": denied}
  time_format: "%d.%m.%Y %H:%M"
""")
    got = imp.read_events(events, TZ, imp.load_mapping(mapping)["events"])
    assert (got[0].time, got[0].door, got[0].direction, got[0].result) == (
        datetime(2026, 11, 3, 9, tzinfo=TZ), "MR", "in", "granted")


@pytest.mark.parametrize(("text", "where"), [
    pytest.param("time,door,badge,person,direction,result\n2026-11-03T09:00:00+08:00,d,b,p,in,granted\n"
                 "2026-13-03T09:00:00,d,b,p,in,granted\n", r"e\.csv:3: time: '2026-13-03T09:00:00'", id="bad-time"),
    pytest.param("time,door,badge,person,direction,result\n2026-11-03T09:00:00,d,b,p,in,opened\n",
                 r"e\.csv:2: result: 'opened' is not one of", id="bad-result"),
    pytest.param("time,door,badge,person,direction,result\n2026-11-03T09:00:00,d,b,p,,granted\n",
                 r"e\.csv:2: direction: missing", id="granted-without-direction"),
    pytest.param("time,door,badge,person,direction,result,duration_s\n2026-11-03T09:00:00,d,,,,held_open,long\n",
                 r"e\.csv:2: duration_s: 'long' is not a number", id="bad-duration"),
    pytest.param("time,door,badge,person,direction,result,duration_s\n2026-11-03T09:00:00,d,,,,held_open,-3\n",
                 r"e\.csv:2: duration_s: '-3' must be zero or more", id="negative-duration"),
    pytest.param("time,door,badge,person,direction,result\n2026-11-03T09:00:00,,b,p,in,granted\n",
                 r"e\.csv:2: door: missing", id="no-door"),
    pytest.param("when,door,badge\n1,2,3\n", r"e\.csv:1: header lacks column\(s\) time, result", id="no-header"),
])
def test_malformed_events_name_file_line_field(tmp_path, text, where):
    with pytest.raises(InputError, match=where):
        imp.read_events(write(tmp_path, "e.csv", text), TZ)


def test_approvals_dates_cover_whole_days(tmp_path):
    text = "审批单号,申请人,门,开始时间,结束时间,审批人\nAP1,李四,机房门,2026-11-03,2026-11-03,张三\n"
    p = write(tmp_path, "a.csv", text, "gbk")
    a = imp.read_approvals(p, TZ)[0]
    assert a.start == datetime(2026, 11, 3, tzinfo=TZ)
    assert a.end.date() == a.start.date() and a.end.hour == 23 and a.approved_by == "张三"


def test_approval_ending_before_start_is_malformed(tmp_path):
    p = write(tmp_path, "a.csv", "approval_id,person,door,start,end,approved_by\nA,p,d,2026-11-04,2026-11-03,b\n")
    with pytest.raises(InputError, match=r"a\.csv:2: end: ends before it starts"):
        imp.read_approvals(p, TZ)


@pytest.mark.parametrize(("role", "want"), [("admin", "admin"), ("管理员", "admin"), ("Visitor", "visitor"),
                                            ("注销", "revoked"), ("staff", "staff")])
def test_badge_roles(tmp_path, role, want):
    p = write(tmp_path, "b.csv", f"badge,person,role,valid_from,valid_to\nB1,p,{role},,\n")
    b = imp.read_badges(p, TZ)[0]
    assert (b.role, b.valid_from, b.valid_to) == (want, None, None)


def test_badge_bad_role(tmp_path):
    p = write(tmp_path, "b.csv", "badge,person,role\nB1,p,boss\n")
    with pytest.raises(InputError, match=r"b\.csv:2: role: 'boss'"):
        imp.read_badges(p, TZ)


def test_site_file_doors_rooms_hours(tmp_path):
    site = write(tmp_path, "site.yaml", """
name: pudong
working_hours: "08:00-20:00"
rooms:
  - {id: machine-room, kind: machine_room, doors: [mr-east]}
  - {id: office, doors: [office-door]}
doors:
  - {id: mr-west, room: machine-room}
  - {id: cage, machine_room: true}
  - {id: cage-2, zone: server-cage}
  - main-door
zones:
  - {id: floor-1}
  - {id: server-cage, kind: machine_room}
doors2: ignored
""")
    policy = load_site_policy(site, TZ)
    assert policy.machine_room_doors == {"mr-east", "mr-west", "cage", "cage-2"}
    assert policy.door_rooms["mr-west"] == "machine-room" and str(policy.hours) == "08:00-20:00"


def test_guess_machine_room_doors_without_site_file():
    assert guess_machine_room_doors({"machine-room-door", "机房门", "main-door", "Server Room B"}) == {
        "machine-room-door", "机房门", "Server Room B"}


@pytest.mark.parametrize("text", ["", "\r\n\r\n", "\ufeff"])
def test_empty_export_is_no_rows(tmp_path, text):
    assert imp.read_approvals(write(tmp_path, "a.csv", text), TZ) == []


def test_values_in_any_case(tmp_path):
    text = ("time,door,badge,person,direction,result\n2026-11-03T09:00:00+08:00,d,b,p,IN,Granted\n"
            "2026-11-03T09:01:00+08:00,d,b,p, Out ,ACCESS-DENIED\n2026-11-03T09:02:00+08:00,d,,,,Door Held Open\n")
    got = [(e.direction, e.result) for e in imp.read_events(write(tmp_path, "e.csv", text), TZ)]
    assert got == [("in", "granted"), ("out", "denied"), ("", "held_open")]


@pytest.mark.parametrize("hours", ['"08:00-20:00"', "{start: '08:00', end: '20:00'}", "['08:00', '20:00']"])
def test_site_hours_shapes(tmp_path, hours):
    site = write(tmp_path, "site.yaml", f"working_hours: {hours}\n")
    assert str(load_site_policy(site, TZ).hours) == "08:00-20:00"
