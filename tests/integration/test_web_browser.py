"""The dashboard in a real browser (Debian's chromium driven by Playwright) against a real
`clausewatch serve` holding three simulated days of the demo site.

Screenshots of every view go to $CLAUSEWATCH_SCREENSHOTS (docs/screenshots to refresh the README's),
else to a temporary folder.
"""
from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.integration.conftest import PASSWORD, Collector, cli, free_port

# Chromium never finishes loading a page under libfaketime (its timed waits take the shifted clock),
# so the browser tests run on the real clock only
pytestmark = [pytest.mark.integration, pytest.mark.realclock]
playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = Path("/usr/bin/chromium")
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}

# view path -> text its page must show (English), for the roles that may open it
VIEWS = {
    "/": "Posture",
    "/terminals": "Terminals",
    "/cameras": "Zone coverage",
    "/machine-room": "Machine room",
    "/lifecycle": "Batches",
    "/alerts": "Open alerts",
    "/evidence": "Manual controls",
    "/attestations": "Attestation history",
    "/waivers": "Active waivers",
    "/reports": "Report language",
    "/admin": "Users and roles",
}
ALLOWED = {
    "admin": set(VIEWS),
    "security": set(VIEWS) - {"/admin"},
    "auditor": set(VIEWS) - {"/admin"},
    "facility": {"/", "/cameras", "/machine-room", "/alerts", "/evidence"},
    "manager": {"/", "/lifecycle", "/evidence", "/attestations", "/waivers", "/reports"},
}
# form fields a screen reader could not name
UNLABELLED = """[...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
  .filter(e => !e.labels.length && !e.getAttribute('aria-label')).map(e => e.name || e.id)"""
START = {"admin": "/admin", "security": "/", "auditor": "/evidence", "facility": "/machine-room",
         "manager": "/evidence"}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory):
    """A served store with 3 simulated days, one account per role (language English)."""
    from collector import auth
    from collector.store.sqlite import SqliteStore

    db = tmp_path_factory.mktemp("web") / "cw.db"
    res = cli("demo", "--days", "3", "--no-serve", "--db", str(db))
    assert res.returncode == 0, res.stderr
    store = SqliteStore(db)
    for role in auth.ROLES:
        auth.add_user(store, role, role, PASSWORD)
        auth.set_lang(store, role, "en")
    store.close()
    c = Collector(db, free_port())
    c.start()
    yield c
    c.kill(signal.SIGTERM)


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed")
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run"])
        yield b
        b.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = os.environ.get("CLAUSEWATCH_SCREENSHOTS")
    folder = Path(where) if where else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@contextmanager
def signed_in(browser, site: Collector, role: str, viewport: dict | None = None) -> Iterator:
    """A fresh browser context (no cookies) signed in through the login form; yields its page."""
    ctx = browser.new_context(viewport=viewport or DESKTOP, base_url=site.url)
    try:
        page = ctx.new_page()
        page.goto("/login")
        page.get_by_label(re.compile("User name|用户名")).fill(role)
        page.get_by_label(re.compile("Password|密码")).fill(PASSWORD)
        page.get_by_role("button", name=re.compile("Log in|登录")).click()
        page.wait_for_load_state()
        yield page
    finally:
        ctx.close()


def shot_name(path: str) -> str:
    return (path.strip("/").replace("/", "-") or "posture") + ".png"


@pytest.mark.parametrize("role", list(ALLOWED))
def test_each_role_lands_on_its_start_page_and_is_refused_the_rest(browser, site, shots, role):
    with signed_in(browser, site, role) as page:
        assert page.url.removeprefix(site.url) == START[role]
        nav = {a.get_attribute("href") for a in page.locator("header nav a").all()}
        assert nav == ALLOWED[role]
        for path, text in VIEWS.items():
            resp = page.goto(path)
            if path in ALLOWED[role]:
                assert resp.status == 200, path
                assert text in page.locator("main").inner_text(), path
                assert page.evaluate(UNLABELLED) == [], path
                if role == "admin":
                    page.screenshot(path=str(shots / shot_name(path)), full_page=False)
            else:
                assert resp.status == 403, path
                assert "may not open this page" in page.locator("main").inner_text()


