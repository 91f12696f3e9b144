from __future__ import annotations

import json

from agents.env import CommandResult
from agents.once import judge
from agents.probes import identity
from tests.agents.conftest import NOW

WHO = "zhang    tty7         2026-11-29 08:01 (:0)\nzhang    pts/0        2026-11-29 08:05 (:0)\n" \
      "li       pts/1        2026-11-29 09:12 (10.20.1.9)\n"
IP = json.dumps([{"ifname": "lo", "addr_info": [{"local": "127.0.0.1", "scope": "host"}]},
                 {"ifname": "eth0", "addr_info": [{"local": "10.20.1.17", "scope": "global"},
                                                  {"local": "fe80::1", "scope": "link"}]}])


def test_identity_from_who_ip_and_os_release(make_env, tmp_path) -> None:
    env = make_env(answers={"who": CommandResult(0, WHO), "ip": CommandResult(0, IP)})
    (env.root / "etc/os-release").write_text('NAME="Debian GNU/Linux"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n')
    (env.root / "etc/hostname").write_text("cs-t017\n")
    obs = identity.gather(env)
    p = obs[0].payload
    assert p == {**p, "hostname": "cs-t017", "os": "Debian GNU/Linux 12 (bookworm)", "addresses": ["10.20.1.17"],
                 "interactive_users": ["li", "zhang"], "host_id": "term-001"}
    f = next(f for f in judge(obs, NOW) if f["control"] == "DEDICATED-TERMINAL")
    assert f["status"] == "fail" and "li, zhang" in f["reason"]["en"]


def test_identity_without_who_or_ip(make_env) -> None:
    p = identity.gather(make_env())[0].payload
    assert p["interactive_users"] == [] and p["addresses"] == [] and p["os"] == "unknown"
