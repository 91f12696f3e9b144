"""Installed packages (dpkg, rpm), reported with the site's allow-list; the catalog's check judges them."""
from __future__ import annotations

import json
from pathlib import Path

from agents.env import Env
from agents.observation import AgentObservation

DPKG_FORMAT = "${Package}\t${Version}\t${db:Status-Abbrev}\n"


def installed_packages(env: Env) -> tuple[str, dict[str, str]] | None:
    """(manager, {name: version}) from dpkg-query or rpm, None when neither is there."""
    res = env.run(["dpkg-query", "-W", "-f", DPKG_FORMAT], 60.0)
    if res.returncode == 0:
        pkgs = {}
        for line in res.stdout.splitlines():
            parts = line.split("\t")
            if len(parts) == 3 and parts[2].startswith("ii"):
                pkgs[parts[0]] = parts[1]
        return "dpkg", pkgs
    res = env.run(["rpm", "-qa", "--qf", "%{NAME}\t%{VERSION}-%{RELEASE}\n"], 60.0)
    if res.returncode == 0:
        return "rpm", dict(line.split("\t", 1) for line in res.stdout.splitlines() if "\t" in line)
    return None


def load_allowlist(names: list[str], file: Path | None) -> list[str]:
    """Patterns from the config and from a file (one a line, '#' comments); shell wildcards allowed."""
    out = [n.strip() for n in names if n.strip()]
    if file is not None:
        for line in file.read_text(encoding="utf-8").splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                out.append(line)
    return out


def changes(before: dict[str, str], after: dict[str, str]) -> dict[str, list]:
    return {"added": [{"name": n, "version": after[n]} for n in sorted(after.keys() - before.keys())],
            "removed": [{"name": n, "version": before[n]} for n in sorted(before.keys() - after.keys())],
            "changed": [{"name": n, "from": before[n], "to": after[n]} for n in sorted(after.keys() & before.keys())
                        if before[n] != after[n]]}


def remember(env: Env, packages: dict[str, str]) -> dict[str, str] | None:
    """The inventory of the last round (None on the first), and keep this one for the next."""
    if env.state_dir is None:
        return None
    path = env.state_dir / "software-inventory.json"
    try:
        before = json.loads(path.read_text())
    except (OSError, ValueError):
        before = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(packages))
        tmp.replace(path)
    except OSError:
        pass  # no memory: changes are still visible in the inventory counts
    return before


def inventory_payload(manager: str, names: list[str], allow: list[str]) -> dict:
    """What is installed and the allow-list this host was given: software_allowed compares the two."""
    return {"manager": manager, "count": len(names), "names": sorted(names), "allowlist": allow}


def gather(env: Env) -> list[AgentObservation]:
    cfg = env.config.software
    found = installed_packages(env)
    allow = load_allowlist(cfg.allowlist, cfg.allowlist_file)
    if found is None:
        return [env.observe("software.inventory", {**inventory_payload("", [], allow),
                                                   "probe_error": "neither dpkg-query nor rpm is available"})]
    manager, packages = found
    payload = inventory_payload(manager, list(packages), allow)
    if cfg.include_packages:
        payload["packages"] = [{"name": n, "version": v} for n, v in sorted(packages.items())]
    out = [env.observe("software.inventory", payload)]
    before = remember(env, packages)
    diff = changes(before, packages) if before is not None else None
    if diff and any(diff.values()):
        out.append(env.observe("software.change", {"manager": manager, **diff}))
    return out