def test_security_drills_from_a_terminal_to_its_evidence_timeline(browser, site, shots):
    with signed_in(browser, site, "security") as page:
        page.goto("/terminals")
        rows = page.locator("#hosts tbody tr")
        assert rows.count() == 20
        page.get_by_label("Search").fill("T004")  # filters while typing, before any submit
        assert page.locator("#hosts tbody tr:not([hidden])").count() == 1
        page.get_by_role("link", name="T004", exact=True).click()
        page.wait_for_load_state()
        main = page.locator("main").inner_text()
        assert "Evidence timeline" in main and "EICAR test" in main and "Internet canary" in main
        page.screenshot(path=str(shots / "terminal-host.png"), full_page=False)


def test_posture_shows_every_clause_with_trend_and_changes(browser, site):
    with signed_in(browser, site, "security") as page:
        clauses = page.locator("table.posture td.clause b").all_inner_texts()
        assert clauses[:3] == ["T12.1-a", "T12.1-b", "T12.1-c"]
        assert page.locator("table.posture svg.spark").count() > 20
        assert "What changed since yesterday" in page.locator(".changes").inner_text()
        page.get_by_label("Status").select_option("fail")
        page.get_by_role("button", name="Filter").click()
        page.wait_for_load_state()
        badges = set(page.locator("table.posture tbody td:nth-child(3) .badge").all_inner_texts())
        assert badges <= {"fail"}


def test_facility_acknowledges_an_alert_with_a_comment(browser, site):
    with signed_in(browser, site, "facility") as page:
        page.goto("/alerts")
        form = page.locator("form.ack").first
        control = form.locator("input[name=control]").get_attribute("value")
        form.get_by_role("textbox").fill("checked on site, ticket 4711")
        form.get_by_role("button", name="Acknowledge").click()
        page.wait_for_load_state()
        assert "checked on site, ticket 4711" in page.locator("main").inner_text()
        assert control in page.locator("ol.changelist").inner_html()


def test_auditor_may_read_alerts_but_not_acknowledge(browser, site):
    with signed_in(browser, site, "auditor") as page:
        page.goto("/alerts")
        assert page.locator("form.ack").count() == 0


def test_admin_adds_a_user_and_sees_an_enroll_secret_once(browser, site):
    with signed_in(browser, site, "admin") as page:
        page.get_by_label("User name", exact=True).fill("wang.fang")
        page.get_by_label("Role", exact=True).select_option("auditor")
        page.get_by_label(re.compile("^Password")).fill(PASSWORD)
        page.get_by_role("button", name="Add user").click()
        page.wait_for_load_state()
        assert "User added: wang.fang" in page.locator("main").inner_text()
        page.get_by_role("button", name="New enrollment secret").click()
        page.wait_for_load_state()
        secret = page.locator("#new-secret").input_value()
        assert secret.startswith("cwe_")
        page.goto("/admin")
        assert secret not in page.content()
    with signed_in(browser, site, "wang.fang") as page:
        assert page.url.endswith("/evidence")


