"""`nft -j list ruleset` (libnftables JSON schema) flattened into the egress path's port rules."""
from __future__ import annotations

import dataclasses
import json
import socket
from collections.abc import Iterator
from typing import Any

from agents.firewall_rules import EGRESS_HOOKS, PortRule, PortSpan

ChainKey = tuple[str, str, str]  # family, table, chain
VERDICTS = ("drop", "reject", "accept")
# statements that neither narrow a match nor decide: a rule carrying them still applies to every packet
NEUTRAL = ("counter", "log", "comment", "notrack", "meta_set")
# protocol selectors (`meta l4proto tcp`, `ip protocol tcp`) do not narrow who the port rule covers
PROTOCOL_KEYS = (("meta", "key", "l4proto"), ("meta", "key", "nfproto"), ("payload", "field", "protocol"),
                 ("payload", "field", "nexthdr"))
_OPS_RANGE = {"<": lambda n: (0, n - 1), "<=": lambda n: (0, n), ">": lambda n: (n + 1, 65535),
              ">=": lambda n: (n, 65535)}


class NftFormatError(ValueError):
    """The output is not a libnftables JSON ruleset."""


def _port(value: Any) -> int:
    if isinstance(value, bool):
        raise NftFormatError(f"port {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            try:
                return socket.getservbyname(value)
            except OSError:
                raise NftFormatError(f"unknown service {value!r}") from None
    raise NftFormatError(f"port {value!r}")


class _Ruleset:
    def __init__(self, objects: list[dict]):
        self.chains: dict[ChainKey, dict] = {}
        self.rules: dict[ChainKey, list[dict]] = {}
        self.sets: dict[ChainKey, list[Any]] = {}
        self.total = 0
        for obj in objects:
            if not isinstance(obj, dict):
                raise NftFormatError("an entry of 'nftables' is not an object")
            kind, body = next(iter(obj.items()), ("", None))
            if not isinstance(body, dict) or kind not in ("chain", "rule", "set", "map"):
                continue
            key = (str(body.get("family")), str(body.get("table")), str(body.get("chain" if kind == "rule"
                                                                               else "name")))
            if kind == "chain":
                self.chains[key] = body
            elif kind == "rule":
                self.total += 1
                self.rules.setdefault(key, []).append(body)
            else:
                self.sets[key] = body.get("elem") or []

    def egress_chains(self) -> list[ChainKey]:
        base = [(k, c) for k, c in self.chains.items() if c.get("hook") in EGRESS_HOOKS]
        base.sort(key=lambda kc: (EGRESS_HOOKS.index(kc[1]["hook"]), kc[1].get("prio", 0)))
        return [k for k, _ in base]

    def span(self, chain: ChainKey, right: Any, op: str) -> PortSpan:
        if isinstance(right, str) and right.startswith("@"):
            right = {"set": self.sets.get((chain[0], chain[1], right[1:]), [])}
        if op in _OPS_RANGE:
            return PortSpan((_OPS_RANGE[op](_port(right)),))
        return PortSpan(tuple(self._ranges(right)), negated=op == "!=")

    def _ranges(self, value: Any) -> Iterator[tuple[int, int]]:
        if isinstance(value, dict) and "set" in value:
            value = value["set"]
        if isinstance(value, list):
            for v in value:
                yield from self._ranges(v)
        elif isinstance(value, dict) and "range" in value:
            lo, hi = value["range"]
            yield _port(lo), _port(hi)
        elif isinstance(value, dict) and "elem" in value:
            yield from self._ranges(value["elem"].get("val"))
        else:
            yield _port(value), _port(value)


def _is_dport(left: Any) -> bool:
    payload = left.get("payload") if isinstance(left, dict) else None
    return isinstance(payload, dict) and payload.get("field") == "dport"


def _is_protocol(left: Any) -> bool:
    return isinstance(left, dict) and any(isinstance(left.get(k), dict) and left[k].get(f) == v
                                          for k, f, v in PROTOCOL_KEYS)


def _rule_port_rules(rs: _Ruleset, chain: ChainKey, rule: dict) -> list[PortRule]:
    spans, verdict, conditional, protocol = [], None, False, "th"
    for stmt in rule.get("expr") or []:
        name, body = next(iter(stmt.items()), ("", None)) if isinstance(stmt, dict) else ("", None)
        if name == "match" and isinstance(body, dict) and _is_dport(body.get("left")):
            spans.append(rs.span(chain, body.get("right"), str(body.get("op", "=="))))
            protocol = body["left"]["payload"].get("protocol", protocol)
        elif name == "match" and isinstance(body, dict) and _is_protocol(body.get("left")):
            continue
        elif name == "vmap" and isinstance(body, dict) and _is_dport(body.get("key")):
            proto = body["key"]["payload"].get("protocol", protocol)
            return [PortRule(f"{' '.join(chain)}: {proto} dport {port} {v}", v, PortSpan(((port, port),)),
                             conditional, proto) for port, v in _vmap_entries(rs, chain, body)]
        elif name in VERDICTS:
            verdict = name
        elif name not in NEUTRAL:
            conditional = True
    if not spans or verdict is None:
        return []
    # two dport matches in one rule cover only their intersection: counted as conditional, not as proof
    conditional = conditional or len(spans) > 1
    text = f"{' '.join(chain)}: {protocol} dport {_span_text(spans[0])} {verdict}"
    return [PortRule(text + (" (with conditions)" if conditional else ""), verdict, spans[0], conditional, protocol)]


def _vmap_entries(rs: _Ruleset, chain: ChainKey, body: dict) -> Iterator[tuple[int, str]]:
    """(port, verdict) of an anonymous verdict map or a named one (`vmap @name`)."""
    data = body.get("data")
    if isinstance(data, str) and data.startswith("@"):
        entries = rs.sets.get((chain[0], chain[1], data[1:]), [])
    else:
        entries = (data.get("set") if isinstance(data, dict) else None) or []
    for entry in entries:
        if isinstance(entry, list) and len(entry) == 2 and isinstance(entry[1], dict):
            verdict = next((v for v in VERDICTS if v in entry[1]), None)
            if verdict is not None:
                yield _port(entry[0]), verdict


def _span_text(span: PortSpan) -> str:
    parts = [str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in span.ranges]
    text = parts[0] if len(parts) == 1 else "{ " + ", ".join(parts) + " }"
    return ("!= " if span.negated else "") + text


def _flatten(rs: _Ruleset, chain: ChainKey, seen: frozenset[ChainKey], conditional: bool = False
             ) -> Iterator[PortRule]:
    """Rules of `chain` in order, a jumped-to chain's in place (conditional when the jump matches anything)."""
    if chain in seen:
        return
    for rule in rs.rules.get(chain, []):
        stmts = [s for s in rule.get("expr") or [] if isinstance(s, dict)]
        narrowed = conditional or any("match" in s for s in stmts)
        for stmt in stmts:
            jump = stmt.get("jump") or stmt.get("goto")
            if isinstance(jump, dict) and "target" in jump:
                yield from _flatten(rs, (chain[0], chain[1], str(jump["target"])), seen | {chain}, narrowed)
        for port_rule in _rule_port_rules(rs, chain, rule):
            yield dataclasses.replace(port_rule, conditional=True) if conditional else port_rule


def parse_nft_json(text: str) -> tuple[int, list[PortRule], bool]:
    """(rules in the ruleset, port rules on the egress path in evaluation order, an output chain drops by policy)."""
    try:
        doc = json.loads(text)
    except ValueError as e:
        raise NftFormatError(f"not JSON ({e})") from None
    objects = doc.get("nftables") if isinstance(doc, dict) else None
    if not isinstance(objects, list):
        raise NftFormatError("no 'nftables' list")
    rs = _Ruleset(objects)
    rules: list[PortRule] = []
    try:
        for chain in rs.egress_chains():
            rules.extend(_flatten(rs, chain, frozenset()))
    except (TypeError, ValueError, AttributeError, KeyError) as e:
        raise NftFormatError(f"unexpected rule shape ({e})") from None
    policy_drop = any(c.get("hook") == "output" and c.get("policy") == "drop" for c in rs.chains.values())
    return rs.total, rules, policy_drop
