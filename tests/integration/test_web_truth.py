"""Pages that never contradict themselves, in a real browser against the demo site (three simulated days)."""
from __future__ import annotations

import re

import pytest

from tests.integration.conftest import PASSWORD
from tests.integration.test_web_browser import VIEWS, browser, shot_name, shots, signed_in, site  # noqa: F401

pytestmark = [pytest.mark.integration, pytest.mark.realclock]
CCTV_CLAUSE = "配备闭路电视或数字记录系统以捕捉影像的情况,记录图像至少保留 3 个月"


def zh_account(site, role: str) -> str:  # noqa: F811
    """An account of `role` that reads the pages in Chinese (added while the service runs, as the CLI may)."""
    from collector import auth
    from collector.store.sqlite import SqliteStore

    name = f"zh.{role}"
    store = SqliteStore(site.db)
    auth.add_user(store, name, role, PASSWORD)
    auth.set_lang(store, name, "zh")
    store.close()
    return name


@pytest.fixture(scope="module")
def zh_user(site) -> str:  # noqa: F811
    return zh_account(site, "security")

# every red or amber badge with no reason beside it
UNEXPLAINED = """[...document.querySelectorAll('main .badge.fail, main .badge.unknown')]
  .filter(b => !(b.nextElementSibling && b.nextElementSibling.classList.contains('reason')
                 && b.nextElementSibling.innerText.trim()))
  .map(b => b.closest('li, tr, div')?.innerText.slice(0, 80))"""


def test_cameras_judge_footage_depth_and_recording_now_apart_and_say_why(browser, site):  # noqa: F811
    with signed_in(browser, site, "security") as page:
        page.goto("/cameras")
        cards = page.locator("ul.cams li.card")
        assert cards.count() == 6
        recording = page.locator("ul.cams .recording .badge").all_inner_texts()
        assert recording == ["pass"] * 6  # the demo's recorder is healthy
        retention = dict(zip(page.locator("ul.cams .card-body > a b").all_inner_texts(),
                             page.locator("ul.cams .retention").all_inner_texts(), strict=True))
        failing = {cam for cam, text in retention.items() if "fail" in text}
        assert failing == {"cam-03"}  # the one recorder meant to delete its oldest footage at 41 days
        assert "41" in retention["cam-03"] and "need 92" in retention["cam-03"]
        assert page.evaluate(UNEXPLAINED) == []
        page.goto("/machine-room")
        assert page.evaluate(UNEXPLAINED) == []
        flags = page.locator("section.card dd .tag").all_inner_texts()
        assert "on line" in flags  # NUT's OL in words, not "0L"


def test_posture_shows_the_tenders_full_clause_text(browser, site, zh_user):  # noqa: F811
    with signed_in(browser, site, zh_user) as page:
        page.goto("/")
        clauses = page.locator("table.posture td.clause").all_inner_texts()
        assert any(CCTV_CLAUSE in c and "T12.2-c" in c for c in clauses)
        assert not [c for c in clauses if "…" in c]


def test_manager_acknowledges_the_periods_failures_before_signing(browser, site):  # noqa: F811
    import datetime as dt

    with signed_in(browser, site, "manager") as page:
        page.goto("/attestations")
        now = page.locator("#at-to").input_value()  # the site's clock when the page was served
        start = (dt.datetime.fromisoformat(now) - dt.timedelta(days=3)).strftime("%Y-%m-%d %H:%M:%S")
        page.get_by_label("From", exact=True).fill(start)
        page.get_by_label("To", exact=True).fill(now)
        page.get_by_role("button", name="Check for contradictions").click()
        page.wait_for_load_state()
        rows = page.locator("table.failures tbody tr").all_inner_texts()
        # every control's failures, not only those contradicting a manual control (none contradicts footage depth)
        assert any("cam-03" in r and "41.0 days" in r and "no waiver" in r for r in rows)
        page.get_by_label("Statement", exact=True).fill("本期间已核实，违规均已列出")
        page.get_by_role("button", name="Sign the attestation").click()  # refused by the browser: not acknowledged
        assert "done=" not in page.url
        page.get_by_label(re.compile("acknowledge them in this attestation")).check()
        page.get_by_role("button", name="Sign the attestation").click()
        page.wait_for_load_state()
        assert "done=" in page.url
        signed = page.locator("table.attestations tbody tr").first.inner_text()
        assert "本期间已核实，违规均已列出" in signed and f"{len(rows)} (" in signed


