"""`clausewatch serve --tls-cert --tls-key`: agents pin the site's CA; cookies are Secure."""
import datetime as dt
import ipaddress
import os
import ssl
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.integration.conftest import BIN, PASSWORD, free_port

pytestmark = pytest.mark.integration


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "clausewatch test")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_serves_https_with_secure_cookies(tmp_path: Path):
    from collector import auth
    from collector.store.sqlite import SqliteStore

    db = tmp_path / "cw.db"
    store = SqliteStore(db)
    auth.add_user(store, "security", "security", PASSWORD)
    store.close()
    cert, key = _self_signed(tmp_path)
    port = free_port()
    proc = subprocess.Popen([str(BIN), "serve", "--db", str(db), "--port", str(port), "--tls-cert", str(cert),
                             "--tls-key", str(key)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=dict(os.environ))
    url = f"https://127.0.0.1:{port}"
    ca = ssl.create_default_context(cafile=str(cert))
    try:
        for _ in range(300):
            try:
                httpx.get(url + "/healthz", verify=ca, timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        with pytest.raises(httpx.ConnectError):
            httpx.get(url + "/healthz", timeout=5)  # the system trust store does not know the site CA
        r = httpx.post(url + "/login", data={"username": "security", "password": PASSWORD}, verify=ca)
        assert "secure" in r.headers["set-cookie"].lower()
    finally:
        proc.terminate()
        proc.wait(10)


def test_half_a_tls_pair_is_bad_input(tmp_path: Path):
    r = subprocess.run([str(BIN), "serve", "--db", str(tmp_path / "x.db"), "--tls-cert", str(tmp_path / "c.pem")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "--tls-key" in r.stderr
