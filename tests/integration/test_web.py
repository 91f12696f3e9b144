"""The first web page: login, posture table, drill-down, language, CSRF."""
import re

import httpx
import pytest

from tests.integration.conftest import PASSWORD

pytestmark = pytest.mark.integration


def web_login(collector, user="security") -> httpx.Client:
    c = httpx.Client(base_url=collector.url, follow_redirects=True, timeout=30)
    r = c.post("/login", data={"username": user, "password": PASSWORD, "next": "/"})
    assert r.status_code == 200, r.text
    return c


def test_pages_need_login(collector):
    r = httpx.get(collector.url + "/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_wrong_password_shows_an_error(collector):
    r = httpx.post(collector.url + "/login", data={"username": "security", "password": "nope nope nope"})
    assert r.status_code == 401 and "用户名或密码错误" in r.text


def test_session_cookie_is_httponly_and_samesite(collector):
    r = httpx.post(collector.url + "/login", data={"username": "security", "password": PASSWORD})
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie


def test_posture_lists_clauses_in_tender_order_with_drill_down(collector):
    c = web_login(collector)
    page = c.get("/").text
    ids = re.findall(r"<b>(T\d+\.\d-[a-z0-9]|T1\d\.\d-\d(?:/\d)?|[PCA]-\d(?:/\d)?|TR)</b>", page)
    assert ids[:3] == ["T12.1-a", "T12.1-b", "T12.1-c"]
    assert "合规态势" in page
    control = c.get("/controls/USB-BLOCK").text
    assert "禁止使用USB等接口" in control  # the verbatim tender text


def csrf_token(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_language_switch_is_remembered(collector):
    c = web_login(collector)
    switched = c.post("/lang", data={"lang": "en", "next": "/terminals?q=T1",
                                     "csrf_token": csrf_token(c.get("/").text)}, follow_redirects=False)
    assert switched.status_code == 303 and switched.headers["location"] == "/terminals?q=T1"
    assert "Posture" in c.get("/").text
    c2 = web_login(collector)  # a new session of the same user keeps English
    assert "Posture" in c2.get("/", params={}).text


def test_language_switch_changes_nothing_without_the_csrf_token(collector):
    c = web_login(collector)
    assert c.get("/lang/en", follow_redirects=False).status_code in (404, 405)  # a link or an image cannot switch it
    assert c.post("/lang", data={"lang": "en", "next": "/"}, follow_redirects=False).status_code == 403
    assert c.post("/lang", data={"lang": "en", "csrf_token": "forged"}, follow_redirects=False).status_code == 403
    assert "合规态势" in c.get("/").text
    assert "合规态势" in web_login(collector).get("/").text  # nor the language stored on the account


def test_logout_needs_the_csrf_token(collector):
    c = web_login(collector)
    r = c.post("/logout", data={"csrf_token": "forged"})
    assert r.status_code == 403
    token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/").text).group(1)
    r = c.post("/logout", data={"csrf_token": token})
    assert r.url.path == "/login"
