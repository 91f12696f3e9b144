"""Simulated terminals: what their agents would report, with a few realistic violations."""
from __future__ import annotations

from datetime import datetime, timedelta

from collector.simulate.site import SimSite, source
from rules.model import Observation

KEYBOARD = {"vendor_id": "046d", "product_id": "c31c", "serial": "", "classes": ["03"], "authorized": True,
            "allowed": False, "name": "Logitech USB Keyboard"}
STICK = {"vendor_id": "0781", "product_id": "5567", "serial": "4C530001230810117421", "classes": ["08"],
         "name": "SanDisk Cruzer Blade"}


def _violations(site: SimSite) -> dict[str, str]:
    """Which terminal suffers which problem (stable for a given number of terminals)."""
    h = site.hosts
    pick = {name: h[(i * 7 + 3) % len(h)] for i, name in enumerate(
        ["usb", "av_stale", "mail", "shared", "silent", "software", "internet"])}
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
        "hostname": f"cs-{host.lower()}", "os": "Debian GNU/Linux 12", "addresses": [f"10.20.1.{int(host[1:])}"],
        "interactive_users": users, "agent_version": "0.1.0"}, source=src))
    devices = [KEYBOARD]
    if problem == "usb" and 5 < d < 9:
        devices = [KEYBOARD, {**STICK, "authorized": True, "allowed": False}]
    elif r.random() < 0.05:
        devices = [KEYBOARD, {**STICK, "authorized": False, "allowed": False}]
    out.append(site.obs(t, "host", host, "usb.devices", {"enforcement": "sysfs", "policy_ok": True,
                                                         "devices": devices}, source=src))
    sig_age_days = 0.4 + (d % 1.0)
    if problem == "av_stale" and d > 12:
        sig_age_days = d - 12 + 0.5
    out.append(site.obs(t, "host", host, "antivirus.status", {
        "product": "ClamAV", "installed": True, "running": True,
        "signature_time": (t - timedelta(days=sig_age_days)).isoformat(),
        "scheduled_scan": True, "last_scan": (t - timedelta(hours=(d * 24) % 24)).isoformat(),
        "eicar": {"detected": True, "latency_ms": round(120 + r.random() * 80, 1)}}, source=src))
    reached = problem == "mail" and 15 < d < 17
    out.append(site.obs(t, "host", host, "mail.egress", {
        "attempts": [{"target": "10.20.9.25", "port": 25, "result": "connected" if reached else "timeout"},
                     {"target": "10.20.9.25", "port": 587, "result": "refused"}],
        "connections": [], "mail_clients": [], "listening_mta": []}, source=src))
    out.append(site.obs(t, "host", host, "internet.egress", {
        "canary": {"target": "10.20.9.80", "port": 443,
                   "result": "connected" if problem == "internet" and 20 < d < 21 else "timeout"},
        "default_route": False, "dns_resolves": False, "proxy": None}, source=src))
    unapproved = ["anydesk"] if problem == "software" and d > 27 else []
    out.append(site.obs(t, "host", host, "software.inventory", {
        "count": 1432, "allowlist_configured": True, "unapproved": unapproved}, source=src))
    out.append(site.obs(t, "host", host, "host.hardening", {"checks": {
        "screen_lock_600s": True, "disk_encrypted": True, "guest_disabled": True}}, source=src))
    return out


@source("hosts")
def hosts(site: SimSite, t: datetime) -> list[Observation]:
    problems = _violations(site)
    out: list[Observation] = []
    for host in site.hosts:
        out.extend(host_snapshot(site, host, t, problems.get(host)))
    return out
