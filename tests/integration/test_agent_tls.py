"""The agent talks TLS to a real collector whose certificate comes from a site CA it pins."""
from __future__ import annotations

import datetime as dt
import ipaddress
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from agents.config import AgentConfig
from agents.daemon import Agent
from agents.ship import ShipError
from tests.integration.conftest import BIN, free_port

pytestmark = pytest.mark.integration


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_pki(d: Path) -> tuple[Path, Path, Path]:
    """A site CA and a server certificate for 127.0.0.1 signed by it (PEM files)."""
    now = dt.datetime.now(dt.UTC)
    ca_key, srv_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name("site CA")).issuer_name(_name("site CA"))
          .public_key(ca_key.public_key()).serial_number(1).not_valid_before(now - dt.timedelta(hours=1))
          .not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    srv = (x509.CertificateBuilder().subject_name(_name("collector")).issuer_name(ca.subject)
           .public_key(srv_key.public_key()).serial_number(2).not_valid_before(now - dt.timedelta(hours=1))
           .not_valid_after(now + dt.timedelta(days=1))
           .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                          critical=False)
           .sign(ca_key, hashes.SHA256()))
    paths = d / "ca.pem", d / "server.pem", d / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(srv.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(srv_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    return paths


@pytest.fixture
def tls_collector(tmp_path: Path):
    from collector import auth
    from collector.store.sqlite import SqliteStore

    ca, cert, key = make_pki(tmp_path)
    store = SqliteStore(tmp_path / "cw.db")
    _, secret = auth.create_enroll_secret(store)
    store.close()
    port = free_port()
    proc = subprocess.Popen([str(BIN), "serve", "--db", str(tmp_path / "cw.db"), "--port", str(port),
                             "--tls-cert", str(cert), "--tls-key", str(key)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ.copy())
    url = f"https://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    import socket

    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.1)
    yield url, ca, secret, tmp_path / "cw.db"
    proc.send_signal(signal.SIGTERM)
    proc.wait(15)


def config(tmp_path: Path, url: str, secret: str, ca: Path | None) -> AgentConfig:
    return AgentConfig.model_validate({"host_id": "term-tls", "state_dir": str(tmp_path / "agent"), "collector": {
        "url": url, "enroll_secret": secret, "token_file": str(tmp_path / "agent/token"),
        "ca_file": str(ca) if ca else None}})


def test_agent_enrolls_and_ships_over_tls_with_the_site_ca(tls_collector, tmp_path: Path) -> None:
    import sqlite3

    url, ca, secret, db = tls_collector
    agent = Agent.create(config(tmp_path, url, secret, ca))
    agent.submit([agent.heartbeat()])
    assert agent.shipper is not None
    agent.shipper.flush()
    assert agent.spool.stats().pending == 0
    assert (tmp_path / "agent/token").stat().st_mode & 0o077 == 0  # the token is readable by root only
    agent.stop()
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM observations WHERE subject_id = 'term-tls'"
                            " AND kind = 'agent.heartbeat'").fetchone()[0] == 1


def test_agent_refuses_a_collector_it_cannot_verify(tls_collector, tmp_path: Path) -> None:
    url, _, secret, _ = tls_collector
    agent = Agent.create(config(tmp_path, url, secret, None))
    agent.submit([agent.heartbeat()])
    assert agent.shipper is not None
    with pytest.raises(ShipError, match="CERTIFICATE_VERIFY_FAILED"):
        agent.shipper.ship_batch()
    assert agent.spool.stats().pending == 1
    agent.stop()