# pages a Chinese-reading user opens: every view, subject pages of each kind, a control
ZH_PAGES = ["/", "/terminals", "/cameras", "/machine-room", "/lifecycle", "/alerts", "/evidence", "/attestations",
            "/waivers", "/reports", "/admin", "/terminals/T004", "/subjects/host/T004", "/subjects/ups/ups-1",
            "/subjects/camera/cam-01", "/subjects/call_system/recorder-1", "/controls/CCTV-RETENTION"]
# ids, names and acronyms that are the same in both languages
SAME_IN_BOTH = {"English", "USB", "UPS", "CSV", "HTML", "JSON", "OSCAL", "PDF", "ZIP", "KiB", "fps", "SHA", "ClamAV",
                "TLS", "EICAR"}
FILE_SUFFIXES = {"txt", "pdf", "jpg", "png", "svg", "csv", "json", "zip", "html"}
USER_NAMES = {"admin", "security", "auditor", "facility", "manager"}  # the demo's accounts, named after their roles


def english_words() -> set[str]:
    """Every word of the English side of the page texts: one of them on a Chinese page is untranslated."""
    from collector.i18n import messages

    words = {w.lower() for _, en in messages().values() for w in re.findall(r"[A-Za-z]{3,}", en)}
    return words - {w.lower() for w in SAME_IN_BOTH}


def untranslated(text: str, english: set[str]) -> list[str]:
    problems = re.findall(r"\d{4}-\d\d-\d\dT\d\d:\d\d\S*", text)  # machine timestamps
    problems += re.findall(r"\b(?:True|False|None)\b", text)  # raw values
    problems += re.findall(r"(?<![\w./-])[a-z]+_[a-z_]+(?![\w./-])", text)  # raw keys and kinds
    problems += [k for k in re.findall(r"(?<![\w./-])[a-z]+\.[a-z_]+(?![\w./-])", text)  # observation kinds
                 if k.rsplit(".", 1)[1] not in FILE_SUFFIXES and not k.startswith("zh.")]  # our accounts' names
    # a word standing alone (not part of an id such as cam-01, a file name or a control id)
    problems += [w for w in re.findall(r"(?<![\w./@-])[A-Za-z]{3,}(?![\w./@-])", text)
                 if w.lower() in english and w not in USER_NAMES]
    return sorted(set(problems))


@pytest.fixture(scope="module")
def zh_admin(site) -> str:  # noqa: F811
    return zh_account(site, "admin")


def test_chinese_pages_show_no_english_words_raw_values_or_machine_timestamps(browser, site, zh_admin,  # noqa: F811
                                                                               shots):  # noqa: F811
    english = english_words()
    found = {}
    with signed_in(browser, site, zh_admin) as page:
        for path in ZH_PAGES:
            assert page.goto(path).status == 200, path
            if path in VIEWS:  # the README's screenshots, in Chinese
                page.screenshot(path=str(shots / shot_name(path).replace(".png", "-zh.png")), full_page=False)
            bad = untranslated(page.locator("body").inner_text(), english)
            if bad:
                found[path] = bad
    assert not found, "\n".join(f"{path}: {' | '.join(bad)}" for path, bad in found.items())


# badges, table headers and header links drawn on more than one line (the "通/过" blob)
WRAPPED = """[...document.querySelectorAll('.badge, th, header nav a')]
  .filter(e => e.getClientRects().length > 1
               || e.getBoundingClientRect().height > 2 * parseFloat(getComputedStyle(e).lineHeight || 16) + 1
               || (e.tagName !== 'TH' && e.getBoundingClientRect().height >
                   1.6 * parseFloat(getComputedStyle(e).fontSize) + 8))
  .map(e => e.tagName + ':' + e.innerText.replace(/\\s+/g, ' ').slice(0, 30))"""
# the header's links on one row
NAV_ROWS = """new Set([...document.querySelectorAll('header nav a')]
  .map(a => Math.round(a.getBoundingClientRect().top))).size"""


@pytest.mark.parametrize("width", [1280, 1440, 1920])
def test_badges_headers_and_navigation_do_not_wrap(browser, site, zh_admin, width):  # noqa: F811
    viewport = {"width": width, "height": 900}
    found = {}
    for account in ("admin", zh_admin):  # English words are longer, Chinese ones break anywhere
        with signed_in(browser, site, account, viewport=viewport) as page:
            for path in ZH_PAGES:
                page.goto(path)
                wrapped = page.evaluate(WRAPPED)
                if page.evaluate(NAV_ROWS) > 1:
                    wrapped.append("header navigation on more than one row")
                if page.evaluate("document.documentElement.scrollWidth - window.innerWidth") > 1:
                    wrapped.append("wider than the window")  # not bought with a sideways scroll
                if wrapped:
                    found[f"{account} {path}"] = wrapped
    assert not found, "\n".join(f"{k}: {' | '.join(v)}" for k, v in found.items())


