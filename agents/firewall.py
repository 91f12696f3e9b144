"""Firewall rules as evidence: which of given destination ports the egress path drops or rejects.

Read structurally: `nft -j list ruleset` (libnftables JSON) first, `iptables-save` as the fallback.
Both parsers flatten the egress path (output, forward and postrouting hooks, jumps followed in
place) into `PortRule`s in evaluation order; one function here decides each port from them, so a
number that merely appears in a rule (a counter, an address, a comment) never counts as a port.
"""
from __future__ import annotations

from agents.env import Env
from agents.firewall_rules import PortRule, blocked_ports


def _evidence(tool: str, total: int, rules: list[PortRule], policy_drop: bool, ports: tuple[int, ...]) -> dict:
    named = [r for r in rules if r.applies_to("tcp") and any(r.ports.covers(p) for p in ports)]
    blocked = blocked_ports(rules, ports)
    return {"tool": tool, "rules": total, "port_rules": [r.text for r in named][:50],
            "blocked_ports": blocked, "blocks_ports": bool(ports) and len(blocked) == len(set(ports)),
            "output_policy_drop": policy_drop}


def firewall_evidence(env: Env, ports: tuple[int, ...]) -> dict:
    """Which tool answered, how many rules, the egress rules naming `ports`, and which ports they block."""
    from agents.firewall_iptables import parse_iptables_save
    from agents.firewall_nft import NftFormatError, parse_nft_json

    problems = []
    res = env.run(["nft", "-j", "list", "ruleset"], 5.0)
    if res.returncode == 0:
        try:
            return _evidence("nft", *parse_nft_json(res.stdout), ports)
        except NftFormatError as e:
            problems.append(f"nft -j: {e}")
    res = env.run(["iptables-save"], 5.0)
    if res.returncode == 0:
        return _evidence("iptables", *parse_iptables_save(res.stdout), ports)
    problems.append("neither nft nor iptables-save is available or permitted")
    return {"tool": None, "reason": "; ".join(problems)}