def test_keyboard_only_login_and_skip_link(browser, site):
    ctx = browser.new_context(viewport=DESKTOP, base_url=site.url)
    page = ctx.new_page()
    try:
        page.goto("/login")
        # the user name field has focus on arrival (autofocus may land a moment after the load event)
        page.wait_for_function("document.activeElement && document.activeElement.name === 'username'")
        page.keyboard.type("security")
        page.keyboard.press("Tab")
        page.keyboard.type(PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/$"))
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.className") == "skip"
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "main"
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("Shift+Tab")
        assert page.evaluate("document.activeElement.tagName") in ("A", "BUTTON")
    finally:
        ctx.close()


def test_language_switch_is_remembered_for_the_user(browser, site, shots):
    with signed_in(browser, site, "manager") as page:
        page.goto("/?status=fail")
        page.get_by_role("button", name="中文").click()  # a form with the CSRF token, back to the same page
        page.wait_for_load_state()
        assert page.url.endswith("/?status=fail") and "合规态势" in page.locator("h1").inner_text()
        page.goto("/evidence")
        page.wait_for_load_state()
        assert "证据与证明" in page.locator("h1").inner_text()
    # a fresh browser without the language cookie: the choice came from the server
    with signed_in(browser, site, "manager") as page:
        assert "证据与证明" in page.locator("h1").inner_text()
        page.screenshot(path=str(shots / "evidence-zh.png"), full_page=False)
        page.get_by_role("button", name="English").click()
        page.wait_for_load_state()
        assert "Manual controls" in page.locator("main").inner_text()


# what the browser blocked under the page's Content-Security-Policy, as the page saw it
CSP_WATCH = """window.__csp = [];
document.addEventListener('securitypolicyviolation', e => window.__csp.push(
  e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' ' + e.sourceFile + ':' + e.lineNumber));"""


def test_pages_load_with_no_content_security_policy_violation(browser, site):
    ctx = browser.new_context(viewport=DESKTOP, base_url=site.url)
    ctx.add_init_script(CSP_WATCH)
    console: list[str] = []
    try:
        page = ctx.new_page()
        page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
        page.goto("/login")
        page.get_by_label(re.compile("User name|用户名")).fill("admin")
        page.get_by_label(re.compile("Password|密码")).fill(PASSWORD)
        page.get_by_role("button", name=re.compile("Log in|登录")).click()
        page.wait_for_load_state()
        page.goto("/terminals")
        host_page = page.locator("#hosts tbody a").first.get_attribute("href")
        for path in [*VIEWS, "/controls/USB-BLOCK", host_page, "/login"]:
            resp = page.goto(path)
            assert resp is not None and "frame-ancestors 'none'" in resp.headers["content-security-policy"], path
            page.wait_for_load_state("load")
            assert page.evaluate("window.__csp") == [], path
        page.goto("/terminals")
        page.get_by_label("Search").fill("T004")  # the page's script still runs under the policy
        assert page.locator("#hosts tbody tr:not([hidden])").count() == 1
    finally:
        ctx.close()
    assert [m for m in console if "Content Security Policy" in m] == []


def test_phone_layout_fits_the_screen(browser, site, shots):
    with signed_in(browser, site, "facility", viewport=PHONE) as page:
        assert page.url.endswith("/machine-room")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1
        page.screenshot(path=str(shots / "phone-machine-room.png"), full_page=False)
        page.goto("/")
        assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 1


def test_manager_uploads_evidence_and_downloads_it_back(browser, site, tmp_path):
    with signed_in(browser, site, "manager") as page:
        page.get_by_label("Control", exact=True).select_option("INFOSEC-TRAINING")
        page.get_by_label("File", exact=True).set_input_files(
            files=[{"name": "training-q4.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 roster"}])
        page.get_by_label("Valid until", exact=True).fill("2099-06-30")
        page.get_by_label("Note", exact=True).fill("signed roster, 42 agents")
        page.get_by_role("button", name="Upload", exact=True).click()
        page.wait_for_load_state()
        assert "Evidence uploaded" in page.locator("main").inner_text()
        row = page.locator("table.uploads tbody tr").first.inner_text()
        assert "manager" in row and "INFOSEC-TRAINING" in row and "signed roster, 42 agents" in row
        with page.expect_download() as got:
            page.locator("table.uploads").get_by_role("link", name="training-q4.pdf").first.click()
        assert Path(got.value.path()).read_bytes() == b"%PDF-1.4 roster"


def camera_goes_offline(site: Collector, camera: str = "cam-01") -> None:
    """A camera health report failing CAMERA-HEALTHY, which shares clause P-3 with a manual control."""
    import datetime as dt

    site.login("admin")
    made = site.client("admin").post("/api/v1/source-tokens", json={"name": "camera-test", "subject_kinds": ["camera"]})
    camera_source = httpx.Client(base_url=site.url, headers={"Authorization": f"Bearer {made.json()['token']}"})
    at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)
    r = camera_source.post("/api/v1/observations", json={
        "observations": [{"source": "camera-worker", "subject_kind": "camera", "subject_id": camera,
                          "kind": "camera.health", "observed_at": at.isoformat(),
                          "payload": {"online": False, "fps": 0, "frames": 0, "faults": []}}]})
    assert r.status_code < 300, r.text
    for _ in range(100):  # the engine judges in the background
        found = site.client("admin").get("/api/v1/findings", params={"control": "CAMERA-HEALTHY", "status": "fail"})
        if camera in found.text:
            return
        time.sleep(0.1)
    raise AssertionError("camera finding never failed")


