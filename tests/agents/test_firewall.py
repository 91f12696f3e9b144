"""Firewall evidence from real `nft -j list ruleset` and `iptables-save` captures.

The captures come from the rules beside them (tests/fixtures/agent/firewall/*.nft, *.rules) loaded in a
network namespace: ports are read from the rules' structure, never from numbers in the text."""
from __future__ import annotations

from pathlib import Path

import pytest

from agents.env import CommandResult
from agents.firewall import firewall_evidence

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "agent" / "firewall"
SUBMISSION = (25, 465, 587, 2525)


def nft(name: str) -> dict[str, CommandResult]:
    return {"nft": CommandResult(0, (FIXTURES / name).read_text())}


@pytest.mark.parametrize("answers, blocked, port_rules, policy_drop", [
    pytest.param(nft("nft-mail-blocked.json"), [25, 465, 587],
                 ["inet filter output: tcp dport { 25, 465, 587 } reject"], False, id="set of mail ports rejected"),
    pytest.param(nft("nft-counter-trap.json"), [465, 2525], [
        "inet filter output: tcp dport 2525 reject", "inet filter output: tcp dport 25 accept",
        "inet filter output: tcp dport != 587 drop"], False,
        id="counter packets 25, address .25 and input-chain drop are not an egress block of port 25"),
    pytest.param(nft("nft-sets-ranges.json"), [25, 465, 587, 2525], [
        "ip egress mailban: tcp dport { 25, 465 } drop", "ip egress mailban: tcp dport 580-590 reject",
        "ip egress mailban: tcp dport 2525 drop"], True, id="named set, range and verdict map behind a jump"),
    pytest.param(nft("nft-vmap-named.json"), [25, 465], [
        "inet filter output: tcp dport 25 drop", "inet filter output: tcp dport 465 drop",
        "inet filter output: tcp dport 587 accept"], False, id="named verdict map"),
    pytest.param({"nft": CommandResult(1, "", "Operation not permitted"),
                  "iptables-save": CommandResult(0, (FIXTURES / "iptables-mailban.save").read_text())},
                 [25, 465, 587], [
        'filter: -A OUTPUT -p tcp -m tcp --dport 2525 -m comment --comment "relay 25 drop" -j ACCEPT',
        "filter: -A MAILBAN -p tcp -m multiport --dports 25,465 -j REJECT --reject-with tcp-reset",
        "filter: -A MAILBAN -p tcp -m tcp --dport 580:590 -j DROP"], False,
        id="iptables fallback: multiport, range, jump; a comment naming 25 and drop is no block"),
])
def test_blocked_ports_come_from_rule_structure(make_env, answers, blocked, port_rules, policy_drop) -> None:
    fw = firewall_evidence(make_env(answers=answers), SUBMISSION)
    assert fw["blocked_ports"] == blocked
    assert fw["port_rules"] == port_rules
    assert fw["blocks_ports"] is (blocked == list(SUBMISSION))
    assert fw["output_policy_drop"] is policy_drop


def test_iptables_comment_and_counters_do_not_block_port_25(make_env) -> None:
    saved = ("*filter\n:OUTPUT ACCEPT [25:1975]\n"
             "[25:1975] -A OUTPUT -p tcp --dport 2525 -m comment --comment \"relay 25 drop\" -j ACCEPT\n"
             "[0:0] -A OUTPUT -d 10.0.0.25/32 -p tcp --dport 25 -j DROP\nCOMMIT\n")
    fw = firewall_evidence(make_env(answers={"nft": CommandResult(127, "", "nft: not found"),
                                             "iptables-save": CommandResult(0, saved)}), (25,))
    assert fw["tool"] == "iptables" and fw["rules"] == 2
    assert fw["blocked_ports"] == [] and fw["blocks_ports"] is False  # the drop of 25 only covers one address


def test_unreadable_nft_json_falls_back_and_says_why(make_env) -> None:
    fw = firewall_evidence(make_env(answers={"nft": CommandResult(0, "table inet filter {\n")}), (25,))
    assert fw == {"tool": None, "reason": "nft -j: not JSON (Expecting value: line 1 column 1 (char 0)); "
                                          "neither nft nor iptables-save is available or permitted"}
