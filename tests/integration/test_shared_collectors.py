"""Two `clausewatch serve --db postgresql://…` collectors on one real PostgreSQL act as one: a session
made on one works on the other, sign-in failures count together, an enrollment code is used once,
an alert both collectors hold reaches its receiver once, and so does an evidence expiry reminder."""
from __future__ import annotations

import re
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
import yaml

from tests.integration.conftest import PASSWORD, Collector, free_port
from tests.integration.monitoring import WebhookReceiver
from tests.integration.test_login_limit import api_login, client_from

pytestmark = pytest.mark.integration


def ups_status(runtime_s: float, n: int) -> dict:
    return {"id": f"shared-ups-{n:04d}", "source": "nut", "subject_kind": "ups", "subject_id": "ups-1",
            "kind": "ups.status", "observed_at": datetime.now(UTC).isoformat(),
            "payload": {"status": "OL", "flags": ["OL"], "battery_runtime_s": runtime_s, "error": None}}


def seed_failing_ups(store, controls) -> None:
    """A UPS whose runtime already fails when the collectors start, so both notifiers hold its alert."""
    from collector.engine import Engine
    from rules.model import Observation

    store.ingest([Observation.model_validate(ups_status(900, 0) | {"site": "default"})], actor="nut")
    Engine(store, controls).evaluate()


class Pair:
    def __init__(self, a: Collector, b: Collector, hook: WebhookReceiver, secret: str):
        self.a, self.b, self.hook, self.secret = a, b, hook, secret


@pytest.fixture(scope="module")
def pair(postgres_server, tmp_path_factory) -> Iterator[Pair]:
    from collector import auth
    from collector.proof.sitekey import SiteKey
    from collector.store.postgres import PostgresStore
    from rules.catalog import default_catalog

    root = tmp_path_factory.mktemp("shared")
    url = postgres_server.new_database()
    key = root / "site-key.pem"
    store = PostgresStore(url, site_key=SiteKey.load_or_create(key))
    for user in auth.ROLES:
        auth.add_user(store, user, user, PASSWORD)
    _, secret = auth.create_enroll_secret(store)
    nut = auth.create_source_token(store, "nut", ["ups"])
    seed_failing_ups(store, default_catalog())
    store.close()
    hook = WebhookReceiver()
    hook.start()
    config = root / "notify.yaml"
    config.write_text(yaml.safe_dump({
        "group_wait_s": 0, "group_interval_s": 1, "repeat_interval_s": 3600, "retry_delays_s": [1],
        "routes": [{"match": {"team": "facility"}, "receivers": ["hook"]}],
        "receivers": [{"name": "hook", "webhook": {"url": hook.url}}]}))
    env = {"CLAUSEWATCH_SITE_KEY": str(key), "CLAUSEWATCH_NOTIFY_CONFIG": str(config)}
    collectors = []
    for name in ("a", "b"):
        (root / name).mkdir()
        c = Collector(Path(url), free_port(), workdir=root / name, env=env)
        c.tokens["nut"] = nut
        collectors.append(c)
    try:
        for c in collectors:
            c.start()
        yield Pair(collectors[0], collectors[1], hook, secret)
    finally:
        for c in collectors:
            c.kill(signal.SIGTERM)
        hook.stop()
        postgres_server.drop_database(url)


# first: the pair's other tests enroll a host, whose findings (unknown at the leader's next sweep) add alerts
def test_an_alert_both_collectors_hold_reaches_the_receiver_once(pair):
    held = {c.port: held_alerts(c) for c in (pair.a, pair.b)}
    assert min(held.values()) >= 1  # both started with the UPS failing, so both mean to send its alert
    assert pair.hook.wait_for(lambda b: bool(ups_bodies(pair.hook, "firing")), timeout_s=20) is not None
    time.sleep(4)  # several ticks of both notifiers
    assert len(ups_bodies(pair.hook, "firing")) == 1, pair.hook.bodies
    with pair.a.client("nut") as http:
        http.post("/api/v1/observations", json={"observations": [ups_status(2500, 1)]}).raise_for_status()
    # each lets go of the alert (b when it next reads the stored findings), having sent its end or found it sent
    assert wait_until(lambda: all(held_alerts(c) < held[c.port] for c in (pair.a, pair.b)), timeout_s=40)
    time.sleep(2)
    assert len(ups_bodies(pair.hook, "resolved")) == 1, pair.hook.bodies
    assert len(ups_bodies(pair.hook, "firing")) == 1


