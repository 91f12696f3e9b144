"""Wrong passwords over HTTP: the one who fails waits (with Retry-After), nobody else does."""
from __future__ import annotations

import httpx
import pytest

from tests.integration.conftest import PASSWORD

pytestmark = pytest.mark.integration


def client_from(collector, address: str) -> httpx.Client:
    """A client whose connections leave from `address` (any 127.x.y.z reaches the loopback server)."""
    return httpx.Client(base_url=collector.url, transport=httpx.HTTPTransport(local_address=address), timeout=30)


def api_login(c: httpx.Client, user: str, password: str) -> httpx.Response:
    return c.post("/api/v1/auth/token", json={"username": user, "password": password})


def test_wrong_passwords_lock_out_one_name_from_one_address_only(collector):
    guesser, colleague, owner = (client_from(collector, a) for a in ("127.0.0.2", "127.0.0.2", "127.0.0.3"))
    for _ in range(5):
        assert api_login(guesser, "manager", "wrong password").status_code == 401
    refused = api_login(guesser, "manager", PASSWORD)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 2
    # the manager at her own desk, and a colleague behind the same address, still sign in
    assert api_login(owner, "manager", PASSWORD).status_code == 200
    assert api_login(colleague, "security", PASSWORD).status_code == 200


def test_the_login_page_sends_retry_after_too(collector):
    c = client_from(collector, "127.0.0.4")
    for _ in range(5):
        assert c.post("/login", data={"username": "auditor", "password": "wrong password"}).status_code == 401
    page = c.post("/login", data={"username": "auditor", "password": PASSWORD})
    assert page.status_code == 429 and int(page.headers["retry-after"]) >= 1
    assert "失败次数过多" in page.text