def test_posture_leads_with_clauses_met_then_controls_then_subjects(browser, site):  # noqa: F811
    from rules.catalog import default_catalog, load_clauses

    controls = list(default_catalog())
    cited = {cid for c in controls for cid in c.clauses}
    with signed_in(browser, site, "security") as page:
        head = page.locator("section.headline")
        met = re.search(r"(\d+) / (\d+) tender clauses met", head.locator(".clauses-met").inner_text())
        assert met and int(met.group(2)) == len(cited & set(load_clauses()))
        counts = [int(n) for n in re.findall(r"(\d+)", head.locator(".control-counts").inner_text())]
        assert sum(counts) == len(controls)
        assert "Subject findings" in head.inner_text()
        trend = head.locator(".clauses-met svg.spark").get_attribute("aria-label")
        assert trend.rsplit(" ", 1)[-1] == met.group(1)  # today's point is the headline
        # a passing control's trend is drawn in the passing colour, not flat red
        row = page.locator("table.posture tbody tr", has=page.locator("code:text-is('LEDGER-INTACT')"))
        assert row.locator(".badge").first.inner_text() == "pass"
        assert row.locator("svg.spark polyline").get_attribute("stroke") == "#067647"


@pytest.fixture(scope="module")
def zh_manager(site) -> str:  # noqa: F811
    return zh_account(site, "manager")


def test_a_refused_upload_says_why_in_chinese_beside_the_kept_form(browser, site, zh_manager):  # noqa: F811
    with signed_in(browser, site, zh_manager) as page:
        page.goto("/evidence")
        page.locator("#up-control").select_option("INFOSEC-TRAINING")
        page.locator("#up-file").set_input_files(
            files=[{"name": "roster.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 roster"}])
        page.locator("#up-until").fill("2020-01-31")  # already past
        page.locator("#up-note").fill("季度培训签到表")
        page.get_by_role("button", name="上传", exact=True).click()
        page.wait_for_load_state()
        assert page.url.endswith("/evidence/upload")  # the same page, not a dead end
        error = page.locator("#upload-error").inner_text()
        assert "上传被拒绝" in error and "有效期至" in error and "已经过去" in error
        assert not re.search(r"[A-Za-z]{4,}", error.replace("INFOSEC", ""))
        assert page.locator("#up-control").input_value() == "INFOSEC-TRAINING"
        assert page.locator("#up-until").input_value() == "2020-01-31"
        assert page.locator("#up-note").input_value() == "季度培训签到表"
        # the ledger's verdict says when it was checked, beside the count of entries now
        ledger = page.locator("dl.meta").last.inner_text()
        assert "检查于" in ledger and "当前条目" in ledger


def test_a_subject_page_reads_as_a_timeline_with_the_raw_data_folded(browser, site):  # noqa: F811
    with signed_in(browser, site, "security") as page:
        page.goto("/subjects/camera/cam-03")
        changes = page.locator("ol.subject-changes li").all_inner_texts()
        assert any("CCTV footage kept at least 3 months" in c and "fail" in c and "41.0 days" in c for c in changes)
        raw = page.locator("details.raw")
        assert raw.count() == 1 and raw.get_attribute("open") is None  # folded until asked for
        assert "camera.retention" not in page.locator("main").inner_text()
        height = page.evaluate("document.documentElement.scrollHeight")
        assert height < 1600, height  # was a 2,300-2,900 px list of key=value rows


def test_admin_disables_a_user_revokes_an_agent_and_rotates_the_enroll_secret(browser, site):  # noqa: F811
    import httpx

    from collector import auth
    from collector.store.sqlite import SqliteStore

    store = SqliteStore(site.db)
    auth.add_user(store, "leaver", "security", PASSWORD)
    _, old_secret = auth.create_enroll_secret(store, actor="test")
    agent_token = auth.enroll(store, old_secret, "T-revoke")
    store.close()
    site.login("leaver")
    assert site.client("leaver").get("/api/v1/findings").status_code == 200
    agent = {"Authorization": f"Bearer {agent_token}"}
    with signed_in(browser, site, "admin") as page:
        page.get_by_role("button", name="Disable leaver").click()
        page.wait_for_load_state()
        assert site.client("leaver").get("/api/v1/findings").status_code == 401  # the session ended at once
        page.get_by_role("button", name="Revoke T-revoke").click()
        page.wait_for_load_state()
        row = page.locator("tr", has=page.get_by_role("link", name="T-revoke", exact=True)).inner_text()
        assert "revoked" in row
        assert httpx.post(site.url + "/api/v1/observations", json={"observations": []},
                          headers=agent).status_code == 401
        page.get_by_role("button", name="Rotate (revoke every other secret)").click()
        page.wait_for_load_state()
        new_secret = page.locator("#new-secret").input_value()
        assert new_secret.startswith("cwe_") and new_secret != old_secret
        assert httpx.post(site.url + "/api/v1/enroll", json={"secret": old_secret, "host_id": "T-late"}
                          ).status_code in (401, 403)
        assert page.get_by_role("button", name="Disable admin").count() == 0  # no locking oneself out


