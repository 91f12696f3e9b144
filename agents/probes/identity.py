"""Who and what this host is: host id, name, OS, addresses, the people logged in."""
from __future__ import annotations

import json
import socket

from agents import AGENT_VERSION
from agents.env import Env
from agents.observation import AgentObservation


def os_name(env: Env) -> str:
    try:
        text = env.path("/etc/os-release").read_text()
    except OSError:
        return "unknown"
    fields = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    return fields.get("PRETTY_NAME", fields.get("NAME", "unknown")).strip().strip('"')


def addresses(env: Env) -> list[str]:
    """Global and site-local addresses (`ip -j addr`), loopback and link-local left out."""
    res = env.run(["ip", "-j", "addr", "show"], 5.0)
    if res.returncode != 0:
        return []
    out = []
    for link in json.loads(res.stdout or "[]"):
        for a in link.get("addr_info", []):
            if a.get("scope") == "global":
                out.append(a.get("local"))
    return [a for a in out if a]


def logged_in_users(env: Env) -> list[str]:
    """Distinct user names from `who` (utmp): one line per session, the name first."""
    res = env.run(["who"], 5.0)
    if res.returncode != 0:
        return []
    return sorted({line.split()[0] for line in res.stdout.splitlines() if line.strip()})


def hostname(env: Env) -> str:
    if str(env.root) == "/":
        return socket.gethostname()
    try:
        return env.path("/etc/hostname").read_text().strip() or "unknown"
    except OSError:
        return "unknown"


def gather(env: Env) -> list[AgentObservation]:
    users = logged_in_users(env)
    payload = {"hostname": hostname(env), "os": os_name(env), "addresses": addresses(env), "interactive_users": users,
               "agent_version": AGENT_VERSION, "host_id": env.host_id}
    return [env.observe("host.identity", payload)]
