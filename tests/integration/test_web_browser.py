"""The dashboard in a real browser (Debian's chromium driven by Playwright) against a real
`clausewatch serve` holding three simulated days of the demo site.

Screenshots of every view go to $CLAUSEWATCH_SCREENSHOTS (docs/screenshots to refresh the README's),
else to a temporary folder.
"""
from __future__ import annotations

import os
import re
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.integration.conftest import PASSWORD, Collector, cli, free_port

pytestmark = pytest.mark.integration
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
    "/admin": "Users and roles",
}
ALLOWED = {
    "admin": set(VIEWS),
    "security": set(VIEWS) - {"/admin"},
    "auditor": set(VIEWS) - {"/admin"},
    "facility": {"/", "/cameras", "/machine-room", "/alerts", "/evidence"},
    "manager": {"/", "/lifecycle", "/evidence"},
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
        page.keyboard.type("security")  # the user name field has focus on arrival
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
        page.get_by_role("link", name="中文").click()
        page.wait_for_load_state()
        assert "证据与证明" in page.locator("h1").inner_text()
    # a fresh browser without the language cookie: the choice came from the server
    with signed_in(browser, site, "manager") as page:
        assert "证据与证明" in page.locator("h1").inner_text()
        page.screenshot(path=str(shots / "evidence-zh.png"), full_page=False)
        page.get_by_role("link", name="English").click()


def test_phone_layout_fits_the_screen(browser, site, shots):
    with signed_in(browser, site, "facility", viewport=PHONE) as page:
        assert page.url.endswith("/machine-room")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1
        page.screenshot(path=str(shots / "phone-machine-room.png"), full_page=False)
        page.goto("/")
        assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 1
