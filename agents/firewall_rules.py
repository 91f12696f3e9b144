"""The egress path's port rules, as both firewall readers give them: what a rule matches and its verdict."""
from __future__ import annotations

from dataclasses import dataclass

EGRESS_HOOKS = ("output", "forward", "postrouting")


@dataclass(frozen=True)
class PortSpan:
    """Destination ports a rule matches: values and inclusive ranges, or everything else when negated."""

    ranges: tuple[tuple[int, int], ...]
    negated: bool = False

    def covers(self, port: int) -> bool:
        inside = any(lo <= port <= hi for lo, hi in self.ranges)
        return inside != self.negated


@dataclass(frozen=True)
class PortRule:
    """One rule on the egress path that matches destination ports, with its verdict for them.

    `conditional` rules also match on something else (an address, an interface, a state): they
    neither prove a port blocked nor let it through for everyone.
    """

    text: str
    verdict: str  # drop | reject | accept
    ports: PortSpan
    conditional: bool = False
    protocol: str = "th"  # tcp, udp, ... or th / all: any transport protocol

    def applies_to(self, protocol: str) -> bool:
        return self.protocol in (protocol, "th", "all")


def blocked_ports(rules: list[PortRule], ports: tuple[int, ...], protocol: str = "tcp") -> list[int]:
    """Ports whose first unconditional matching rule for `protocol` drops or rejects."""
    out = []
    for port in ports:
        for rule in rules:
            if rule.conditional or not rule.applies_to(protocol) or not rule.ports.covers(port):
                continue
            if rule.verdict in ("drop", "reject"):
                out.append(port)
            break
    return sorted(out)
