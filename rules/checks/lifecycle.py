"""Checks over the bank-data lifecycle: batches purged after their commission, recordings kept."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from typing_extensions import TypedDict

from rules.audit_params import naming_overrides
from rules.checks.facility import AuditPayload
from rules.kinds import IsoTime, payload
from rules.registry import CheckInput, Verdict, check, failed, passed, unknown

MAX_NOT_READ = 50  # files named per host; an agent lists no more, a forged payload is cut here
MAX_TEXT = 1000


@payload("batch.registered")
class BatchRegistered(TypedDict):
    deadline: IsoTime


@check("batch_purged", kinds=["batch.registered"], related=["pii.scan", "agent.heartbeat"],
       presence=["agent.heartbeat"], params={"grace_days": 0})
def batch_purged(inp: CheckInput) -> Verdict:
    """After a batch's commission ends, every enrolled host proves by a full scan that its data is gone."""
    b = inp.require("batch.registered").payload
    deadline = datetime.fromisoformat(b["deadline"]) + timedelta(days=float(inp.params["grace_days"]))
    if inp.before(deadline):
        return passed(f"委案期内，删除期限 {deadline:%Y-%m-%d}", f"in commission, purge due {deadline:%Y-%m-%d}",
                      deadline=deadline.isoformat(), phase="in_commission")
    scans, watched, hosts = inp.derived("pii.scan:by_host", lambda: _scans_by_host(inp))
    dirty, unscanned, clean, unproven = [], [], [], []
    for host in hosts:
        seen, scan = watched.get(host), scans.get(host)
        # the watch's finding stands until a full scan finished after it says otherwise
        if seen is not None and _finished(seen) >= deadline and int(seen.payload.get("batches", {}).get(
                inp.subject_id, 0)) and (scan is None or _finished(scan) < _finished(seen)):
            inp.used.append(seen)
            dirty.append(host)
            continue
        finished = datetime.fromisoformat(scan.payload["finished_at"]) if scan and scan.payload.get(
            "finished_at") else None
        if scan is None or not scan.payload.get("full") or finished is None or finished < deadline:
            unscanned.append(host)
            continue
        inp.used.append(scan)
        if int(scan.payload.get("batches", {}).get(inp.subject_id, 0)):
            dirty.append(host)
        elif not_read(scan.payload):
            unproven.append(host)
        else:
            clean.append(host)
    value = {"deadline": deadline.isoformat(), "hosts": len(hosts), "clean": len(clean),
             "dirty": dirty, "unscanned": unscanned[:50], "not_proven": unproven[:50]}
    if dirty:
        return failed(f"期限后仍有 {len(dirty)} 台主机存有该批次数据：{', '.join(dirty[:5])}",
                      f"{len(dirty)} host(s) still hold this batch after the deadline: {', '.join(dirty[:5])}",
                      **value)
    if unproven:
        return unknown(f"{len(unproven)} 台主机有文件无法读取，未能证明已删除：{', '.join(unproven[:5])}",
                       f"{len(unproven)} host(s) have files the scan could not read, so the purge is not proven: "
                       f"{', '.join(unproven[:5])}", **value)
    if unscanned or not hosts:
        return unknown(f"{len(unscanned)} 台主机在期限后未完成全盘扫描",
                       f"{len(unscanned)} host(s) have no full scan since the deadline", **value)
    return passed(f"{len(clean)} 台主机期限后扫描均无该批次数据",
                  f"all {len(clean)} hosts scanned clean after the deadline", **value)


def _scans_by_host(inp: CheckInput) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """Every host's full scan and watch scan, and every host there is (scanned or heard from): the same for
    every batch of a round."""
    # full scans (key "") prove a purge; the watch's partial scans (key "watch") can only disprove it
    scans = {o.subject_id: o for o in inp.others("pii.scan") if not o.key}
    watched = {o.subject_id: o for o in inp.others("pii.scan") if o.key == "watch"}
    hosts = sorted(set(inp.subjects_with("agent.heartbeat")) | set(scans) | set(watched))
    return scans, watched, hosts


def not_read(scan_payload: dict[str, Any]) -> list[dict[str, str]]:
    """The files a scan could not read, as {path, reason}; those counted but not named (beyond the agent's list,
    or from an agent that only counted them) make one more line, {"path": "…", "reason": "+N"}."""
    listed = scan_payload.get("errors")
    out = [{"path": str(e.get("path"))[:MAX_TEXT], "reason": str(e.get("reason"))[:MAX_TEXT]}
           for e in (listed if isinstance(listed, list) else [])[:MAX_NOT_READ] if isinstance(e, dict)]
    count = scan_payload.get("unreadable")
    if isinstance(count, int) and not isinstance(count, bool) and count > len(out):
        out.append({"path": "…", "reason": f"+{count - len(out)}"})
    return out


def _finished(scan) -> datetime:
    text = scan.payload.get("finished_at")
    return datetime.fromisoformat(text) if text else datetime.min.replace(tzinfo=scan.observed_at.tzinfo)


class Retention(TypedDict, total=False):
    ok: bool | None


class Recorder(TypedDict, total=False):
    stalled_periods: list[Any]


@payload("calls.audit")
class CallsAudit(AuditPayload, total=False):
    retention: Retention
    recorder: Recorder


@check("recordings_retained", kinds=["calls.audit"], params={"retention_years": 3})
def recordings_retained(inp: CheckInput) -> Verdict:
    """Recordings reach back N years, or to the first call if the site is younger."""
    p = inp.require("calls.audit").payload
    return naming_overrides(_retention(inp, p), inp.params, p, "calls.audit")


def _retention(inp: CheckInput, p: dict[str, Any]) -> Verdict:
    r = p.get("retention", {})
    years = float(inp.params["retention_years"])
    value = {"primary_oldest": r.get("primary_oldest"), "backup_oldest": r.get("backup_oldest"),
             "first_call": r.get("first_call"), "retention_years": years}
    if r.get("ok") is True:
        return passed("录音保存期限满足要求", "recordings reach back far enough", **value)
    if r.get("ok") is False:
        return failed(f"录音未保存满 {years:g} 年", f"recordings do not reach back {years:g} years", **value)
    return unknown("没有录音保存期限数据", "no recording retention data", **value)


@check("recorder_alive", kinds=["calls.audit"], params={"max_silence_h": 2})
def recorder_alive(inp: CheckInput) -> Verdict:
    """The recording system keeps producing recordings while calls are being made."""
    p = inp.require("calls.audit").payload
    return naming_overrides(_recorder(p), inp.params, p, "calls.audit")


def _recorder(p: dict[str, Any]) -> Verdict:
    stalled = p.get("recorder", {}).get("stalled_periods", [])
    value = {"last_recording": p.get("recorder", {}).get("last_recording"), "stalled_periods": len(stalled)}
    if stalled:
        return failed(f"录音系统有 {len(stalled)} 个时段有通话却无录音",
                      f"recorder stalled in {len(stalled)} period(s) with calls", **value)
    return passed("录音系统运行正常", "recorder producing recordings", **value)
