"""Forms of the dashboard: CSRF on every one, role checks on the server, secure cookies over TLS."""
from __future__ import annotations

import datetime as dt
import re
import signal

import httpx
import pytest

from tests.integration.conftest import PASSWORD, Collector, free_port
from tests.integration.test_web import web_login

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def collector(tmp_path_factory: pytest.TempPathFactory):
    """One served store for the module, an account per role: these tests change nothing the others read."""
    from collector import auth
    from collector.store.sqlite import SqliteStore

    db = tmp_path_factory.mktemp("forms") / "cw.db"
    store = SqliteStore(db)
    for role in auth.ROLES:
        auth.add_user(store, role, role, PASSWORD)
    store.close()
    c = Collector(db, free_port())
    c.start()
    yield c
    c.kill(signal.SIGTERM)


def csrf_of(client: httpx.Client) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get("/evidence").text).group(1)


FORMS = {  # every form of the dashboard: path -> fields besides the token
    "/admin/users": {"name": "eve", "role": "admin", "password": "0123456789ab"},
    "/admin/enroll-secrets": {},
    "/admin/users/state": {"name": "security", "disable": "yes"},
    "/admin/agents/revoke": {"host_id": "T1"},
    "/admin/reenroll-codes": {"host_id": "T1"},
    "/alerts/ack": {"control": "AGENT-REPORTING", "subject_kind": "host", "subject_id": "T1", "comment": "x"},
    "/evidence/upload": {"control": "BADGE-POLICY", "valid_until": "2099-12-31", "note": "signed copy"},
    "/attestations": {"start": "2026-01-01T00:00", "end": "2026-01-02T00:00", "statement": "all clauses kept"},
    "/waivers": {"control": "AGENT-REPORTING", "subject": "*", "reason": "terminals replaced this week",
                    "end": "2099-12-31"},
    "/reports/download": {"start": "2026-01-01", "end": "2026-01-02", "fmt": "csv", "lang": "en"},
    "/lang": {"lang": "en", "next": "/"},
    "/logout": {},
}
FILES = {"/evidence/upload": {"file": ("policy.pdf", b"%PDF-1.4 signed policy", "application/pdf")}}
# (role, form) pairs the role may not submit even with its own valid token
NOT_ALLOWED = [("security", "/admin/users"), ("manager", "/admin/enroll-secrets"), ("auditor", "/alerts/ack"),
               ("security", "/admin/users/state"), ("manager", "/admin/enroll-secrets"),
               ("facility", "/admin/agents/revoke"),
               ("security", "/admin/reenroll-codes"),
               ("facility", "/admin/users"), ("auditor", "/evidence/upload"), ("facility", "/attestations"),
               ("security", "/attestations"), ("auditor", "/waivers"), ("facility", "/waivers"),
               ("facility", "/reports/download")]


def test_every_form_refuses_a_missing_or_forged_csrf_token(collector):
    c = web_login(collector, "admin")
    for path, form in FORMS.items():
        for token in ("", "forged"):
            r = c.post(path, data={**form, "csrf_token": token}, files=FILES.get(path))
            assert r.status_code == 403, (path, token)
    assert "<td>eve</td>" not in c.get("/admin").text


def test_admin_form_adds_a_user_who_can_sign_in(collector):
    c = web_login(collector, "admin")
    r = c.post("/admin/users", data={"name": "li.lei", "role": "facility", "password": PASSWORD,
                                     "csrf_token": csrf_of(c)})
    assert r.status_code == 200 and "li.lei" in r.text
    weak = c.post("/admin/users", data={"name": "x", "role": "facility", "password": "short",
                                        "csrf_token": csrf_of(c)})
    assert weak.status_code == 422 and "10 characters" in weak.text
    fresh = httpx.post(collector.url + "/login", data={"username": "li.lei", "password": PASSWORD})
    assert fresh.status_code == 303 and fresh.headers["location"] == "/machine-room"


