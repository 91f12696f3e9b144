"""Internet isolation: egress canary attempt, default route, DNS of a public name, proxy settings."""
from __future__ import annotations

import os
from pathlib import Path

from agents.env import Env
from agents.netconn import connect_attempt
from agents.observation import AgentObservation

PLATFORMS = ("linux", "win32", "darwin")  # canary and proxy work everywhere; route and DNS are Linux-only
PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")


def default_route(proc: Path) -> str | None:
    """The interface of an IPv4 default route in /proc/net/route, or None."""
    try:
        lines = (proc / "net" / "route").read_text().splitlines()[1:]
    except OSError:
        return None
    for line in lines:
        f = line.split()
        if len(f) > 7 and f[1] == "00000000" and f[7] == "00000000":
            return f[0]
    return None


def proxy_settings(env: Env) -> dict[str, str]:
    found = {k: v for k, v in os.environ.items() if k in PROXY_VARS}
    try:
        for line in env.path("/etc/environment").read_text().splitlines():
            k, _, v = line.partition("=")
            if k.strip() in PROXY_VARS:
                found[k.strip()] = v.strip().strip('"')
    except OSError:
        pass
    return found


def gather(env: Env) -> list[AgentObservation]:
    cfg = env.config.internet
    dns = env.run(["getent", "ahosts", cfg.dns_name], cfg.timeout_s + 1)
    payload: dict = {
        "canary": connect_attempt(cfg.canary.host, cfg.canary.port, cfg.timeout_s) if cfg.canary else None,
        "default_route": default_route(env.proc), "dns_name": cfg.dns_name,
        "dns_resolves": dns.returncode == 0 and bool(dns.stdout.strip()),
        "proxy": proxy_settings(env) or None,
    }
    if cfg.canary is None:
        payload["reason"] = "no egress canary configured ([internet] canary): internet access not tested"
    return [env.observe("internet.egress", payload)]