def test_after_an_upload_the_rows_expiry_state_is_the_new_evidences(browser, site):  # noqa: F811
    import datetime as dt

    today = dt.date.today()
    with signed_in(browser, site, "manager") as page:
        for valid_until, expiring in ((today + dt.timedelta(days=5), True), (today + dt.timedelta(days=60), False)):
            page.goto("/evidence")
            page.get_by_label("Control", exact=True).select_option("TRAINING-RECORDS")
            page.get_by_label("File", exact=True).set_input_files(files=[{
                "name": f"records-{valid_until}.pdf", "mimeType": "application/pdf",
                "buffer": f"%PDF-1.4 {valid_until}".encode()}])
            page.get_by_label("Valid until", exact=True).fill(str(valid_until))
            page.get_by_role("button", name="Upload", exact=True).click()
            page.wait_for_load_state()
            row = page.locator("table.evidence tbody tr", has=page.locator("code:text-is('TRAINING-RECORDS')"))
            assert ("expiring soon" in row.inner_text()) is expiring, (valid_until, row.inner_text())


# every form's date field, on the pages a manager may open
DATE_FIELDS = {"/": ["#f-on"], "/evidence": ["#up-until", "#up-dated"], "/reports": ["#rp-from", "#rp-to"],
               "/attestations": ["#at-from", "#at-to"], "/exceptions": ["#ex-end"]}
# the browser's own date controls draw their format from the browser's locale, whatever the page's language
BROWSER_DATE_CONTROLS = """[...document.querySelectorAll(
  'input[type=date], input[type=datetime-local], input[type=month], input[type=week], input[type=time]')]
  .map(e => e.id || e.name)"""


@pytest.mark.parametrize(("lang", "day", "day_and_time"), [("zh", "年-月-日", "年-月-日 时:分"),
                                                            ("en", "YYYY-MM-DD", "YYYY-MM-DD HH:MM")])
def test_date_fields_read_in_the_pages_language_and_the_sites_format(browser, site, zh_manager,  # noqa: F811
                                                                      lang, day, day_and_time):
    with signed_in(browser, site, zh_manager if lang == "zh" else "manager") as page:
        for path, fields in DATE_FIELDS.items():
            page.goto(path)
            assert page.evaluate(BROWSER_DATE_CONTROLS) == [], path  # no "mm/dd/yyyy" on a Chinese page
            for field in fields:
                hint = page.locator(field).get_attribute("placeholder")
                assert hint == (day_and_time if field.startswith("#at-") else day), (path, field, hint)
        page.goto("/reports")
        assert re.fullmatch(r"\d{4}-\d\d-\d\d", page.locator("#rp-to").input_value())
        page.goto("/attestations")
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", page.locator("#at-to").input_value())


def test_a_date_typed_in_the_sites_format_is_read_and_a_bad_one_named_in_chinese(browser, site,  # noqa: F811
                                                                                   zh_manager):
    import datetime as dt

    with signed_in(browser, site, zh_manager) as page:
        page.goto("/reports")
        page.locator("#rp-from").fill("2026/13/40")
        page.locator("#rp-format").select_option("csv")
        page.get_by_role("button", name="下载", exact=True).click()
        page.wait_for_load_state()
        main = page.locator("main").inner_text()
        assert "日期应写作 年-月-日" in main, main
        assert page.locator(".field-error").inner_text().startswith("字段: 起 · 2026/13/40")
        assert not untranslated(main, english_words())
        page.goto("/reports")
        end = dt.date.fromisoformat(page.locator("#rp-to").input_value())
        page.locator("#rp-from").fill(str(end - dt.timedelta(days=2)))
        page.locator("#rp-format").select_option("csv")
        with page.expect_download() as download:
            page.get_by_role("button", name="下载", exact=True).click()
        assert download.value.suggested_filename.endswith(".csv")
        page.goto("/?on=" + str(end - dt.timedelta(days=1)))
        assert page.locator("#f-on").input_value() == str(end - dt.timedelta(days=1))  # the posture that day


