"""Windows and macOS terminals through osquery: the same observation kinds as the Linux probes."""
from __future__ import annotations

from agents import AGENT_VERSION, osquery
from agents.env import Env
from agents.netconn import connect_attempt
from agents.observation import AgentObservation
from agents.probes import FAILSAFE
from agents.probes.software import inventory_payload, load_allowlist

PLATFORMS = ("win32", "darwin")
KINDS = ("identity", "usb", "antivirus", "mail", "software")


def unavailable(env: Env, why: str) -> list[AgentObservation]:
    """osquery cannot answer: each control still gets an observation saying why."""
    return [env.observe(FAILSAFE[k][0], {**FAILSAFE[k][1], "probe_error": why}) for k in KINDS]


def gather(env: Env) -> list[AgentObservation]:
    if not env.config.osquery:
        return unavailable(env, "osquery is switched off in the agent config")
    if not env.which("osqueryi"):
        return unavailable(env, "osqueryi not found: install osquery on this terminal")
    try:
        return _gather(env)
    except osquery.OsqueryError as e:
        return unavailable(env, str(e))


def _gather(env: Env) -> list[AgentObservation]:
    programs = osquery.query(env, "programs")
    names = {p["name"]: p.get("version", "") for p in programs if p.get("name")}
    allow = load_allowlist(env.config.software.allowlist, env.config.software.allowlist_file)
    attempts = [connect_attempt(c.host, c.port, env.config.mail.timeout_s) for c in env.config.mail.canaries]
    identity = osquery.identity_payload(osquery.query(env, "identity"), osquery.query(env, "logged_in_users"))
    windows = env.platform == "win32"
    usb = (osquery.usb_payload(osquery.query(env, "windows_usbstor")) if windows else
           {"enforcement": "none", "policy_ok": False, "devices": [], "reason": "no USB enforcement on this platform"})
    av = (osquery.antivirus_payload(osquery.query(env, "windows_security_products"),
                                    osquery.query(env, "windows_defender_scan_tasks")) if windows else
          {"product": None, "installed": False, "running": False, "reason": "antivirus not read on this platform"})
    return [
        env.observe("host.identity", {**identity, "agent_version": AGENT_VERSION, "host_id": env.host_id}),
        env.observe("usb.devices", usb),
        env.observe("antivirus.status", av),
        env.observe("mail.egress", osquery.mail_payload(osquery.query(env, "mail_sockets"), programs, attempts)),
        env.observe("software.inventory", inventory_payload("osquery", list(names), allow)),
    ]