def test_enroll_secret_from_the_page_enrolls_an_agent(collector):
    c = web_login(collector, "admin")
    r = c.post("/admin/enroll-secrets", data={"csrf_token": csrf_of(c)})
    assert r.headers["cache-control"] == "no-store"
    secret = re.search(r'id="new-secret" readonly value="([^"]+)"', r.text).group(1)
    enrolled = httpx.post(collector.url + "/api/v1/enroll", json={"secret": secret, "host_id": "T-NEW"})
    assert enrolled.status_code == 200
    assert "T-NEW" in c.get("/admin").text


def test_forms_refuse_roles_without_the_right_even_with_a_valid_token(collector):
    for role, path in NOT_ALLOWED:
        c = web_login(collector, role)
        r = c.post(path, data={**FORMS[path], "csrf_token": csrf_of(c)}, files=FILES.get(path))
        assert r.status_code == 403, (role, path)
        assert "text/html" in r.headers["content-type"] and "无权访问此页面" in r.text


@pytest.mark.parametrize(("field", "value"), [
    pytest.param("next", "//evil.example/x", id="login-next-protocol-relative"),
    pytest.param("next", "https://evil.example/x", id="login-next-absolute"),
    pytest.param("lang", "https://evil.example/x", id="language-switch-next"),
    pytest.param("lang", "//evil.example/x", id="language-switch-next-protocol-relative"),
])
def test_no_redirect_leaves_the_site(collector, field, value):
    if field == "next":
        r = httpx.post(collector.url + "/login", data={"username": "security", "password": PASSWORD, "next": value})
    else:
        c = web_login(collector, "security")
        r = c.post("/lang", data={"lang": "zh", "next": value, "csrf_token": csrf_of(c)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/")
    assert not r.headers["location"].startswith("//")


def test_pages_report_their_server_time(collector):
    r = web_login(collector, "security").get("/")
    assert re.fullmatch(r"app;dur=\d+(\.\d+)?", r.headers["server-timing"])


def test_posture_looks_back_to_a_day_and_refuses_a_malformed_one(collector):
    c = web_login(collector, "auditor")
    day = (dt.datetime.now(dt.UTC) - dt.timedelta(days=2)).date().isoformat()
    page = c.get("/", params={"on": day})
    assert page.status_code == 200 and "截至" in page.text and f'value="{day}"' in page.text
    assert c.get("/", params={"on": "last tuesday"}).status_code == 400


def ledger_entries(collector) -> list[dict]:
    import sqlite3

    import orjson

    with sqlite3.connect(collector.db) as db:
        return [orjson.loads(b) for (b,) in db.execute("SELECT body FROM ledger ORDER BY seq")]


def ledger_types(collector) -> list[str]:
    return [e["type"] for e in ledger_entries(collector)]


def test_facility_uploads_evidence_and_its_download_is_in_the_ledger(collector):
    c = web_login(collector, "facility")
    r = c.post("/evidence/upload", data={**FORMS["/evidence/upload"], "csrf_token": csrf_of(c)},
               files={"file": ("灭火器检查.pdf", b"%PDF-1.4 inspected", "application/pdf")})
    assert r.status_code == 200 and "证据已上传" in r.text
    assert "有效期已按控制项周期 365d 从 2099-12-31 缩短至" in r.text  # BADGE-POLICY is renewed yearly
    link = re.search(r'href="(/api/v1/evidence/[0-9a-f]{64})" download>灭火器检查.pdf', r.text).group(1)
    assert c.get(link).content == b"%PDF-1.4 inspected"
    assert "evidence.downloaded" in ledger_types(collector)
    past = c.post("/evidence/upload", data={**FORMS["/evidence/upload"], "valid_until": "2020-01-01",
                                           "csrf_token": csrf_of(c)}, files=FILES["/evidence/upload"])
    assert past.status_code == 400 and "已经过去" in past.text  # said in the user's language, beside the form
    automatic = c.post("/evidence/upload", data={**FORMS["/evidence/upload"], "control": "AGENT-REPORTING",
                                                "csrf_token": csrf_of(c)}, files=FILES["/evidence/upload"])
    assert automatic.status_code == 400


@pytest.mark.parametrize(("role", "path", "status"), [
    pytest.param("facility", "/attestations", 403, id="facility-no-attestations"),
    pytest.param("facility", "/waivers", 403, id="facility-no-waivers"),
    pytest.param("facility", "/reports", 403, id="facility-no-reports"),
    pytest.param("auditor", "/attestations", 200, id="auditor-reads-history"),
    pytest.param("auditor", "/reports", 200, id="auditor-reports"),
])
def test_pages_of_evidence_forms_follow_the_role(collector, role, path, status):
    assert web_login(collector, role).get(path).status_code == status


def test_manager_signs_and_corrects_an_attestation(collector):
    c = web_login(collector, "manager")
    today = dt.date.today()
    period = {"start": f"{today - dt.timedelta(days=2)}T00:00", "end": f"{today - dt.timedelta(days=1)}T00:00"}
    check = c.get("/attestations", params=period)
    assert "No telemetry contradicts" in check.text or "没有与人工证明相矛盾" in check.text
    first = c.post("/attestations", data={**period, "statement": "period reviewed", "csrf_token": csrf_of(c)})
    aid = re.search(r"done=(\d+)", str(first.url)).group(1)
    fix = c.post("/attestations", data={**period, "statement": "period reviewed again", "corrects": aid,
                                        "csrf_token": csrf_of(c)})
    assert fix.status_code == 200 and f"#{aid}" in fix.text
    future = c.post("/attestations", data={"start": f"{today}T00:00", "end": f"{today + dt.timedelta(days=2)}T00:00",
                                           "statement": "not yet", "csrf_token": csrf_of(c)})
    assert future.status_code == 400 and "not ended" in future.text
    assert ledger_types(collector).count("attestation") == 2


def test_manager_approves_a_waiver_listed_as_active(collector):
    c = web_login(collector, "manager")
    r = c.post("/waivers", data={**FORMS["/waivers"], "reason": "replacing terminals in room 2",
                                 "csrf_token": csrf_of(c)})
    assert r.status_code == 200 and "replacing terminals in room 2" in r.text
    # /exceptions, the address of earlier releases, still takes the form
    old = c.post("/exceptions", data={**FORMS["/waivers"], "reason": "replacing terminals in room 3",
                                      "csrf_token": csrf_of(c)})
    assert old.status_code == 200 and "replacing terminals in room 3" in old.text
    wrong = c.post("/exceptions", data={**FORMS["/waivers"], "control": "NOPE", "csrf_token": csrf_of(c)})
    assert wrong.status_code == 400
    gone = c.post("/exceptions", data={**FORMS["/waivers"], "end": "2020-01-01", "csrf_token": csrf_of(c)})
    assert gone.status_code == 400 and "future" in gone.text


def test_auditor_downloads_a_csv_report_recorded_in_the_ledger(collector):
    c = web_login(collector, "auditor")
    r = c.post("/reports/download", data={**FORMS["/reports/download"], "csrf_token": csrf_of(c)})
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    assert r.headers["x-content-sha256"] and "report.downloaded" in ledger_types(collector)
    bad = c.post("/reports/download", data={**FORMS["/reports/download"], "fmt": "docx", "csrf_token": csrf_of(c)})
    assert bad.status_code == 400
    assert '<option value="default">default</option>' in c.get("/reports").text
    one = c.post("/reports/download", data={**FORMS["/reports/download"], "site": "default", "csrf_token": csrf_of(c)})
    downloaded = [e for e in ledger_entries(collector) if e["type"] == "report.downloaded"]
    assert one.status_code == 200 and downloaded[-1]["data"]["site"] == "default"
    nowhere = c.post("/reports/download", data={**FORMS["/reports/download"], "site": "nowhere",
                                               "csrf_token": csrf_of(c)})
    assert nowhere.status_code == 400
