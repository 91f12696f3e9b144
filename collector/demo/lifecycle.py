"""Simulated data lifecycle: batches, scans, call and account audits, manual evidence, backups."""
from __future__ import annotations

import hashlib
from datetime import datetime, time, timedelta, timezone

from collector.demo.site import SimSite
from rules.model import Observation

MANUAL = {  # control -> (days of validity from upload, uploaded on day)
    "EXTINGUISHER-OFFICE": (31, 0), "EXTINGUISHER-MACHINE-ROOM": (20, 0), "BADGE-POLICY": (365, 0),
    "CONTRACT-NDA-BEFORE-TRAINING": (92, 1), "INFOSEC-TRAINING": (92, 2), "TRAINING-RECORDS": (92, 2),
    "BACKGROUND-CHECKS-NDA": (365, 0), "NO-PERSONAL-DEVICES": (31, 3), "MAIL-ENCRYPTED-TRANSFER": (92, 0),
    "RECORDER-INSPECTION": (31, 5), "INTERNAL-AUDIT": (365, 0),
}


SITE_TZ = timezone(timedelta(hours=8))
ZERO = {"id_card": 0, "phone": 0, "bank_card": 0}


def batches(site: SimSite, t: datetime) -> list[Observation]:
    if not site.daily(t, 0):
        return []
    out = []
    for n, (start_day, end_day) in enumerate([(-40, 10), (-5, 60)], start=1):
        bid = f"B{site.start:%Y%m}-{n:02d}"
        end_date = (site.start + timedelta(days=end_day)).astimezone(SITE_TZ).date()
        deadline = datetime.combine(end_date + timedelta(days=1), time(0), SITE_TZ)
        out.append(site.obs(site.start, "batch", bid, "batch.registered", {
            "bank": "广州银行", "dispatch_date": (site.start + timedelta(days=start_day)).date().isoformat(),
            "end_date": end_date.isoformat(), "deadline": deadline.isoformat(), "grace_days": 0, "rows": 1200 * n,
            "identifiers": 3400 * n, "manifest_sha256": hashlib.sha256(bid.encode()).hexdigest()},
            source="import:dispatch"))
    return out


def _leftover(first_batch: str) -> dict:
    return {"path": "D:/导出/客户清单-第一批.xlsx", "counts": {"id_card": 31, "phone": 58, "bank_card": 0},
            "batches": [first_batch], "samples": ["4401**********123X", "138****8000"]}


def scans(site: SimSite, t: datetime) -> list[Observation]:
    """A full scan of every host at 01:00; one host's watch finds an export left over from batch 1."""
    first_batch = f"B{site.start:%Y%m}-01"
    dirty = site.hosts[8 % len(site.hosts)]
    day = site.day(t)
    out = []
    if site.daily(t, 15) and 11 <= day < 12:  # the watch sees the export appear
        out.append(site.obs(t, "host", dirty, "pii.scan", {
            "started_at": t.isoformat(), "finished_at": t.isoformat(), "full": False,
            "roots": ["D:/导出/客户清单-第一批.xlsx"], "files_scanned": 1, "bytes_scanned": 48_213,
            "totals": {"id_card": 31, "phone": 58, "bank_card": 0}, "files_with_hits": 1,
            "batches": {first_batch: 89}, "unreadable": 0, "hits": [_leftover(first_batch)]},
            source=f"agent:{dirty}", key="watch"))
    if not site.daily(t, 1):
        return out
    for host in site.hosts:
        left = host == dirty and 11 <= day < 14
        rng = site.rng("scan", host, int(day))
        files = 5200 + rng.randrange(300)
        out.append(site.obs(t, "host", host, "pii.scan", {
            "started_at": (t - timedelta(minutes=20 + rng.randrange(10))).isoformat(), "finished_at": t.isoformat(),
            "full": True, "roots": ["C:/Users", "D:/"], "files_scanned": files, "bytes_scanned": files * 41_000,
            "totals": {"id_card": 31, "phone": 58, "bank_card": 0} if left else ZERO,
            "files_with_hits": 1 if left else 0, "batches": {first_batch: 89} if left else {},
            "unreadable": 0, "hits": [_leftover(first_batch)] if left else []},
            source=f"agent:{host}"))
    return out


