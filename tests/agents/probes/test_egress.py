"""Mail and internet egress probes: canary attempts against real listeners on 127.0.0.1."""
from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from agents.config import AgentConfig
from agents.env import CommandResult
from agents.once import judge
from agents.probes import internet, mail
from tests.agents.canary_process import start_canary
from tests.agents.conftest import NOW
from tests.integration.conftest import free_port


@contextmanager
def dropping_port() -> Iterator[int]:
    """A port whose SYNs go unanswered: a listener with a full accept queue that never accepts."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(0)
    port = srv.getsockname()[1]
    fillers = []
    for _ in range(3):
        c = socket.socket()
        c.setblocking(False)
        c.connect_ex(("127.0.0.1", port))
        fillers.append(c)
    try:
        yield port
    finally:
        for c in fillers:
            c.close()
        srv.close()


def mail_config(*ports: int) -> AgentConfig:
    return AgentConfig.model_validate({"mail": {"timeout_s": 0.5,
                                                "canaries": [{"host": "127.0.0.1", "port": p} for p in ports]},
                                       "internet": {"canary": {"host": "127.0.0.1", "port": ports[0]},
                                                    "timeout_s": 0.5}})


def status(observations, control: str) -> dict:
    return next(f for f in judge(observations, NOW) if f["control"] == control)


@pytest.mark.integration
def test_reachable_canary_fails_and_the_canary_records_the_source(make_env) -> None:
    canary = start_canary()
    try:
        env = make_env(mail_config(canary.port))
        mail_obs, net_obs = mail.gather(env), internet.gather(env)
    finally:
        out, _ = canary.stop()
    m = status(mail_obs, "MAIL-EGRESS-BLOCKED")
    assert m["status"] == "fail" and f"127.0.0.1:{canary.port}" in m["reason"]["en"]
    assert m["value"]["tried"] == [f"127.0.0.1:{canary.port}"]
    assert status(net_obs, "INTERNET-BLOCKED")["status"] == "fail"
    hits = [json.loads(line) for line in out.splitlines()]
    assert len(hits) == 2 and all(h["source_address"] == "127.0.0.1" and h["port"] == canary.port for h in hits)


def test_refusing_port_passes_and_names_what_was_tried(make_env) -> None:
    port = free_port()
    obs = mail.gather(make_env(mail_config(port)))
    assert obs[0].payload["attempts"][0] == {**obs[0].payload["attempts"][0], "target": "127.0.0.1", "port": port,
                                             "result": "refused"}
    f = status(obs, "MAIL-EGRESS-BLOCKED")
    assert f["status"] == "pass" and f["value"]["tried"] == [f"127.0.0.1:{port}"]
    assert status(internet.gather(make_env(mail_config(port))), "INTERNET-BLOCKED")["status"] == "pass"


def test_dropping_port_times_out_and_passes(make_env) -> None:
    with dropping_port() as port:
        obs = internet.gather(make_env(mail_config(port)))
    canary = obs[0].payload["canary"]
    assert canary["result"] == "timeout" and 400 <= canary["elapsed_ms"] < 2000
    assert status(obs, "INTERNET-BLOCKED")["status"] == "pass"


def test_no_canary_configured_is_unknown_not_pass(make_env) -> None:
    env = make_env(AgentConfig())
    assert status(mail.gather(env), "MAIL-EGRESS-BLOCKED")["status"] == "unknown"
    assert status(internet.gather(env), "INTERNET-BLOCKED")["status"] == "unknown"


CAPTURES = Path(__file__).resolve().parents[2] / "fixtures" / "agent" / "proc"


def fake_proc(root, sockets: dict[int, tuple[int, str]]) -> None:
    (root / "net").mkdir(parents=True)
    (root / "net" / "tcp").write_text((CAPTURES / "net_tcp").read_text())
    (root / "net" / "tcp6").write_text((CAPTURES / "net_tcp6").read_text())
    for inode, (pid, comm) in sockets.items():
        fd = root / str(pid) / "fd"
        fd.mkdir(parents=True, exist_ok=True)
        (root / str(pid) / "comm").write_text(comm + "\n")
        (fd / str(inode)).symlink_to(f"socket:[{inode}]")


def test_mail_port_connections_listeners_and_clients_from_proc(make_env, tmp_path) -> None:
    proc = tmp_path / "fakeproc"
    fake_proc(proc, {1001: (700, "master"), 1002: (812, "thunderbird"), 1004: (813, "curl")})
    env = make_env(AgentConfig(), proc=proc, which={"thunderbird": "/usr/bin/thunderbird"},
                   answers={"iptables-save": CommandResult(0, "*filter\n:OUTPUT ACCEPT [0:0]\n"
                                                           "-A OUTPUT -p tcp --dport 25 -j REJECT\nCOMMIT\n")})
    p = mail.gather(env)[0].payload
    assert p["connections"] == [
        {"remote": "10.20.9.10", "remote_port": 587, "state": "established", "pid": 812, "process": "thunderbird"},
        {"remote": "10.20.9.10", "remote_port": 25, "state": "syn_sent", "pid": 813, "process": "curl"}]
    assert p["listening_mta"] == [{"address": "127.0.0.1", "port": 25, "pid": 700, "process": "master"}]
    assert p["mail_clients"] == ["thunderbird"]
    assert p["firewall"]["tool"] == "iptables" and p["firewall"]["blocked_ports"] == [25]
    assert p["firewall"]["blocks_ports"] is False  # 465, 587, ... stay open
    assert p["firewall"]["port_rules"] == ["filter: -A OUTPUT -p tcp --dport 25 -j REJECT"]


def test_nft_ruleset_is_preferred_and_parsed(make_env) -> None:
    fixtures = Path(__file__).resolve().parents[2] / "fixtures" / "agent" / "firewall"
    ruleset = (fixtures / "nft-mail-blocked.json").read_text()
    env = make_env(answers={"nft": CommandResult(0, ruleset)})
    fw = mail.gather(env)[0].payload["firewall"]
    assert fw == {"tool": "nft", "rules": 3, "port_rules": ["inet filter output: tcp dport { 25, 465, 587 } reject"],
                  "blocked_ports": [25, 465, 587], "blocks_ports": False, "output_policy_drop": False}
    assert env.run.calls[-1] == ["nft", "-j", "list", "ruleset"]


def test_default_route_dns_and_proxy(make_env, tmp_path, monkeypatch) -> None:
    proc = tmp_path / "p2"
    (proc / "net").mkdir(parents=True)
    (proc / "net" / "route").write_text(
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
        "eth0\t00000000\t0101A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
        "eth0\t0001A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n")
    monkeypatch.setenv("https_proxy", "http://10.20.9.3:3128")
    env = make_env(proc=proc, answers={"getent": CommandResult(0, "110.242.68.66 STREAM www.baidu.com\n")})
    p = internet.gather(env)[0].payload
    assert p["default_route"] == "eth0" and p["dns_resolves"] is True
    assert p["proxy"] == {"https_proxy": "http://10.20.9.3:3128"}
