"""Firewall rules as evidence: `nft list ruleset` or `iptables-save`, and the lines about given ports."""
from __future__ import annotations

import re

from agents.env import Env


def _mentions_port(line: str, ports: tuple[int, ...]) -> bool:
    nums = {int(n) for n in re.findall(r"(?<![\d.])(\d{2,5})(?![\d.])", line)}
    return bool(nums & set(ports))


def firewall_evidence(env: Env, ports: tuple[int, ...]) -> dict:
    """Which tool answered, how many rules, the rules naming `ports`, and whether they drop or reject."""
    for argv, tool in ((["nft", "list", "ruleset"], "nft"), (["iptables-save"], "iptables")):
        res = env.run(argv, 5.0)
        if res.returncode != 0:
            continue
        lines = [ln.strip() for ln in res.stdout.splitlines() if ln.strip()]
        rules = [ln for ln in lines if (tool == "iptables" and ln.startswith("-A ")) or
                 (tool == "nft" and not ln.startswith(("table", "chain", "}", "type ", "policy")))]
        named = [ln for ln in rules if _mentions_port(ln, ports)]
        policies = [ln for ln in lines if "policy drop" in ln or ln.startswith(":OUTPUT DROP")]
        return {"tool": tool, "rules": len(rules), "port_rules": named[:50],
                "blocks_ports": any(w in ln.lower() for ln in named for w in ("drop", "reject")),
                "output_policy_drop": bool(policies)}
    return {"tool": None, "reason": "neither nft nor iptables-save is available or permitted"}