def test_manager_sees_contradictions_before_signing_an_attestation(browser, site, shots):
    camera_goes_offline(site)
    time.sleep(1.1)  # the form's times have whole seconds: let the failure start before the period ends
    with signed_in(browser, site, "manager") as page:
        page.goto("/attestations")
        now = page.locator("#at-to").input_value()  # the site's clock when the page was served
        page.get_by_label("From", exact=True).fill(_earlier(now, days=3))
        page.get_by_label("To", exact=True).fill(now)
        page.get_by_role("button", name="Check for contradictions").click()
        page.wait_for_load_state()
        assert "cam-01" in page.locator("ul.contradictions").inner_text()
        assert "contradicts what you are about to attest" in page.locator("main").inner_text()
        page.screenshot(path=str(shots / "attestations.png"), full_page=False)
        page.get_by_label("Statement", exact=True).fill("Quarter reviewed; camera 1 under repair")
        page.get_by_label(re.compile("acknowledge them in this attestation")).check()
        page.get_by_role("button", name="Sign the attestation").click()
        page.wait_for_load_state()
        history = page.locator("table.attestations tbody tr").first.inner_text()
        assert "Quarter reviewed; camera 1 under repair" in history and "manager" in history
    with signed_in(browser, site, "auditor") as page:
        page.goto("/attestations")
        assert "Quarter reviewed" in page.locator("table.attestations").inner_text()
        assert page.locator("form[action='/attestations']").count() == 0


def _earlier(local: str, days: int) -> str:
    import datetime as dt

    return (dt.datetime.fromisoformat(local) - dt.timedelta(days=days)).strftime("%Y-%m-%d %H:%M:%S")


def test_manager_approves_a_waiver_and_posture_shows_excepted(browser, site, shots):
    with signed_in(browser, site, "manager") as page:
        page.goto("/?status=fail")
        control = page.locator("table.posture tbody code").first.inner_text()
        page.goto("/waivers")
        page.get_by_label("Control", exact=True).select_option(control)
        page.get_by_label("Subject id (* for all)").fill("*")
        page.get_by_label("Reason", exact=True).fill("accepted while the vendor replaces the hardware")
        page.get_by_label("Until the end of").fill("2099-01-31")
        page.get_by_role("button", name="Approve", exact=True).click()
        page.wait_for_load_state()
        assert "accepted while the vendor replaces" in page.locator("table.waivers").first.inner_text()
        page.screenshot(path=str(shots / "exceptions.png"), full_page=False)
        page.goto("/?status=excepted")
        row = page.locator("table.posture tbody tr", has=page.locator(f"code:text-is('{control}')"))
        cells = row.locator("td.num").all_inner_texts()  # fail, unknown, excepted, pass
        assert cells[0] == "0" and int(cells[2]) > 0
        assert row.locator(".badge").first.inner_text() == "excepted"
        page.goto(f"/controls/{control}")
        assert "excepted" in page.locator("main").inner_text()


def test_auditor_downloads_a_pdf_report(browser, site, shots):
    with signed_in(browser, site, "auditor") as page:
        page.goto("/reports")
        page.get_by_label("Format").select_option("pdf")
        page.get_by_label("Report language").select_option("en")
        page.screenshot(path=str(shots / "reports.png"), full_page=False)
        with page.expect_download(timeout=120_000) as got:
            page.get_by_role("button", name="Download").click()
        assert got.value.suggested_filename.endswith("-en.pdf")
        assert Path(got.value.path()).read_bytes().startswith(b"%PDF")
