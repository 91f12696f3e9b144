"""The calls audit on real recordings (WAV and AMR written here, MP3, OGG, M4A by ffmpeg) and a real CDR file."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import wave
from pathlib import Path

import pytest
from typer.testing import CliRunner

from collector.cli.main import build_app
from collector.sources.importers.recordings import audio_duration_s
from tests.collector.sources.importers.amr_files import write_amr
from tests.rules.catalog_copy import catalog_with

runner = CliRunner()
NOW = "2026-11-29T23:00:00+08:00"


def write_wav(path: Path, seconds: float, tone: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(bytes([tone, 0]) * int(8000 * seconds))
    return path


def ffmpeg(path: Path, seconds: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    codec = {".ogg": ["-c:a", "libvorbis"], ".m4a": ["-c:a", "aac"], ".wav": ["-c:a", "pcm_alaw"]}
    extra = codec.get(path.suffix, [])
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono", "-t", str(seconds),
                    *extra, "-y", str(path)], check=True)
    return path


CDR = """call_id,agent,terminal,number,start,duration_s,disposition
c01,A01,T01,13800138000,2026-11-29 08:00:00,10,可联
c02,A01,T01,13800138001,2026-11-29T21:00:00+08:00,0,挂断
c03,A02,T02,13800138002,2026-11-29 07:59:59,10,connected
c04,A02,T02,13800138003,2026-11-29 12:00:00,30,可联
c05,A03,T03,13800138004,2026-11-29 12:05:00,10,可联
c06,A03,T03,13800138005,2026-11-29 12:10:00,10,可联
c07,A04,T04,13800138006,2026-11-29 12:15:00,100,connected
c08,A04,T04,13800138007,2026-11-29 22:00:00,0,停机
c09,A05,T05,13800138008,2026-11-29 13:00:00,5,可联
c10,A05,T05,13800138009,2026-11-29 13:05:00,0,空号
c11,A05,T05,13800138010,2026-11-29T13:00:00Z,0,unreachable
"""


@pytest.fixture
def site(tmp_path: Path) -> Path:
    p, b = tmp_path / "primary" / "2026" / "11", tmp_path / "backup"
    for cid in ("c01", "c03", "c05", "c06", "c07"):
        write_wav(p / f"{cid}.wav", {"c07": 10}.get(cid, 10))
    for cid in ("c01", "c03", "c07"):
        shutil.copy(p / f"{cid}.wav", b / f"{cid}.wav") if b.exists() else (b.mkdir(), shutil.copy(
            p / f"{cid}.wav", b / f"{cid}.wav"))
    write_wav(b / "c06.wav", 10, tone=7)  # same size, other content
    ffmpeg(p / "c09.mp3", 5)
    shutil.copy(p / "c09.mp3", b / "c09.mp3")
    old = 1_600_000_000  # 2020-09: far enough back for the retention rule
    for f in (p / "c01.wav", b / "c01.wav"):
        os.utime(f, (old, old))
    (tmp_path / "cdr.csv").write_text(CDR, encoding="utf-8")
    (tmp_path / "agreed.txt").write_text("# agreed with the debtor\nc08\n")
    return tmp_path


def audit(site: Path, *extra: str) -> tuple[int, dict]:
    r = runner.invoke(build_app(), ["audit", "calls", "--cdr", str(site / "cdr.csv"), "--primary",
                                    str(site / "primary"), "--backup", str(site / "backup"), "--now", NOW,
                                    *extra, "--json"])
    return r.exit_code, (json.loads(r.stdout) if r.stdout.strip() else {"output": r.output})


def test_calls_audit_finds_each_violation(site: Path) -> None:
    code, out = audit(site, "--exceptions", str(site / "agreed.txt"))
    assert code == 1, out
    found = sorted((v["type"], v["call_id"]) for v in out["violations"])
    assert found == sorted([
        ("outside_hours", "c02"), ("outside_hours", "c03"), ("outside_hours", "c11"), ("no_recording", "c04"),
        ("backup_missing", "c05"), ("backup_mismatch", "c06"), ("recording_too_short", "c07")])
    assert out["counts"] == {"outside_hours": 3, "no_recording": 1, "backup_missing": 1, "backup_mismatch": 1,
                             "recording_too_short": 1}
    assert out["retention"]["ok"] is True
    assert "13800138000" not in json.dumps(out)


def test_without_exceptions_the_agreed_call_is_outside_hours(site: Path) -> None:
    _, out = audit(site)
    assert ("outside_hours", "c08") in {(v["type"], v["call_id"]) for v in out["violations"]}


def test_recorder_stall_and_short_retention(site: Path) -> None:
    calls = CDR + ("c12,A06,T06,13800138011,2026-11-29 16:30:00,60,可联\n"
                   "c13,A06,T06,13800138012,2026-11-29 17:10:00,60,可联\n")
    (site / "cdr.csv").write_text(calls, encoding="utf-8")
    old = write_wav(site / "primary" / "2024" / "c-2024-0001.wav", 1)  # a recording older than these records
    os.utime(old, (1_704_100_000, 1_704_100_000))  # 2024-01-01; the backup lacks it
    _, out = audit(site, "--first-call", "2024-01-01T09:00:00+08:00")
    stalled = out["recorder"]["stalled_periods"]
    assert [(s["start"], s["calls"]) for s in stalled] == [("2026-11-29T16:00:00+08:00", 2)]
    assert out["retention"]["primary_oldest"].startswith("2024-01-01")
    assert out["retention"]["ok"] is False  # the backup reaches back only to this CDR's first call


@pytest.mark.parametrize("row,field", [
    pytest.param("x1,A,T,138,2026-13-01 10:00,5,可联", "start", id="bad-start"),
    pytest.param("x1,A,T,138,2026-11-01 10:00,five,可联", "duration_s", id="bad-duration"),
    pytest.param("x1,A,T,138,2026-11-01 10:00,5,maybe", "disposition", id="bad-disposition"),
    pytest.param("x1,A,T", "fields", id="short-row"),
])
def test_malformed_cdr_row_exits_2_naming_the_line(site: Path, row: str, field: str) -> None:
    (site / "cdr.csv").write_text(CDR + row + "\n", encoding="utf-8")
    code, out = audit(site)
    assert code == 2
    assert "line 13" in out["output"] and field in out["output"]


@pytest.mark.parametrize("name,seconds", [
    pytest.param("a.wav", 3.0, id="wav"),
    pytest.param("a.mp3", 4.0, id="mp3"),
    pytest.param("a.ogg", 2.0, id="ogg"),
    pytest.param("a.m4a", 2.0, id="m4a"),
])
def test_durations_come_from_the_container(tmp_path: Path, name: str, seconds: float) -> None:
    path = write_wav(tmp_path / name, seconds) if name.endswith(".wav") else ffmpeg(tmp_path / name, seconds)
    assert audio_duration_s(str(path)) == pytest.approx(seconds, abs=0.3)  # MP3 frames pad the end


def test_compressed_wav_falls_back_to_ffprobe(tmp_path: Path) -> None:
    path = ffmpeg(tmp_path / "alaw.wav", 3.0)  # A-law: the standard library's wave module refuses it
    assert audio_duration_s(str(path)) == pytest.approx(3.0, abs=0.05)


def test_audit_is_recorded_and_judged_when_given_a_store(site: Path) -> None:
    from collector.store.sqlite import SqliteStore

    db = site / "cw.db"
    SqliteStore(db).close()  # --db records into the site's store
    code, _ = audit(site, "--db", str(db))
    assert code == 1
    store = SqliteStore(db)
    status = {f.control: f.status for f in store.current_findings(subject_kind="call_system")}
    store.close()
    assert status["CALLS-RECORDED"] == "fail" and status["CALLING-HOURS"] == "fail"
    assert status["RECORDING-RETENTION"] == "pass"


def test_amr_recordings_are_measured_frame_by_frame(tmp_path: Path) -> None:
    # a recorder with silence suppression: a1's 6 s pause is 1-byte frames, which a size / bit-rate
    # estimate (ffprobe's container duration) would count as about 1 s
    for root in ("primary", "backup"):
        write_amr(tmp_path / root / "a1.amr", 4.0, 6.0)
        write_amr(tmp_path / root / "a2.amr", 4.0)
    (tmp_path / "cdr.csv").write_text("call_id,agent,terminal,number,start,duration_s,disposition\n"
                                      "a1,A01,T01,13800138000,2026-11-29 10:00:00,10,可联\n"
                                      "a2,A01,T01,13800138001,2026-11-29 10:05:00,10,可联\n", encoding="utf-8")
    code, out = audit(tmp_path)
    assert code == 1, out
    assert [(v["type"], v["call_id"]) for v in out["violations"]] == [("recording_too_short", "a2")]
    assert audio_duration_s(str(tmp_path / "primary" / "a1.amr")) == pytest.approx(10.0)


def amr_encoder() -> str | None:
    out = subprocess.run(["ffmpeg", "-hide_banner", "-encoders"], capture_output=True, text=True, check=False).stdout
    return next((name for name in ("libopencore_amrnb", "amrnb") if f" {name} " in out), None)


@pytest.mark.skipif(amr_encoder() is None, reason="this machine's ffmpeg has no AMR-NB encoder (its build has no "
                    "--enable-libopencore-amrnb); test_amr.py and the audit test use RFC 4867 files written here")
def test_amr_from_ffmpeg_encoder(tmp_path: Path) -> None:
    path = tmp_path / "c.amr"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=8000", "-t", "3",
                    "-ac", "1", "-c:a", str(amr_encoder()), "-b:a", "12.2k", "-y", str(path)], check=True)
    assert audio_duration_s(str(path)) == pytest.approx(3.0, abs=0.05)


def test_the_recorded_share_is_the_controls_parameter_and_a_flag_overrides_it(site: Path, tmp_path: Path) -> None:
    controls = catalog_with(tmp_path / "controls", {"CALLS-RECORDED": {"min_recorded_ratio": 0.1}})
    r = runner.invoke(build_app(), ["audit", "calls", "--cdr", str(site / "cdr.csv"), "--primary",
                                    str(site / "primary"), "--backup", str(site / "backup"), "--now", NOW, "--json"],
                      env={"CLAUSEWATCH_CONTROLS_DIR": str(controls)})
    out = json.loads(r.stdout)
    assert out["counts"]["recording_too_short"] == 0 and out["threshold_overrides"] == {}
    assert out["thresholds"] == {"min_recorded_ratio": 0.1, "retention_years": 3, "max_silence_h": 2}
    _, flagged = audit(site, "--min-recorded-ratio", "0.1", "--stall-hours", "4")
    assert flagged["counts"]["recording_too_short"] == 0 and flagged["recorder"]["stall_h"] == 4
    assert flagged["threshold_overrides"] == {"min_recorded_ratio": {"used": 0.1, "control": 0.8},
                                              "max_silence_h": {"used": 4, "control": 2}}