def _violations(kind: str, counts: dict[str, int], rng) -> list[dict]:
    details = {"outside_hours": "started 21:03:12 site time (挂断), agent A017, number 139****2231",
               "no_recording": "connected 184 s, agent A042: no recording in the primary store",
               "backup_missing": "/rec/primary/2026/11/C{n}.wav: no copy in the backup",
               "shared_account": "active on T004 and T011 at once",
               "bulk_export": "2400 records exported within 60 min"}
    key = "call_id" if kind == "calls" else "account"
    return [{"type": t, key: f"C{rng.randrange(10 ** 7):07d}" if key == "call_id" else f"agent{rng.randrange(40):02d}",
             "detail": details.get(t, t).replace("{n}", str(rng.randrange(10 ** 7)))}
            for t, n in counts.items() for _ in range(n)]


def calls(site: SimSite, t: datetime) -> list[Observation]:
    if not site.daily(t, 22):
        return []
    d = int(site.day(t))
    rng = site.rng("calls", d)
    counts = {"outside_hours": 2 if d % 9 == 4 else 0, "no_recording": 1 if d == 13 else 0,
              "backup_missing": 1 if d == 21 else 0, "backup_mismatch": 0, "recording_too_short": 0}
    day_start = t.astimezone(SITE_TZ).replace(hour=8, minute=0, second=0, microsecond=0)
    stalled = ([{"start": (day_start + timedelta(hours=6)).isoformat(), "end": (day_start + timedelta(hours=8))
                 .isoformat(), "calls": 212}] if d == 17 else [])
    n_calls = 2400 + 37 * (d % 5)
    return [site.obs(t, "call_system", "recorder-1", "calls.audit", {
        "period_start": day_start.isoformat(), "period_end": t.isoformat(), "calls": n_calls,
        "connected": n_calls * 3 // 8, "counts": counts, "violations": _violations("calls", counts, rng),
        "retention": {"ok": True, "primary_oldest": "2023-06-01T09:02:40+08:00",
                      "backup_oldest": "2023-06-01T09:02:40+08:00", "first_call": "2023-06-01T09:02:11+08:00",
                      "required_from": "2023-06-01T09:02:11+08:00", "retention_years": 3.0},
        "recorder": {"last_recording": t.isoformat(), "stall_h": 2.0, "stalled_periods": stalled},
        "recordings": {"primary": 1_900_000 + 900 * d, "backup": 1_900_000 + 900 * d}}, source="import:calls")]


def accounts(site: SimSite, t: datetime) -> list[Observation]:
    if not site.daily(t, 22):
        return []
    d = int(site.day(t))
    counts = {"shared_account": 1 if d == 19 else 0, "generic_account": 0, "departed_user_active": 0,
              "after_hours_login": 0, "bulk_export": 1 if d == 26 else 0, "log_gap": 0}
    return [site.obs(t, "collection_system", "cms", "accounts.audit", {
        "period_start": t.replace(hour=0).isoformat(), "period_end": t.isoformat(), "events": 5100,
        "users": 48, "unknown_accounts": [], "counts": counts,
        "violations": _violations("accounts", counts, site.rng("accounts", d))}, source="import:accounts")]


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


def backups(site: SimSite, t: datetime) -> list[Observation]:
    host = site.hosts[0]
    last = t.replace(hour=2, minute=0, second=0, microsecond=0)
    if last > t:
        last -= timedelta(days=1)
    return [site.obs(t, "host", host, "backup.status", {"last_success": last.isoformat(),
                                                        "target": "/mnt/backup (备用磁盘)"}, source=f"agent:{host}")]