@pytest.fixture(scope="module")
def notifying_site(tmp_path_factory: pytest.TempPathFactory):
    """A served demo store whose built-in notifier delivers to the demo's local inbox, as `clausewatch demo`
    wires it; yields the collector once the inbox has received the open alerts."""
    import signal
    import time

    from collector import auth
    from collector.demo.inbox import start_beside
    from collector.store.sqlite import SqliteStore
    from tests.integration.conftest import Collector, cli, free_port

    db = tmp_path_factory.mktemp("notify") / "cw.db"
    assert cli("demo", "--days", "1", "--no-serve", "--db", str(db)).returncode == 0
    store = SqliteStore(db)
    for name, lang in (("facility", "en"), ("zh.facility", "zh")):
        auth.add_user(store, name, "facility", PASSWORD)
        auth.set_lang(store, name, lang)
    store.close()
    c = Collector(db, free_port())
    inbox, config = start_beside(db, c.url)
    try:
        with pytest.MonkeyPatch.context() as env:
            env.setenv("CLAUSEWATCH_NOTIFY_CONFIG", str(config))
            c.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not inbox.received:
            time.sleep(0.5)
        assert inbox.received, c.log.read_text()[-2000:] if c.log else ""
        yield c
    finally:
        c.kill(signal.SIGTERM)
        inbox.stop()


def test_alerts_show_who_was_told_and_when_in_the_sites_zone(browser, notifying_site):  # noqa: F811
    import datetime as dt
    import json
    from zoneinfo import ZoneInfo

    from tests.integration.conftest import cli

    served = notifying_site
    inbox = [json.loads(line) for line in served.db.with_name("cw.inbox.jsonl").read_text().splitlines()]
    told = {(a["labels"]["control"], a["labels"]["subject"])
            for m in inbox for a in m["alerts"] if a["status"] == "firing"}
    log = json.loads(cli("notifications", "--db", str(served.db), "--json").stdout)
    shanghai = ZoneInfo("Asia/Shanghai")  # the site's zone (the default)
    sent_at = {dt.datetime.fromisoformat(e["at"]).astimezone(shanghai).strftime("%Y-%m-%d %H:%M")
               for e in log if e["receiver"] == "demo-inbox" and e["ok"]}
    assert told and sent_at
    for account, header, result in (("facility", "Notified", "delivered"), ("zh.facility", "已通知", "已送达")):
        with signed_in(browser, served, account) as page:
            page.goto("/alerts")
            headers = page.locator("table.alerts thead th").all_inner_texts()
            column = headers.index(header) + 1
            rows = page.locator("table.alerts tbody tr")
            shown = {}
            for i in range(rows.count()):
                row = rows.nth(i)
                control = row.locator("td:nth-child(2) a").get_attribute("href").rsplit("/", 1)[1]
                subject = row.locator("td:nth-child(3) a").get_attribute("href").rsplit("/", 1)[1]
                shown[(control, subject)] = row.locator(f"td:nth-child({column})").inner_text()
            for alert in told & set(shown):  # every alert the inbox received says so, with when
                cell = shown[alert]
                m = re.match(rf"demo-inbox · (\d{{4}}-\d\d-\d\d \d\d:\d\d) {result}", cell)
                assert m and m.group(1) in sent_at, (account, alert, cell)
            assert told & set(shown), (account, sorted(told)[:5], sorted(shown)[:5])


def test_a_waiver_names_its_subject_kind_in_chinese(browser, site, zh_manager):  # noqa: F811
    import datetime as dt

    with signed_in(browser, site, zh_manager) as page:
        page.goto("/exceptions")
        options = page.locator("#ex-control option").all_inner_texts()
        assert not [o for o in options if re.search(r"\([a-z_]+\)$", o)], options  # (call_system), (host)
        page.locator("#ex-control").select_option("CALLS-RECORDED")  # passing in the demo's first days
        page.locator("#ex-subject").fill("*")
        page.locator("#ex-reason").fill("录音系统迁移期间")
        page.locator("#ex-end").fill(str(dt.date.today() + dt.timedelta(days=30)))
        page.get_by_role("button", name="批准", exact=True).click()
        page.wait_for_load_state()
        row = page.locator("table.waivers", has_text="录音系统迁移期间").locator("tbody tr").first.inner_text()
        assert "录音系统 *" in row and "call_system" not in row, row
