"""Probes: each module has `gather(env) -> list[AgentObservation]` and knows nothing of controls.

A probe that cannot run still returns an observation saying why (the `probe_error` field), so
the control it feeds is judged `unknown` or `fail`, never silently absent.
"""
from __future__ import annotations

import importlib
import logging
import sys
import time
from collections.abc import Callable
from importlib.metadata import entry_points

from agents.env import Env
from agents.observation import AgentObservation

log = logging.getLogger(__name__)

Probe = Callable[[Env], list[AgentObservation]]
# a probe module may say where it applies with PLATFORMS (sys.platform values); the default is Linux
BUILTIN_PROBES = ("identity", "usb", "antivirus", "mail", "internet", "software", "hardening", "osquery")
LINUX = ("linux",)
# what a probe reports when it crashes: the kind and a payload the checks judge as not proven
FAILSAFE: dict[str, tuple[str, dict]] = {
    "identity": ("host.identity", {"interactive_users": []}),
    "usb": ("usb.devices", {"enforcement": "none", "policy_ok": False, "devices": []}),
    "antivirus": ("antivirus.status", {"product": None, "installed": False, "running": False}),
    "mail": ("mail.egress", {"attempts": [], "connections": [], "mail_clients": [], "listening_mta": []}),
    "internet": ("internet.egress", {"canary": None}),
    "software": ("software.inventory", {"count": 0, "names": [], "allowlist": []}),
    "hardening": ("host.hardening", {"checks": {}}),
}


def load_probes() -> dict[str, Probe]:
    """The built-in probes and any registered through the `clausewatch.probes` entry-point group."""
    probes: dict[str, Probe] = {}
    for name in BUILTIN_PROBES:
        probes[name] = importlib.import_module(f"agents.probes.{name}").gather
    for ep in entry_points(group="clausewatch.probes"):
        probes[ep.name] = ep.load()
    return probes


def platforms_of(gather: Probe) -> tuple[str, ...]:
    """Where a probe applies: its module's PLATFORMS, Linux when it does not say."""
    return tuple(getattr(sys.modules.get(gather.__module__), "PLATFORMS", LINUX))


def run_probes(env: Env, probes: dict[str, Probe] | None = None) -> list[AgentObservation]:
    """Run every probe; a crashing probe yields its fail-safe observation with the error."""
    out: list[AgentObservation] = []
    for name, gather in (probes or load_probes()).items():
        if env.platform not in platforms_of(gather):
            continue
        started = time.perf_counter()
        try:
            out.extend(gather(env))
        except Exception as e:  # a probe bug must not silence the other probes
            log.exception("probe %s failed", name)
            kind, payload = FAILSAFE.get(name, (f"probe.{name}", {}))
            out.append(env.observe(kind, {**payload, "probe_error": f"{type(e).__name__}: {e}"}))
        log.debug("probe %s took %.0f ms", name, (time.perf_counter() - started) * 1000)
    return out
