"""Simulated terminals: what their agents would report, with a few realistic violations."""
from __future__ import annotations

from datetime import datetime, timedelta

from collector.demo.site import SimSite
from rules.model import Observation

KEYBOARD = {"vendor_id": "046d", "product_id": "c31c", "serial": "", "classes": ["03"], "authorized": True,
            "allowed": False, "name": "Logitech USB Keyboard"}
CANARY = "10.20.9.25"  # the DMZ host running `clausewatch canary` on 25, 587 and 443
STICK = {"vendor_id": "0781", "product_id": "5567", "serial": "4C530001230810117421", "classes": ["08"],
         "name": "SanDisk Cruzer Blade"}


def _violations(site: SimSite) -> dict[str, str]:
    """Which terminal suffers which problem (stable for a given number of terminals)."""
    h = site.hosts
    pick = {name: h[(i * 7 + 3) % len(h)] for i, name in enumerate(
        ["usb", "av_stale", "mail", "shared", "silent", "software", "internet", "gap"])}
    return {v: k for k, v in pick.items()}


def host_snapshot(site: SimSite, host: str, t: datetime, problem: str | None) -> list[Observation]:
    d = site.day(t)
    r = site.rng(host, t.isoformat())
    src = f"agent:{host}"
    if problem == "silent" and d > 24:
        return []  # the agent was stopped on day 24: its findings must go unknown
    out = [site.obs(t, "host", host, "agent.heartbeat", {"version": "0.1.0", "interval_s": 3600, "tamper": []},
                    source=src)]
    users = [f"collector{host[1:]}"]
    if problem == "shared" and 10 < d < 20:
        users.append("collector" + f"{(int(host[1:]) % 20) + 1:03d}")
    out.append(site.obs(t, "host", host, "host.identity", {
        "hostname": f"cs-{host.lower()}", "os": "Debian GNU/Linux 12", "addresses": [_address(host)],
        "interactive_users": users, "agent_version": "0.1.0"}, source=src))
    devices = [KEYBOARD]
    if problem == "usb" and 5 < d < 9:
        devices = [KEYBOARD, {**STICK, "authorized": True, "allowed": False}]
    elif r.random() < 0.05:
        # someone plugged a stick in: the agent deauthorised it within milliseconds and said so
        devices = [KEYBOARD, {**STICK, "authorized": False, "allowed": False}]
        at = t - timedelta(minutes=r.randint(1, 50))
        out.append(site.obs(at, "host", host, "usb.block", {
            **{k: STICK[k] for k in ("vendor_id", "product_id", "serial", "name", "classes")}, "port": "1-2",
            "authorized": False, "action": "deauthorized", "at": at.isoformat(),
            "latency_ms": round(1 + r.random() * 4, 2), "error": None}, source=src, key=f"1-2@{at.isoformat()}"))
    out.append(site.obs(t, "host", host, "usb.devices", {
        "enforcement": "sysfs", "policy_ok": True, "reason": f"{len(devices)} device(s) checked",
        "block_classes": ["06", "08", "e0", "ff"], "allowlist": [], "devices": devices}, source=src))
    sig_age_days = 0.4 + (d % 1.0)
    if problem == "av_stale" and d > 12:
        sig_age_days = d - 12 + 0.5
    out.append(site.obs(t, "host", host, "antivirus.status", {
        "product": "ClamAV", "installed": True, "running": True,
        "signature_time": (t - timedelta(days=sig_age_days)).isoformat(),
        "scheduled_scan": True, "last_scan": (t - timedelta(hours=(d * 24) % 24)).isoformat(),
        "clamd_answers": True, "update_service": "clamav-freshclam.service enabled",
        "scan_schedule": ["/etc/systemd/system/clamscan-daily.service"],
        "eicar": {"detected": True, "engine": "clamd", "latency_ms": round(120 + r.random() * 80, 1)}}, source=src))
    reached = problem == "mail" and 15 < d < 17
    out.append(site.obs(t, "host", host, "mail.egress", {
        "attempts": [{"target": CANARY, "port": 25, "result": "connected" if reached else "timeout",
                      "elapsed_ms": round(3 + r.random() * 5, 1) if reached else 2000.0, "timeout_s": 2.0},
                     {"target": CANARY, "port": 587, "result": "refused", "elapsed_ms": round(r.random(), 2),
                      "timeout_s": 2.0}],
        "connections": [], "mail_clients": [], "listening_mta": [],
        "firewall": {"tool": "nft", "rules": 14,
                     "port_rules": ["inet filter output: tcp dport { 25, 465, 587, 2525 } reject"],
                     "blocked_ports": [] if reached else [25, 465, 587, 2525],
                     "blocks_ports": not reached, "output_policy_drop": True}}, source=src))
    out.append(site.obs(t, "host", host, "internet.egress", {
        "canary": {"target": CANARY, "port": 443,
                   "result": "connected" if problem == "internet" and 20 < d < 21 else "timeout"},
        "default_route": False, "dns_resolves": False, "proxy": None}, source=src))
    unapproved = ["anydesk"] if problem == "software" and d > 27 else []
    out.append(site.obs(t, "host", host, "software.inventory", {
        "count": 1432, "allowlist_configured": True, "unapproved": unapproved}, source=src))
    out.append(site.obs(t, "host", host, "host.hardening", {"checks": {
        "screen_lock_600s": True, "disk_encrypted": True, "guest_disabled": True}}, source=src))
    return out


def hosts(site: SimSite, t: datetime) -> list[Observation]:
    problems = _violations(site)
    out: list[Observation] = []
    for host in site.hosts:
        problem = problems.get(host)
        out.extend(numbered(site, host, host_snapshot(site, host, t, problem),
                            lost=40 if problem == "gap" and site.day(t - site.step) < 12 <= site.day(t) else 0))
    return out


def numbered(site: SimSite, host: str, observations: list[Observation], lost: int = 0) -> list[Observation]:
    """Number what the host's agent sends (seq, as its spool does); `lost` numbers never arrive."""
    n = site.agent_seq.get(host, 0) + lost
    for o in observations:
        o.seq = n
        n += 1
    site.agent_seq[host] = n
    return observations


def _address(host: str) -> str:
    return f"10.20.1.{int(host[1:])}"


def canary(site: SimSite, t: datetime) -> list[Observation]:
    """The DMZ canary's status: hits of the last day from the terminals that got through."""
    problems = {v: k for k, v in _violations(site).items()}
    d = site.day(t)
    windows = [("mail", 25, 15, 17), ("internet", 443, 20, 21)]  # mirrors host_snapshot's violation days
    hits = []
    for problem, port, start, end in windows:
        host = problems.get(problem)
        last = min(d, end)
        if host is None or d <= start or d - last > 1:
            continue
        at = site.start + timedelta(days=last)
        hits.append({"listen": f"{CANARY}:{port}", "port": port, "source_address": _address(host),
                     "source_port": 40000 + int(host[1:]), "at": at.isoformat()})
    return [site.obs(t, "canary", "dmz-canary", "canary.status", {
        "listening": [f"{CANARY}:25", f"{CANARY}:587", f"{CANARY}:443"], "interval_s": 60, "window_s": 86400,
        "hit_count": len(hits), "sources": sorted({h["source_address"] for h in hits}), "hits": hits},
        source="canary:dmz-canary")]
