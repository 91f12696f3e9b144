"""A terminal's evidence timeline: USB blocks, EICAR tests and egress canaries, repeated results folded.

An agent reports every hour; 30 days of "EICAR detected" would bury the one miss. Consecutive
identical results of the same test become one run with its first and last time and a count.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from collector.store.areas import HistoryRow

TIMELINE_KINDS = ("usb.block", "usb.devices", "antivirus.status", "mail.egress", "internet.egress")
_BLOCKED = {"timeout", "refused", "error", "blocked"}


@dataclass
class Run:
    test: str  # usb | eicar | mail_canary | internet_canary
    ok: bool
    detail: str
    first: float
    last: float
    count: int
    obs_id: str  # the newest observation of the run


def _usb(kind: str, payload: dict[str, Any]) -> list[tuple[str, bool, str]]:
    if kind == "usb.block":
        name = payload.get("name") or f"{payload.get('vendor_id')}:{payload.get('product_id')}"
        return [("usb", True, f"{name} {payload.get('action', 'blocked')}")]
    out = []
    for d in payload.get("devices", []):
        if d.get("allowed"):
            continue
        name = d.get("name") or f"{d.get('vendor_id')}:{d.get('product_id')}"
        if "08" in d.get("classes", []) or not d.get("authorized", True):
            ok = not d.get("authorized", True)
            out.append(("usb", ok, f"{name} {'blocked' if ok else 'authorized'}"))
    return out


def results(kind: str, payload: dict[str, Any]) -> list[tuple[str, bool, str]]:
    """(test, passed, detail) for each active test one observation records."""
    if kind in ("usb.block", "usb.devices"):
        return _usb(kind, payload)
    if kind == "antivirus.status":
        eicar = payload.get("eicar")
        if not isinstance(eicar, dict):
            return []
        ok = bool(eicar.get("detected"))
        return [("eicar", ok, "detected" if ok else "missed")]
    if kind == "internet.egress":
        canary = payload.get("canary") or {}
        res = str(canary.get("result", "?"))
        return [("internet_canary", res in _BLOCKED, f"{canary.get('target')}:{canary.get('port')} {res}")]
    if kind == "mail.egress":
        attempts = payload.get("attempts") or []
        reached = [f"{a.get('target')}:{a.get('port')}" for a in attempts if a.get("result") == "connected"]
        return [("mail_canary", not reached, ("connected " + ", ".join(reached)) if reached else "blocked")]
    return []


def fold(rows: Iterable[HistoryRow]) -> list[Run]:
    """History rows newest first -> runs newest first; a row stands for its repeats too (seen `times` times
    until `until`), so a result reported unchanged every minute is one run up to its last report."""
    open_runs: dict[str, Run] = {}
    done: list[Run] = []
    for row in rows:
        for test, ok, detail in results(row.kind, row.payload):
            cur = open_runs.get(test)
            if cur is not None and cur.ok == ok and cur.detail == detail:
                cur.first, cur.count = row.observed_at, cur.count + row.times
                continue
            if cur is not None:
                done.append(cur)
            open_runs[test] = Run(test, ok, detail, row.observed_at, row.until, row.times, row.obs_id)
    done.extend(open_runs.values())
    return sorted(done, key=lambda r: r.last, reverse=True)
