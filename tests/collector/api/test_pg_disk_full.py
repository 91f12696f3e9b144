"""A PostgreSQL server whose disk is full answers a write as a full SQLite disk does: 503 saying the store
is full, Retry-After in minutes, the StoreFull alert's counter, nothing of the batch stored; the same batch
goes in once there is room. The server raises SQLSTATE 53100 (disk_full), as it does when it cannot extend a
file; a trigger makes it say so, which needs no full file system on the test machine."""
from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import psycopg
from fastapi.testclient import TestClient

from collector import auth
from collector.app import create_app
from collector.settings import Settings

FULL = """
CREATE FUNCTION test_disk_full() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'could not extend file "base/16384/16385": No space left on device' USING ERRCODE = 'disk_full';
END $$;
CREATE TRIGGER test_disk_full BEFORE INSERT ON observations FOR EACH STATEMENT EXECUTE FUNCTION test_disk_full();
"""


def _batch() -> bytes:
    return json.dumps({"observations": [{
        "id": "5d0c1c2e-0000-4000-8000-000000000001", "source": "agent", "subject_kind": "host",
        "subject_id": "host-a", "kind": "usb.devices", "observed_at": datetime.now(UTC).isoformat(),
        "payload": {"enforcement": "sysfs", "policy_ok": True, "devices": []}}]}).encode()


def _refusals(client: TestClient, admin: dict[str, str]) -> float:
    found = re.search(r"^clausewatch_store_full_refusals_total (\S+)$", client.get("/metrics", headers=admin).text,
                      re.MULTILINE)
    assert found is not None
    return float(found.group(1))


def test_a_full_database_disk_is_a_full_store_and_the_batch_goes_in_once_there_is_room(postgres_url):
    app = create_app(Settings(db=postgres_url))
    store = app.state.cw.store
    try:
        client = TestClient(app, raise_server_exceptions=False)
        auth.add_user(store, "admin", "admin", "a long enough password 1", actor="test")
        admin = {"Authorization": "Bearer " + client.post("/api/v1/auth/token", json={
            "username": "admin", "password": "a long enough password 1"}).json()["token"]}
        _, secret = auth.create_enroll_secret(store)
        agent = {"Authorization": "Bearer " + client.post("/api/v1/enroll", json={
            "secret": secret, "host_id": "host-a"}).json()["token"], "Content-Type": "application/json"}
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(FULL)
        before = _refusals(client, admin)

        r = client.post("/api/v1/observations", content=_batch(), headers=agent)
        assert r.status_code == 503, r.text
        assert int(r.headers["Retry-After"]) >= 60  # minutes: room is made by a person, not by a restart
        assert "full" in r.json()["reason"]["en"] and "已满" in r.json()["reason"]["zh"]
        assert _refusals(client, admin) == before + 1
        assert store.count_observations() == 0
        assert client.get("/api/v1/findings", headers=admin).status_code == 200  # reads go on

        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute("DROP TRIGGER test_disk_full ON observations")
        r = client.post("/api/v1/observations", content=_batch(), headers=agent)
        assert r.status_code == 200, r.text
        assert store.count_observations() == 1
        assert store.verify_ledger().ok
    finally:
        store.close()
