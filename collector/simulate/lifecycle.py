"""Simulated data lifecycle: batches, scans, call and account audits, manual evidence, backups."""
from __future__ import annotations

from datetime import datetime, timedelta

from collector.simulate.site import SimSite, source
from rules.model import Observation

MANUAL = {  # control -> (days of validity from upload, uploaded on day)
    "EXTINGUISHER-OFFICE": (31, 0), "EXTINGUISHER-MACHINE-ROOM": (20, 0), "BADGE-POLICY": (365, 0),
    "CONTRACT-NDA-BEFORE-TRAINING": (92, 1), "INFOSEC-TRAINING": (92, 2), "TRAINING-RECORDS": (92, 2),
    "BACKGROUND-CHECKS-NDA": (365, 0), "NO-PERSONAL-DEVICES": (31, 3), "MAIL-ENCRYPTED-TRANSFER": (92, 0),
    "RECORDER-INSPECTION": (31, 5), "INTERNAL-AUDIT": (365, 0),
}


@source("batches")
def batches(site: SimSite, t: datetime) -> list[Observation]:
    if not site.daily(t, 0):
        return []
    out = []
    for n, (start_day, end_day) in enumerate([(-40, 10), (-5, 60)], start=1):
        bid = f"B{site.start:%Y%m}-{n:02d}"
        end = site.start + timedelta(days=end_day)
        out.append(site.obs(site.start, "batch", bid, "batch.registered", {
            "bank": "广州银行", "dispatch_date": (site.start + timedelta(days=start_day)).date().isoformat(),
            "end_date": end.date().isoformat(), "deadline": end.isoformat(), "rows": 1200 * n},
            source="import:batches"))
    return out


@source("scans")
def scans(site: SimSite, t: datetime) -> list[Observation]:
    if not site.daily(t, 1):
        return []
    out = []
    first_batch = f"B{site.start:%Y%m}-01"
    dirty = site.hosts[8 % len(site.hosts)]
    for host in site.hosts:
        left = host == dirty and site.day(t) < 14
        out.append(site.obs(t, "host", host, "pii.scan", {
            "started_at": (t - timedelta(minutes=20)).isoformat(), "finished_at": t.isoformat(), "full": True,
            "files_scanned": 5200, "totals": {"id_card": 31 if left else 0, "phone": 58 if left else 0,
                                              "bank_card": 0},
            "files_with_hits": 1 if left else 0, "batches": {first_batch: 31} if left else {}},
            source=f"agent:{host}"))
    return out


@source("calls")
def calls(site: SimSite, t: datetime) -> list[Observation]:
    if not site.daily(t, 22):
        return []
    d = int(site.day(t))
    counts = {"outside_hours": 2 if d % 9 == 4 else 0, "no_recording": 1 if d == 13 else 0,
              "backup_missing": 1 if d == 21 else 0, "backup_mismatch": 0, "recording_too_short": 0}
    return [site.obs(t, "call_system", "recorder-1", "calls.audit", {
        "period_start": t.replace(hour=0).isoformat(), "period_end": t.isoformat(), "calls": 2400 + 37 * (d % 5),
        "counts": counts, "retention": {"ok": True, "primary_oldest": "2023-06-01T00:00:00+08:00",
                                        "backup_oldest": "2023-06-01T00:00:00+08:00",
                                        "first_call": "2023-06-01T09:02:11+08:00"},
        "recorder": {"last_recording": t.isoformat(), "stalled_periods": []}}, source="import:calls")]


@source("accounts")
def accounts(site: SimSite, t: datetime) -> list[Observation]:
    if not site.daily(t, 22):
        return []
    d = int(site.day(t))
    counts = {"shared_account": 1 if d == 19 else 0, "generic_account": 0, "departed_user_active": 0,
              "after_hours_login": 0, "bulk_export": 1 if d == 26 else 0, "log_gap": 0}
    return [site.obs(t, "collection_system", "cms", "accounts.audit", {
        "period_start": t.replace(hour=0).isoformat(), "period_end": t.isoformat(), "events": 5100,
        "counts": counts}, source="import:accounts")]


@source("manual")
def manual(site: SimSite, t: datetime) -> list[Observation]:
    out = []
    for control, (valid_days, day) in MANUAL.items():
        when = site.start + timedelta(days=day)
        if when <= t < when + site.step or (t == site.start and day == 0):
            until = when + timedelta(days=valid_days)
            name = f"{control.lower()}-record.txt"
            content = (f"{control} — 检查记录 / inspection record\n签字 / signed: 张经理 (manager)\n"
                       f"日期 / date: {when:%Y-%m-%d}\n有效至 / valid until: {until:%Y-%m-%d}\n").encode()
            ref = site.attach(name, content, "text/plain")
            obs = site.obs(when, "site", site.site, "manual.evidence", {
                "control": control, "valid_until": until.isoformat(), "filename": name, "sha256": ref.sha256,
                "size": ref.size, "media_type": ref.media_type, "uploaded_by": "manager"},
                source="user:manager", key=control)
            obs.evidence = [ref]
            out.append(obs)
    return out


@source("backups")
def backups(site: SimSite, t: datetime) -> list[Observation]:
    host = site.hosts[0]
    last = t.replace(hour=2, minute=0, second=0, microsecond=0)
    if last > t:
        last -= timedelta(days=1)
    return [site.obs(t, "host", host, "backup.status", {"last_success": last.isoformat(),
                                                        "target": "/mnt/backup (备用磁盘)"}, source=f"agent:{host}")]
