"""The sample HAProxy configuration (deploy/haproxy/clausewatch.cfg): valid as shipped, and, rendered
for 127.0.0.1, it keeps an agent delivering through one URL when one of the two collectors is killed."""
from __future__ import annotations

import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from agents.config import AgentConfig
from agents.daemon import Agent
from tests.integration.conftest import Collector, free_port
from tests.integration.test_agent_delivery import wait_empty
from tests.integration.test_agent_tls import make_pki
from tests.integration.test_collector_faults import HOST, SteadyIngest, collectors_on, start_all, stored_ids, wait_for

pytestmark = pytest.mark.integration
SAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "haproxy" / "clausewatch.cfg"
HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"


@pytest.fixture(autouse=True)
def _haproxy_installed() -> None:
    if not Path(HAPROXY).exists():
        pytest.skip("haproxy not installed (deploy/apt/haproxy.txt)")


def render(sample: str, listen_port: int, collector_ports: list[int]) -> str:
    """The sample on this machine: it listens on 127.0.0.1 and its servers are the local collectors; it
    stays in the test's user (the sample's `user`/`group` would drop to one that cannot read the test's
    files). Everything else is the shipped text."""
    text = re.sub(r"(?m)^\s*(user|group)\s+\S+\s*$\n", "", sample)
    text, binds = re.subn(r"(?m)^(\s*bind\s+)\S+", rf"\g<1>127.0.0.1:{listen_port}", text)
    servers = iter(collector_ports)
    text, count = re.subn(r"(?m)^(\s*server\s+\S+\s+)\S+", lambda m: f"{m.group(1)}127.0.0.1:{next(servers)}", text)
    assert binds == 1 and count == len(collector_ports), "the sample's bind or server lines changed shape"
    return text


def test_the_shipped_sample_is_valid() -> None:
    r = subprocess.run([HAPROXY, "-c", "-f", str(SAMPLE)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.slow  # two collectors behind haproxy on a busy machine: about a minute
def test_an_agent_behind_haproxy_keeps_delivering_when_a_collector_is_killed(postgres_url: str,
                                                                              tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    collectors: list[Collector] = collectors_on(postgres_url, tmp_path, 2)
    port = free_port()
    config = tmp_path / "haproxy.cfg"
    config.write_text(render(SAMPLE.read_text(), port, [c.port for c in collectors]))
    haproxy = None
    agent = None
    try:
        for c in collectors:
            c.tls = pki
        start_all(collectors)
        haproxy = subprocess.Popen([HAPROXY, "-db", "-f", str(config)], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        url = f"https://127.0.0.1:{port}"
        wait_for("haproxy forwards /healthz", lambda: _healthy(url, collectors[0]))
        agent = Agent.create(AgentConfig.model_validate({
            "host_id": HOST, "interval_s": 3600, "state_dir": str(tmp_path / "agent"),
            "collector": {"url": url, "ca_file": str(pki[0]), "enroll_secret": collectors[0].secret,  # type: ignore[attr-defined]
                          "token_file": str(tmp_path / "agent/token"), "batch_size": 200, "timeout_s": 10,
                          "backoff_initial_s": 0.1, "backoff_max_s": 1}}))
        agent.start()
        with SteadyIngest(agent) as ingest:
            wait_for("300 delivered", lambda: len(stored_ids(postgres_url)) >= 300)
            collectors[0].kill(signal.SIGKILL)
            before = len(ingest.produced)
            wait_for("delivery goes on through the other collector",
                     lambda: len(stored_ids(postgres_url)) >= before + 300)
        wait_empty(agent, 60)
    finally:
        if agent is not None:
            agent.stop()
        if haproxy is not None:
            haproxy.terminate()
            haproxy.wait(10)
        for c in collectors:
            c.kill(signal.SIGTERM)
    ids = stored_ids(postgres_url)
    assert len(ids) == len(set(ids)) and set(ids) == set(ingest.produced)


def _healthy(url: str, collector: Collector) -> bool:
    try:
        return httpx.get(url + "/healthz", verify=collector.verify, timeout=2).status_code == 200
    except httpx.HTTPError:
        time.sleep(0.2)
        return False
