"""`iptables-save` (with or without `-c` counters) flattened into the egress path's port rules."""
from __future__ import annotations

import dataclasses
import shlex
from collections.abc import Iterator

from agents.firewall_rules import PortRule, PortSpan

EGRESS_CHAINS = ("OUTPUT", "FORWARD", "POSTROUTING")
VERDICTS = {"DROP": "drop", "REJECT": "reject", "ACCEPT": "accept"}
# options that only say which match module or protocol a rule uses: they do not narrow who it covers
NEUTRAL_OPTIONS = {"-A", "-p", "--protocol", "-m", "--match", "-j", "--jump", "-g", "--goto", "--comment",
                   "--reject-with", "--dport", "--destination-port", "--dports", "--destination-ports"}
FLAGS = {"--syn", "-f", "--fragment"}  # options without an argument


def _ranges(text: str) -> tuple[tuple[int, int], ...]:
    out = []
    for part in text.split(","):
        lo, _, hi = part.partition(":")
        out.append((int(lo or 0), int(hi or 65535) if _ else int(lo)))
    return tuple(out)


def _tokens(line: str) -> list[str]:
    try:
        return shlex.split(line)
    except ValueError:  # an unbalanced quote in a comment: the options still split on blanks
        return line.split()


def _rule(table: str, line: str) -> tuple[PortRule | None, str | None, bool]:
    """A rule's port rule (when it matches destination ports and decides), the chain it jumps to, and
    whether it matches on anything besides protocol and ports."""
    tokens = _tokens(line)
    span, target, protocol, conditional, negate = None, None, "all", False, False
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        arg = tokens[i + 1] if i + 1 < len(tokens) else ""
        if tok == "!":
            negate = True
            i += 1
            continue
        if tok in ("--dport", "--destination-port", "--dports", "--destination-ports"):
            span = PortSpan(_ranges(arg), negated=negate)
        elif tok in ("-p", "--protocol"):
            protocol = "all" if negate else arg.lower()
        elif tok in ("-j", "--jump", "-g", "--goto"):
            target = arg
        elif tok.startswith("-") and tok not in NEUTRAL_OPTIONS:
            conditional = True
        negate = False
        i += 2 if tok.startswith("-") and tok not in FLAGS else 1
    verdict = VERDICTS.get(target or "")
    if span is None or verdict is None:
        return None, target if target and target not in VERDICTS else None, conditional or span is not None
    return PortRule(f"{table}: {line}", verdict, span, conditional, protocol), None, conditional


def _flatten(chains: dict[str, list[str]], table: str, name: str, seen: frozenset[str],
             conditional: bool = False) -> Iterator[PortRule]:
    """Rules of `name` in order, a jumped-to chain's in place (conditional when the jump is)."""
    if name in seen:
        return
    for line in chains.get(name, []):
        rule, jump, narrowed = _rule(table, line)
        if rule is not None:
            yield dataclasses.replace(rule, conditional=True) if conditional else rule
        elif jump is not None:
            yield from _flatten(chains, table, jump, seen | {name}, conditional or narrowed)


def parse_iptables_save(text: str) -> tuple[int, list[PortRule], bool]:
    """(rules, port rules on the egress path in evaluation order, OUTPUT drops by policy), over every table."""
    tables: dict[str, dict[str, list[str]]] = {}
    table, total, policy_drop = "", 0, False
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("[") and "] " in line:  # `iptables-save -c` counters before the rule
            line = line.split("] ", 1)[1]
        if line.startswith("*"):
            table = line[1:]
            tables.setdefault(table, {})
        elif line.startswith(":"):
            name, policy = (line[1:].split() + ["-"])[:2]
            tables.setdefault(table, {}).setdefault(name, [])
            policy_drop = policy_drop or (name == "OUTPUT" and policy == "DROP")
        elif line.startswith("-A "):
            total += 1
            chain = line.split()[1]
            tables.setdefault(table, {}).setdefault(chain, []).append(line)
    rules = [r for t, chains in tables.items() for base in EGRESS_CHAINS
             for r in _flatten(chains, t, base, frozenset())]
    return total, rules, policy_drop
