"""Checks for controls a person attests with uploaded evidence, and for the evidence store itself."""
from __future__ import annotations

from datetime import datetime

from typing_extensions import TypedDict

from rules.kinds import IsoTime, payload
from rules.registry import CheckInput, Verdict, check, failed, passed


@payload("manual.evidence")
class ManualEvidence(TypedDict):
    control: str
    valid_until: IsoTime


@check("manual_evidence", kinds=["manual.evidence"], params={"remind_days": [14, 7, 1]})
def manual_evidence(inp: CheckInput) -> Verdict:
    """Current evidence exists for a manual control: uploaded, and not past its validity end.
    Within `remind_days` (days before expiry; one number or a list of reminder thresholds) the
    value says `expiring` and which threshold was reached (`remind_threshold_days`, 0 once expired)."""
    obs = inp.require("manual.evidence", inp.control_id)
    p = obs.payload
    until = datetime.fromisoformat(p["valid_until"])
    days_left = (until - inp.now).total_seconds() / 86400
    value = {"valid_until": p["valid_until"], "days_left": round(days_left, 1), "file": p.get("filename"),
             "uploaded_by": p.get("uploaded_by"), "sha256": p.get("sha256")}
    if days_left < 0:
        return failed(f"证据已于 {until:%Y-%m-%d} 过期", f"evidence expired on {until:%Y-%m-%d}",
                      remind_threshold_days=0, **value)
    raw = inp.params["remind_days"]
    reached = [float(d) for d in (raw if isinstance(raw, list | tuple) else [raw]) if days_left <= float(d)]
    if reached:
        value["expiring"] = True
        value["remind_threshold_days"] = min(reached)
    return passed(f"证据有效至 {until:%Y-%m-%d}", f"evidence valid until {until:%Y-%m-%d}", **value)


@payload("ledger.verify")
class LedgerVerify(TypedDict):
    ok: bool


@check("ledger_intact", kinds=["ledger.verify"])
def ledger_intact(inp: CheckInput) -> Verdict:
    """The evidence ledger verifies: hash chain unbroken and checkpoints signed by the site key."""
    p = inp.require("ledger.verify").payload
    value = {"entries": p.get("entries"), "checkpoints": p.get("checkpoints")}
    if not p.get("ok"):
        return failed(f"证据账本校验失败：{p.get('error')}", f"ledger verification failed: {p.get('error')}",
                      **value)
    return passed(f"证据账本完整（{p.get('entries')} 条）", f"ledger intact ({p.get('entries')} entries)", **value)
