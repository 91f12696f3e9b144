"""Checks over what endpoint agents report (see docs/observations.md for the payloads)."""
from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from typing_extensions import TypedDict

from rules.kinds import IsoTime, payload
from rules.model import Observation
from rules.registry import CheckInput, Verdict, check, failed, passed, unknown


def _ts(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


@payload("host.identity")
class HostIdentity(TypedDict, total=False):
    hostname: str | None
    addresses: list[str]
    interactive_users: list[str]


@payload("agent.heartbeat")
class Heartbeat(TypedDict, total=False):
    interval_s: float
    tamper: list[Any] | None


@check("agent_reporting", kinds=["agent.heartbeat"], params={"max_silence_intervals": 3})
def agent_reporting(inp: CheckInput) -> Verdict:
    """The endpoint agent (desktop management software) is installed and reporting."""
    hb = inp.require("agent.heartbeat")
    interval = float(hb.payload.get("interval_s", 60))
    silence = (inp.now - hb.as_of).total_seconds()
    limit = interval * float(inp.params["max_silence_intervals"])
    value = {"silence_s": round(silence, 1), "max_silence_s": limit, "agent_version": hb.payload.get("version")}
    tamper = hb.payload.get("tamper") or []
    if silence > limit:
        return failed(f"代理已 {silence:.0f} 秒未上报（上限 {limit:.0f} 秒）",
                      f"agent silent for {silence:.0f} s (limit {limit:.0f} s)", **value)
    if tamper:
        what = ", ".join(str(t) for t in tamper)
        return failed(f"代理报告被篡改：{what}", f"agent reports tampering: {what}", tamper=tamper, **value)
    return passed("代理正常上报", "agent reporting", **value)


class UsbDevice(TypedDict, total=False):
    vendor_id: str | None
    product_id: str | None
    classes: list[str | int]
    authorized: bool
    allowed: bool


@payload("usb.devices")
class UsbDevices(TypedDict, total=False):
    enforcement: str | None
    policy_ok: bool | None
    devices: list[UsbDevice]


@check("usb_storage_blocked", kinds=["usb.devices"], params={"block_classes": ["08", "06", "e0", "ff"]})
def usb_storage_blocked(inp: CheckInput) -> Verdict:
    """No storage-capable USB device is usable unless allow-listed, and enforcement is active."""
    obs = inp.require("usb.devices")
    p = obs.payload
    enforcement = p.get("enforcement", "none")
    blocked = {c.lower() for c in inp.params["block_classes"]}
    open_devices = [
        d for d in p.get("devices", [])
        if d.get("authorized", True) and not d.get("allowed", False)
        and blocked & {str(c).lower() for c in d.get("classes", [])}
    ]
    value = {"enforcement": enforcement, "devices": len(p.get("devices", [])), "usable_storage": len(open_devices)}
    if open_devices:
        names = ", ".join(f"{d.get('vendor_id')}:{d.get('product_id')}" for d in open_devices[:5])
        return failed(f"{len(open_devices)} 个 USB 存储类设备可用：{names}",
                      f"{len(open_devices)} storage-class USB device(s) usable: {names}", **value)
    if enforcement == "none" or p.get("policy_ok") is False:
        why = p.get("reason") or enforcement
        return failed(f"USB 封堵未生效（{why}）", f"USB blocking not enforced ({why})", **value)
    if enforcement == "sysfs" and p.get("new_devices_held") is False:
        # a new stick is usable until it is noticed and removed: a driver may bind and a desktop mount it
        return failed("新接入的 USB 设备先被授权、事后才移除（未先行封堵）",
                      "new USB devices are authorised on arrival and removed after (not blocked first)", **value)
    return passed("USB 存储已封堵", "USB storage blocked", **value)


class Eicar(TypedDict, total=False):
    detected: bool | None


@payload("antivirus.status")
class AntivirusStatus(TypedDict, total=False):
    product: str | None
    installed: bool | None
    running: bool | None
    eicar: Eicar | None
    signature_time: IsoTime | None
    signatures_up_to_date: bool | None
    databases: list[Any] | None
    scheduled_scan: bool | None
    last_scan: IsoTime | None


@check("antivirus_running", kinds=["antivirus.status"])
def antivirus_running(inp: CheckInput) -> Verdict:
    """An antivirus product is installed and its engine is running."""
    p = inp.require("antivirus.status").payload
    product = p.get("product") or "?"
    value = {"product": product, "installed": bool(p.get("installed")), "running": bool(p.get("running"))}
    if not p.get("installed"):
        return failed("未安装防病毒软件", "no antivirus installed", **value)
    if not p.get("running"):
        return failed(f"{product} 未运行", f"{product} is not running", **value)
    eicar = p.get("eicar") or {}
    if eicar and eicar.get("detected") is False:
        return failed(f"{product} 未检出 EICAR 测试文件", f"{product} did not detect the EICAR test file",
                      eicar=eicar, **value)
    return passed(f"{product} 运行中", f"{product} running", **value)


@check("antivirus_fresh", kinds=["antivirus.status"],
       params={"max_signature_age_days": 3, "max_scan_age_days": 7})
def antivirus_fresh(inp: CheckInput) -> Verdict:
    """Signatures are recent, a scheduled scan is configured and has run recently."""
    obs = inp.require("antivirus.status")
    p = obs.payload
    if not p.get("installed"):
        return failed("未安装防病毒软件", "no antivirus installed")
    sig = _ts(p.get("signature_time"))
    value: dict = {"scheduled_scan": bool(p.get("scheduled_scan"))}
    if sig is None and "signatures_up_to_date" in p:
        # Windows Security Center says only whether signatures are current, not their age
        age_zh, age_en = "病毒库为最新（Windows 安全中心）", "signatures up to date (Windows Security Center)"
        value["signatures_up_to_date"] = bool(p["signatures_up_to_date"])
        if not p["signatures_up_to_date"]:
            return failed("Windows 安全中心报告病毒库过期", "Windows Security Center reports signatures out of date",
                          **value)
    elif sig is None:
        if "databases" in p and not p["databases"]:
            return failed("未找到病毒库文件", "no signature database found")
        return unknown("无法读取病毒库时间", "signature time unreadable")
    else:
        age = (inp.now - sig).total_seconds() / 86400
        value["signature_age_days"] = round(age, 2)
        limit = float(inp.params["max_signature_age_days"])
        if age > limit:
            return failed(f"病毒库已 {age:.1f} 天未更新（上限 {limit:g} 天）",
                          f"signatures {age:.1f} days old (limit {limit:g} days)", **value)
        age_zh, age_en = f"病毒库 {age:.1f} 天", f"signatures {age:.1f} days old"
    if not p.get("scheduled_scan"):
        return failed("未配置定期扫描", "no scheduled scan configured", **value)
    last_scan = _ts(p.get("last_scan"))
    scan_limit = float(inp.params["max_scan_age_days"])
    if last_scan is not None:
        scan_age = (inp.now - last_scan).total_seconds() / 86400
        value["last_scan_age_days"] = round(scan_age, 2)
        if scan_age > scan_limit:
            return failed(f"上次扫描在 {scan_age:.1f} 天前（上限 {scan_limit:g} 天）",
                          f"last scan {scan_age:.1f} days ago (limit {scan_limit:g} days)", **value)
    return passed(f"{age_zh}，已配置定期扫描", f"{age_en}, scan scheduled", **value)


@payload("software.inventory")
class SoftwareInventory(TypedDict, total=False):
    names: list[str]  # installed packages
    allowlist: list[str]  # the site's allow-list as the host was given it: names, shell wildcards
    count: int | None
    packages: list[Any] | None
    allowlist_configured: bool  # older agents judged themselves: these two instead of names, allowlist
    unapproved: list[str]


def unapproved(names: Iterable[str], allow: list[str]) -> list[str]:
    """The names no allow-list entry matches (an exact name, or a shell wildcard such as 'lib*')."""
    exact = {a for a in allow if not any(c in a for c in "*?[")}
    patterns = [fnmatch.translate(a) for a in allow if a not in exact]
    # one alternation, not a match per pattern: a host may list tens of thousands of packages
    matches = re.compile("|".join(patterns)).match if patterns else lambda _: None
    return sorted(n for n in set(names) if n not in exact and not matches(n))


@check("software_allowed", kinds=["software.inventory"])
def software_allowed(inp: CheckInput) -> Verdict:
    """Only allow-listed software is installed."""
    p = inp.require("software.inventory").payload
    if "names" in p:
        allow = [str(a) for a in p.get("allowlist") or []]
        configured, bad = bool(allow), unapproved(p["names"], allow)
    else:  # an agent from before the check judged: it sent its own verdict
        configured, bad = p.get("allowlist_configured", True), list(p.get("unapproved", []))
    if not configured:
        return failed("未配置软件白名单", "no software allow-list configured")
    value = {"packages": p.get("count", len(p.get("packages", []))), "unapproved": bad[:50]}
    if bad:
        return failed(f"{len(bad)} 个未经批准的软件：{', '.join(bad[:5])}",
                      f"{len(bad)} unapproved package(s): {', '.join(bad[:5])}", **value)
    return passed("仅安装了白名单软件", "only allow-listed software installed", **value)


def interactive_users(identity: Observation) -> set[str]:
    """The people a host's identity names as signed in."""
    return set(identity.payload.get("interactive_users", []))


def _users_index(identities: list) -> dict[str, list[tuple[str, datetime]]]:
    """person -> [(host, when seen)] over every host's latest identity."""
    index: dict[str, list[tuple[str, datetime]]] = {}
    for o in identities:
        for u in interactive_users(o):
            index.setdefault(u, []).append((o.subject_id, o.as_of))
    return index


# another host's identity matters to this host's verdict only through a person signed in on both
@check("dedicated_terminal", kinds=["host.identity"], related=["host.identity"],
       params={"max_users": 1, "concurrent_window_s": 7200}, related_by={"host.identity": interactive_users})
def dedicated_terminal(inp: CheckInput) -> Verdict:
    """One collector per terminal: no two people share one computer, no account is on two terminals at once."""
    p = inp.require("host.identity").payload
    users = sorted(set(p.get("interactive_users", [])))
    limit = int(inp.params["max_users"])
    value: dict = {"interactive_users": users, "hostname": p.get("hostname")}
    if len(users) > limit:
        return failed(f"{len(users)} 个用户共用此终端：{', '.join(users)}",
                      f"{len(users)} people share this terminal: {', '.join(users)}", **value)
    window = float(inp.params["concurrent_window_s"])
    seen = inp.derived("host.identity:users", lambda: _users_index(inp.others("host.identity")))
    elsewhere = sorted(
        (u, host) for u in users for host, at in seen.get(u, ())
        if host != inp.subject_id and abs((inp.now - at).total_seconds()) <= window)
    if elsewhere:
        where = ", ".join(f"{u}@{h}" for u, h in elsewhere[:5])
        return failed(f"同一账号同时登录多台终端：{where}", f"the same account is on other terminals at once: {where}",
                      elsewhere=[f"{u}@{h}" for u, h in elsewhere], **value)
    return passed("终端专人专用", "terminal used by one person", **value)


@payload("host.hardening")
class HostHardening(TypedDict, total=False):
    checks: dict[str, Any]


@check("host_hardened", kinds=["host.hardening"])
def host_hardened(inp: CheckInput) -> Verdict:
    """Machines holding data files are hardened (screen lock, disk encryption, no guest login...)."""
    p = inp.require("host.hardening").payload
    items = p.get("checks", {})
    bad = sorted(k for k, ok in items.items() if not ok)
    if not items:
        return unknown("没有加固检查结果", "no hardening results")
    if bad:
        return failed("未满足：" + ", ".join(bad), "not hardened: " + ", ".join(bad), failing=bad)
    return passed("保密设置已生效", "hardening in place", checks=len(items))


@payload("backup.status")
class BackupStatus(TypedDict, total=False):
    last_success: IsoTime | None


@check("backups_fresh", kinds=["backup.status"], params={"max_backup_age_days": 1})
def backups_fresh(inp: CheckInput) -> Verdict:
    """A backup exists and its last successful run is recent."""
    p = inp.require("backup.status").payload
    last = _ts(p.get("last_success"))
    if last is None:
        return failed("没有成功的备份", "no successful backup")
    age = (inp.now - last).total_seconds() / 86400
    limit = float(inp.params["max_backup_age_days"])
    value = {"backup_age_days": round(age, 2), "target": p.get("target")}
    if age > limit:
        return failed(f"最近一次备份在 {age:.1f} 天前（上限 {limit:g} 天）",
                      f"last backup {age:.1f} days ago (limit {limit:g} days)", **value)
    return passed(f"最近一次备份在 {age:.1f} 天前", f"last backup {age:.1f} days ago", **value)


@payload("pii.scan")
class PiiScan(TypedDict, total=False):
    full: bool | None
    finished_at: IsoTime | None
    totals: dict[str, int]
    batches: dict[str, int]


@check("no_lingering_data", kinds=["pii.scan"], params={"max_scan_age_days": 7})
def no_lingering_data(inp: CheckInput) -> Verdict:
    """The host's last full scan found no bank identifiers (ID, phone, card numbers)."""
    obs = inp.require("pii.scan")
    p = obs.payload
    totals = p.get("totals", {})
    hits = sum(int(v) for v in totals.values())
    value = {"totals": totals, "files_with_hits": p.get("files_with_hits", 0), "full": p.get("full", False)}
    if hits:
        return failed(f"发现残留银行数据：{hits} 处", f"lingering bank data found: {hits} match(es)", **value)
    return passed("未发现残留银行数据", "no lingering bank data", **value)


def _gap_text(g: dict) -> tuple[str, str]:
    span = f"seq {g['from']}–{g['to']}" if g["from"] != g["to"] else f"seq {g['from']}"
    return (f"{span}（{g['missing']} 条，{g['after']} 至 {g['before']} 之间）",
            f"{span} ({g['missing']} observation(s) between {g['after']} and {g['before']})")


@check("agent_sequence_complete", kinds=["agent.sequence"], params={"gap_hold_days": 7})
def agent_sequence_complete(inp: CheckInput) -> Verdict:
    """Every observation the agent numbered reached the collector: no lost or suppressed data.

    A gap fails the host for `gap_hold_days` after the data around it was observed; a restart of
    the numbering (agent state wiped) starts a new epoch and is not a gap by itself."""
    p = inp.require("agent.sequence").payload
    hold_s = float(inp.params["gap_hold_days"]) * 86400
    recent = [g for g in p.get("gaps", []) if (inp.now - datetime.fromisoformat(g["before"])).total_seconds() <= hold_s]
    value = {"gaps_total": p.get("gaps_total", 0), "missing_total": p.get("missing_total", 0),
             "restarts": len(p.get("restarts", [])), "gaps": recent[:10]}
    if recent:
        zh, en = zip(*(_gap_text(g) for g in recent[:3]), strict=True)
        missing = sum(int(g["missing"]) for g in recent)
        return failed(f"代理上报数据缺失 {missing} 条（数据丢失或被删除）：" + "；".join(zh),
                      f"{missing} agent observation(s) never arrived (lost or suppressed): " + "; ".join(en),
                      **value)
    older = f"（另有 {value['gaps_total']} 处较早缺失）" if value["gaps_total"] else ""
    older_en = f" ({value['gaps_total']} older gap(s))" if value["gaps_total"] else ""
    return passed("代理上报数据完整" + older, "agent observations complete" + older_en, **value)
