"""Reading call records as dialers write them."""
from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from collector.sources.importers.cdr import CdrError, read_cdr

TZ = ZoneInfo("Asia/Shanghai")
HEAD = "call_id,agent,terminal,number,start,duration_s,disposition\n"


@pytest.mark.parametrize("row,duration,disposition,hour", [
    pytest.param("c1,A,T,138,2026-11-29 09:00:00,12.5,可联", 12.5, "connected", 9, id="seconds"),
    pytest.param("c1,A,T,138,2026/11/29 09:00:00,00:01:40,connected", 100.0, "connected", 9, id="hh-mm-ss"),
    pytest.param("c1,A,T,138,2026-11-29T01:00:00Z,,空号", 0.0, "invalid", 9, id="blank-duration-utc"),
    pytest.param("c1,A,T,138, 2026-11-29 09:00:00 ,3, Hung_Up ", 3.0, "hung_up", 9, id="spaces-and-case"),
])
def test_rows_as_dialers_write_them(tmp_path: Path, row: str, duration: float, disposition: str, hour: int) -> None:
    f = tmp_path / "cdr.csv"
    f.write_text(HEAD + row + "\n", encoding="utf-8")
    [call] = read_cdr(f, TZ)
    assert (call.duration_s, call.disposition, call.start.astimezone(TZ).hour) == (duration, disposition, hour)


def test_gbk_file_with_mapped_columns(tmp_path: Path) -> None:
    f = tmp_path / "cdr.csv"
    f.write_bytes("话单号,坐席,终端,号码,开始时间,时长,结果\nc9,A,T,138,2026-11-29 10:00:00,30,可联\n".encode("gbk"))
    mapping = {"call_id": "话单号", "agent": "坐席", "terminal": "终端", "number": "号码", "start": "开始时间",
               "duration_s": "时长", "disposition": "结果"}
    [call] = read_cdr(f, TZ, mapping)
    assert call.call_id == "c9" and call.connected


def test_missing_column_names_line_1(tmp_path: Path) -> None:
    f = tmp_path / "cdr.csv"
    f.write_text("call_id,start\nc1,2026-11-29 10:00\n", encoding="utf-8")
    with pytest.raises(CdrError, match="line 1: missing column"):
        read_cdr(f, TZ)