def test_a_session_made_on_one_collector_works_on_the_other(pair):
    token = pair.a.login("security")
    me = {"Authorization": f"Bearer {token}"}
    assert httpx.get(pair.b.url + "/api/v1/findings", headers=me, timeout=30).status_code == 200
    with httpx.Client(base_url=pair.a.url, timeout=30) as on_a:
        page = on_a.post("/login", data={"username": "auditor", "password": PASSWORD})
        assert page.status_code == 303
        cookie = on_a.cookies["cw_session"]
    with httpx.Client(base_url=pair.b.url, cookies={"cw_session": cookie}, timeout=30) as on_b:
        assert on_b.get(page.headers["location"]).status_code == 200
    assert httpx.post(pair.b.url + "/api/v1/auth/logout", headers=me, timeout=30).status_code == 204
    assert httpx.get(pair.a.url + "/api/v1/findings", headers=me, timeout=30).status_code == 401


def test_failed_sign_ins_split_over_both_collectors_hit_the_limit_of_one(pair):
    on_a, on_b = client_from(pair.a, "127.0.0.12"), client_from(pair.b, "127.0.0.12")
    for c in (on_a, on_b, on_a, on_b):
        assert api_login(c, "manager", "wrong password").status_code == 401
    assert api_login(on_a, "manager", PASSWORD).status_code == 200  # four: not yet; a success forgets them
    for c in (on_b, on_a, on_b, on_a, on_b):
        assert api_login(c, "manager", "wrong password").status_code == 401
    for c in (on_a, on_b):
        refused = api_login(c, "manager", PASSWORD)
        assert refused.status_code == 429 and 1 <= int(refused.headers["retry-after"]) <= 2
    assert api_login(client_from(pair.b, "127.0.0.13"), "manager", PASSWORD).status_code == 200  # her own desk


def test_an_enrollment_code_used_on_one_collector_is_refused_on_the_other(pair):
    enrolled = httpx.post(pair.a.url + "/api/v1/enroll", json={"secret": pair.secret, "host_id": "T-SHARED-1"})
    assert enrolled.status_code == 200
    agent = {"Authorization": f"Bearer {enrolled.json()['token']}"}
    again = httpx.post(pair.b.url + "/api/v1/enroll", json={"secret": pair.secret, "host_id": "T-SHARED-1"})
    assert again.status_code == 409  # enrolled through a: b knows, and wants a code
    admin = {"Authorization": f"Bearer {pair.b.login('admin')}"}
    code = httpx.post(pair.b.url + "/api/v1/agents/T-SHARED-1/reenroll-code", headers=admin).json()["code"]
    body = {"secret": pair.secret, "host_id": "T-SHARED-1", "reenroll_code": code}
    assert httpx.post(pair.a.url + "/api/v1/enroll", json=body).status_code == 200
    assert httpx.post(pair.b.url + "/api/v1/enroll", json=body).status_code == 403  # used up on a
    # the token the first enrollment gave was replaced on both
    assert httpx.get(pair.b.url + "/api/v1/observations", headers=agent).status_code == 401


def test_an_expiry_reminder_is_recorded_and_sent_once_by_the_pair(pair):
    until = datetime.now(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=5)  # the 7-day threshold
    with pair.b.client() as on_b:
        on_b.headers["Authorization"] = f"Bearer {pair.b.login('facility')}"
        sent = on_b.post("/api/v1/evidence", data={"control": "EXTINGUISHER-OFFICE", "valid_until": str(until)},
                         files={"file": ("record.pdf", b"%PDF-1.4 extinguishers checked", "application/pdf")})
    assert sent.status_code == 201, sent.text
    assert pair.hook.wait_for(lambda b: bool(reminder_alerts(pair.hook)), timeout_s=30) is not None
    time.sleep(4)  # several rounds and ticks of both collectors
    assert reminder_alerts(pair.hook) == [("EXTINGUISHER-OFFICE", "7d")], pair.hook.bodies
    for c in (pair.a, pair.b):
        recorded = httpx.get(c.url + "/api/v1/evidence/expiring", timeout=30,
                             headers={"Authorization": f"Bearer {c.login('auditor')}"}).json()["reminders"]
        assert [r["control"] for r in recorded] == ["EXTINGUISHER-OFFICE"]


def reminder_alerts(hook: WebhookReceiver) -> list[tuple[str, str]]:
    return [(a["labels"]["control"], a["labels"]["reminder"]) for b in list(hook.bodies) for a in b["alerts"]
            if a["labels"]["alertname"] == "EvidenceExpiring"]


def ups_bodies(hook: WebhookReceiver, status: str) -> list[dict]:
    return [b for b in list(hook.bodies) if b["status"] == status
            and any(a["labels"].get("subject") == "ups-1" and a["labels"]["control"] == "UPS-RUNTIME"
                    for a in b["alerts"])]


def held_alerts(c: Collector) -> float:
    metrics = httpx.get(c.url + "/metrics", headers={"Authorization": f"Bearer {c.login('auditor')}"}).text
    found = re.search(r"^clausewatch_notifier_alerts (\S+)$", metrics, re.MULTILINE)
    assert found is not None, metrics
    return float(found.group(1))


def wait_until(predicate, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.5)
    return False
