"""Every route, on both stores, against every kind of hostile value in every place a request carries one:
path and query parameters, JSON bodies, URL-encoded and multipart forms (their fields and file names),
the token and cookies. The routes are read from the app itself, so a route added later is probed too.

A hostile value gets an answer below 500; a 422 names the field it refuses (a multipart field whose name
or text holds a NUL or bytes that are not UTF-8 must be refused so, as it is in a URL-encoded form). Each
request starts from a baseline the route accepts (checked), so a value is refused for itself, not for what is
missing beside it.
Every path and query parameter gets every hostile value on both stores. In bodies, forms, tokens and cookies
each hostile value at each place (in URL-encoded forms each field left out, too) goes to one of the two stores,
in turn by a hash of the pair (every pair to both with CLAUSEWATCH_SLOW=1): signing in and making accounts take a
deliberately slow password hash each, and a report's form without its format renders a PDF.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from collector import auth
from collector.app import create_app
from collector.settings import Settings

PASSWORD = "correct horse battery"
NOW = datetime.now(UTC).replace(microsecond=0)

# text as it may come in a URL or a form (already percent-encoded where it holds bytes)
HOSTILE_TEXT: dict[str, str] = {
    "nul": "a%00b",
    "not-utf8": "a%FF%FEb",
    "utf8-surrogate": "a%ED%A0%80b",
    "huge": "x" * 60_000,
    "far-future": quote("9999-12-31T23:59:59+00:00"),
    "before-1970": quote("1969-12-31T23:59:59+00:00"),
    "year-1": quote("0001-01-01T00:00:00+14:00"),
    "int-2^63": "9223372036854775808",
    "int-below-minus-2^63": "-9223372036854775809",
    "int-10^30": "1" + "0" * 30,
    "nan": "NaN",
    "infinity": "-Infinity",
    "1e400": "1e400",
    "unicode-digit": "%C2%B2",  # str.isdigit() takes it, int() does not
}

# a JSON leaf's replacements, by the leaf's kind
HOSTILE_JSON_TEXT: dict[str, str] = {
    "huge": "x" * 60_000,
    "far-future": "9999-12-31T23:59:59+00:00",
    "before-1970": "1969-12-31T23:59:59+00:00",
    "year-1": "0001-01-01T00:00:00+14:00",
    "control-chars": "a\x01\x7f\u202eb",
}
HOSTILE_JSON_RAW: dict[str, str] = {  # written into the body as they are
    "lone-surrogate": '"\\ud800"',
    "nul": '"a\\u0000b"',
    "int-2^63": str(2**63),
    "int-2^64-1": str(2**64 - 1),
    "int-below-minus-2^63": str(-(2**63) - 1),
    "int-minus-2^63": str(-(2**63)),
    "double-max": "1.7976931348623157e308",
    "double-overflow": "1e400",
    "nan": "NaN",
    "empty-object": "{}",
}


@dataclass
class Caller:
    client: TestClient
    store: Any
    backend: str
    tokens: dict[str, str] = field(default_factory=dict)  # role (or "agent") -> token
    csrf: dict[str, str] = field(default_factory=dict)

    def headers(self, role: str | None) -> dict[str, str]:
        return {"Authorization": "Bearer " + self.tokens[role]} if role else {}

    def takes(self, *place: str) -> bool:
        """Whether this store is sent the hostile value at this place (method, path, field, value's label)."""
        if os.environ.get("CLAUSEWATCH_SLOW"):
            return True
        turn = hashlib.sha256("\0".join(place).encode()).digest()[0] % 2
        return turn == ("sqlite", "postgresql").index(self.backend)


@pytest.fixture(params=["sqlite", "postgresql"])
def caller(request, tmp_path) -> Iterator[Caller]:
    db = request.getfixturevalue("postgres_url") if request.param == "postgresql" else str(tmp_path / "cw.db")
    app = create_app(Settings(db=db))  # type: ignore[arg-type]  # a URL or a file's name, as the setting takes
    c = Caller(TestClient(app, raise_server_exceptions=False), app.state.cw.store, request.param)
    for role in ("admin", "manager"):
        auth.add_user(c.store, role, role, PASSWORD)
        c.tokens[role], c.csrf[role], _ = auth.create_session(c.store, role)  # a web session: pages need its CSRF
    _, secret = auth.create_enroll_secret(c.store)
    c.tokens["agent"] = c.client.post("/api/v1/enroll", json={"secret": secret, "host_id": "host-a"}).json()["token"]
    c.tokens["secret"] = secret
    yield c
    app.state.cw.store.close()


def routes(c: Caller) -> list[tuple[str, str, APIRoute]]:
    """(method, path, route) of every route of the app, as served (prefixes included)."""
    found = []
    for r in c.client.app.routes:  # type: ignore[attr-defined]
        contexts = r.effective_route_contexts() if hasattr(r, "effective_route_contexts") else [r]
        for ctx in contexts:
            route = getattr(ctx, "original_route", ctx)
            if isinstance(route, APIRoute):
                found += [(m, getattr(ctx, "path", route.path), route) for m in sorted(route.methods or ())]
    return found


def params(route: APIRoute, where: str) -> list[Any]:
    """The route's parameters of one kind ("query", "path", "body") with those of its dependencies."""
    out, todo = [], [route.dependant]
    while todo:
        d = todo.pop()
        out += getattr(d, f"{where}_params")
        todo += d.dependencies
    return out


def role_for(method: str, path: str) -> str | None:
    if path in ("/api/v1/auth/token", "/api/v1/enroll", "/login", "/healthz", "/docs", "/redoc"):
        return None
    if path in ("/api/v1/observations", "/api/v1/blobs/{sha256}") and method != "GET":
        return "agent"
    if path in ("/api/v1/attestations", "/attestations", "/api/v1/waivers", "/api/v1/exceptions", "/waivers",
                "/exceptions") and method == "POST":
        return "manager"
    return "admin"


Answer = tuple[str, Any, str | None]  # what was sent, the answer, the field a 422 must name


def failures(answers: Sequence[Answer], steady: dict[str, str] | None = None) -> list[str]:
    """What is wrong with each (what was sent, answer, field name that a 422 must name); `steady`: a route's
    answer to its baseline sent again (a name taken, say), which a hostile value need not name."""
    bad = []
    for sent, r, name in answers:
        if r.status_code >= 500:
            bad.append(f"{sent}: {r.status_code} {r.text[:200]}")
        elif r.status_code == 422 and name and name not in r.text and "the path" not in r.text and \
                r.text != (steady or {}).get(sent.split(" (")[0]):
            bad.append(f"{sent}: 422 without naming {name!r}: {r.text[:200]}")
    return bad


# --- path and query ------------------------------------------------------------------------------

def _path(path: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        path = path.replace("{" + name + ":path}", value).replace("{" + name + "}", value)
    return path


# what a required query parameter is, unless it is the one probed
PATH_BASELINE = {"sha256": hashlib.sha256(b"probe").hexdigest()}  # a blob's is the hash of its bytes (b"probe")
QUERY_BASELINE = {"from": quote("2026-01-01T00:00:00+08:00"), "to": quote(NOW.isoformat()), "name": "f.txt"}
# optional parameters sent with the baseline all the same: a report as CSV is written in milliseconds, as a
# PDF (the default) in seconds, and a hostile value the route accepts would wait for one each time
QUERY_CHEAP = {"format": "csv"}


def test_path_and_query_parameters(caller):
    answers: list[Answer] = []
    for method, path, route in routes(caller):
        headers = {"Content-Type": "application/octet-stream", **caller.headers(role_for(method, path))}
        body = b"" if method == "GET" else b"probe"
        path_names = [p.alias for p in params(route, "path")]
        query_names = [p.alias for p in params(route, "query")]
        base = {n: PATH_BASELINE.get(n, "x") for n in path_names}
        required = {p.alias: QUERY_BASELINE[p.alias] for p in params(route, "query") if p.field_info.is_required()}
        required |= {n: QUERY_CHEAP[n] for n in query_names if n in QUERY_CHEAP}
        for name in path_names + query_names:
            for label, value in HOSTILE_TEXT.items():
                query = "&".join(f"{k}={v}" for k, v in {**required, name: value}.items() if k not in path_names)
                url = _path(path, {**base, name: value} if name in path_names else base) + "?" + query
                r = caller.client.request(method, url, content=body, headers=headers)
                answers.append((f"{method} {url[:120]} ({name}: {label})", r, name))
    assert not failures(answers), "\n".join(failures(answers))


# --- JSON bodies ---------------------------------------------------------------------------------

def _json_baselines(c: Caller) -> dict[str, dict[str, Any]]:
    day = NOW.isoformat()
    return {
        "/api/v1/auth/token": {"username": "admin", "password": PASSWORD},
        "/api/v1/users": {"name": "probe", "role": "auditor", "password": "a long enough password"},
        "/api/v1/enroll": {"secret": c.tokens["secret"], "host_id": "host-b", "hostname": "b",
                           "reenroll_code": "12345678"},
        "/api/v1/source-tokens": {"name": "probe", "subject_kinds": ["camera"]},
        "/api/v1/attestations": {"period_start": "2026-01-01T00:00:00+08:00", "period_end": day,
                                 "statement": "all good here", "corrects": None, "controls": ["USB-BLOCK"],
                                 "site": "default", "acknowledge_failures": True},
        "/api/v1/waivers": {"control": "USB-BLOCK", "subject_kind": "host", "subject": "host-a",
                            "reason": "long enough", "end": "2030-01-01T00:00:00+08:00", "owner": "admin"},
        "/api/v1/exceptions": {"control": "USB-BLOCK", "subject_kind": "host", "subject": "host-a",
                               "reason": "long enough", "end": "2030-01-01T00:00:00+08:00", "owner": "admin"},
        "/api/v1/climate/readings": {"readings": [{"sensor": "s1", "temperature_c": 21.5, "humidity_pct": 40,
                                                   "time": day, "probe": "p", "room": "r"}]},
        "/api/v1/access/events": {"events": [{"time": day, "door": "d1", "badge": "b1", "person": "p",
                                              "direction": "in", "result": "granted", "duration_s": 3}],
                                  "approvals": [{"approval_id": "a1", "person": "p", "door": "d1",
                                                 "start": day, "end": day, "approved_by": "m"}],
                                  "badges": [{"badge": "b1", "person": "p", "role": "staff",
                                              "valid_from": "2020-01-01", "valid_to": "2030-01-01"}],
                                  "machine_room_doors": ["d1"], "hours": "08:00-18:00"},
        "/api/v1/observations": {"observations": [{
            "id": "obs-00000001", "source": "agent:host-a", "site": "default", "subject_kind": "host",
            "subject_id": "host-a", "kind": "usb.devices", "key": "", "observed_at": day, "seq": 1,
            "payload": {"enforcement": "sysfs", "policy_ok": True, "devices": [
                {"vendor_id": "0781", "product_id": "5567", "classes": ["08"], "authorized": False,
                 "size_bytes": 1}]}, "evidence": [{"sha256": "0" * 64, "name": "f.txt", "size": 1}]}]},
    }


def _leaves(value: Any, at: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, (*at, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _leaves(v, (*at, i))
    else:
        yield at, value


_MARK = "@@probe-value@@"


def _replaced(value: Any, at: tuple, new: Any) -> Any:
    if not at:
        return new
    copy = list(value) if isinstance(value, list) else dict(value)
    copy[at[0]] = _replaced(value[at[0]], at[1:], new)
    return copy


def _bodies(base: dict[str, Any]) -> Iterator[tuple[str, str, bytes]]:
    """(leaf's place, value's label, body) for every hostile value at every leaf of `base`."""
    for at, leaf in _leaves(base):
        name = str([a for a in at if isinstance(a, str)][-1])
        for label, text in HOSTILE_JSON_TEXT.items():
            yield name, label, json.dumps(_replaced(base, at, text)).encode()
        for label, raw in HOSTILE_JSON_RAW.items():
            body = json.dumps(_replaced(base, at, _MARK)).replace(f'"{_MARK}"', raw)
            assert raw in body
            yield name, label, body.encode()
        del leaf


def test_json_bodies(caller):
    baselines, answers, unprobed, steady = _json_baselines(caller), [], [], {}
    for method, path, _ in routes(caller):
        if method not in ("POST", "PUT") or path not in baselines:
            continue
        headers = {"Content-Type": "application/json", **caller.headers(role_for(method, path))}
        first = caller.client.request(method, path, content=json.dumps(baselines[path]).encode(), headers=headers)
        if first.status_code >= 400 and path != "/api/v1/enroll":  # no re-enroll code can be known beforehand
            unprobed.append(f"{path}: baseline answered {first.status_code} {first.text[:200]}")
        again = caller.client.request(method, path, content=json.dumps(baselines[path]).encode(), headers=headers)
        steady[f"{method} {path}"] = again.text
        for name, label, body in _bodies(baselines[path]):
            if not caller.takes(method, path, name, label):
                continue
            r = caller.client.request(method, path, content=body, headers=headers)
            answers.append((f"{method} {path} ({name}: {label})", r, name))
    assert not unprobed, "\n".join(unprobed)
    assert not failures(answers, steady), "\n".join(failures(answers, steady))


# --- URL-encoded web forms -----------------------------------------------------------------------

def _form_baselines() -> dict[str, dict[str, str]]:
    day = NOW.date().isoformat()
    return {
        "/login": {"username": "admin", "password": PASSWORD, "next": "/"},
        "/alerts/ack": {"control": "USB-BLOCK", "subject_kind": "host", "subject_id": "host-a", "comment": "seen"},
        "/attestations": {"start": "2026-01-01", "end": day, "statement": "all good here", "corrects": "1",
                          "acknowledge_failures": "1"},
        "/waivers": {"control": "USB-BLOCK", "subject": "host-a", "reason": "long enough", "end": "2030-01-01",
                     "owner": "admin"},
        "/exceptions": {"control": "USB-BLOCK", "subject": "host-a", "reason": "long enough", "end": "2030-01-01",
                        "owner": "admin"},
        "/reports/download": {"start": "2026-01-01", "end": day, "fmt": "csv", "lang": "en", "site": "default"},
        "/admin/users": {"name": "probe", "role": "auditor", "password": "a long enough password"},
        "/admin/enroll-secrets": {"rotate": ""},
        "/admin/users/state": {"name": "probe", "disable": "1"},
        "/admin/agents/revoke": {"host_id": "host-z"},
        "/admin/reenroll-codes": {"host_id": "host-a"},
        "/lang": {"lang": "en", "next": "/"},
        "/logout": {},
    }


def _encoded(fields: dict[str, str]) -> bytes:
    """URL-encoded `fields`, whose values are already percent-encoded where they hold bytes."""
    return "&".join(f"{quote(k)}={v if '%' in v else quote(v)}" for k, v in fields.items()).encode()


def test_url_encoded_forms(caller):
    answers: list[Answer] = []
    for method, path, route in routes(caller):
        base = _form_baselines().get(path)
        if method != "POST" or base is None:
            continue
        role = role_for(method, path)
        if role:
            base = {**base, "csrf_token": caller.csrf[role]}
        headers = {"Content-Type": "application/x-www-form-urlencoded", **caller.headers(role)}
        for name in base:
            for label, value in HOSTILE_TEXT.items():
                if not caller.takes(method, path, name, label):
                    continue
                r = caller.client.post(path, content=_encoded({**base, name: value}), headers=headers,
                                       follow_redirects=False)
                answers.append((f"POST {path} ({name}: {label})", r, name))
            if caller.takes(method, path, name, "missing"):  # a report's form without `fmt` renders a PDF
                r = caller.client.post(path, content=_encoded({k: v for k, v in base.items() if k != name}),
                                       headers=headers, follow_redirects=False)
                answers.append((f"POST {path} ({name}: missing)", r, name))
        assert {p.alias for p in params(route, "body")} <= {*base, "csrf_token"}, path
    assert not failures(answers), "\n".join(failures(answers))


# --- multipart uploads ---------------------------------------------------------------------------

def _multipart(fields: dict[str, bytes], files: dict[str, tuple[bytes, bytes]]) -> tuple[bytes, str]:
    """A multipart body written by hand, so names and values may hold any bytes (a field's name as its bytes
    decoded with "surrogateescape"); files: name -> (filename, data)."""
    boundary = "probe-boundary-7d1f"
    out = b""
    for name, value in fields.items():
        out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"").encode()
        out += name.encode("utf-8", "surrogateescape") + b"\"\r\n\r\n" + value + b"\r\n"
    for name, (filename, data) in files.items():
        out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"").encode()
        out += filename + b"\"\r\nContent-Type: text/csv\r\n\r\n" + data + b"\r\n"
    return out + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


HOSTILE_FIELD_BYTES: dict[str, bytes] = {
    "nul": b"a\x00b",
    "not-utf8": b"a\xff\xfeb",
    "utf8-surrogate": b"a\xed\xa0\x80b",
    "huge": b"x" * 60_000,
    "far-future": b"9999-12-31",
    "before-1970": b"1969-12-31",
    "year-1": b"0001-01-01",
    "int-2^63": b"9223372036854775808",
    "nan": b"NaN",
}
UNREADABLE = ("nul", "not-utf8", "utf8-surrogate")  # what no text field's name or value may hold: a 422 naming it
HOSTILE_FILENAMES: dict[str, bytes] = {
    "nul": b"a\x00b.pdf",
    "not-utf8": b"\xff\xfe.pdf",
    "utf8-surrogate": b"\xed\xa0\x80.pdf",
    "parent-path": b"../../../etc/passwd",
    "absolute-path": b"/etc/passwd",
    "windows-path": b"C:\\\\x\\\\y.pdf",
    "huge": b"x" * 5000 + b".pdf",
    "empty": b"",
    "control-chars": b"a\x01\x1b[31m\r.pdf",
}

_EVENTS = (b"time,door,badge,person,direction,result,duration_s\n"
           b"2026-11-29T10:00:00+08:00,d1,b1,p,in,granted,3\n")
_APPROVALS = (b"approval_id,person,door,start,end,approved_by\n"
              b"a1,p,d1,2026-11-29T08:00:00+08:00,2026-11-29T18:00:00+08:00,m\n")
_BADGES = b"badge,person,role,valid_from,valid_to\nb1,p,staff,2020-01-01,2030-01-01\n"
Upload = tuple[dict[str, bytes], dict[str, tuple[bytes, bytes]]]  # text fields; files: name -> (filename, data)


def _upload_baselines(c: Caller) -> dict[str, Upload]:
    manual = next(x["id"] for x in c.client.get("/api/v1/controls", headers=c.headers("admin")).json()
                  if x.get("manual"))
    fields = {"control": manual.encode(), "valid_until": b"2030-01-01", "note": b"drill",
              "dated": NOW.date().isoformat().encode()}
    files = {"file": (b"drill.pdf", b"%PDF-1.4 probe")}
    return {
        "/api/v1/evidence": (fields, files),
        "/evidence/upload": ({**fields, "csrf_token": c.csrf["admin"].encode()}, files),
        "/api/v1/access/audit": ({"machine_room_door": b"d1", "hours": b"08:00-18:00"},
                                 {"events": (b"events.csv", _EVENTS), "approvals": (b"approvals.csv", _APPROVALS),
                                  "badges": (b"badges.csv", _BADGES)}),
    }


def _upload_variants(fields: dict[str, bytes], files: dict[str, tuple[bytes, bytes]]
                     ) -> Iterator[tuple[str, str, Upload, str | None]]:
    """(field, what is hostile, upload, the field's name as a 422 must show it if the upload must be refused) for
    each hostile text, field name, file name and file, and each part left out."""
    for name in fields:
        if name == "csrf_token":
            continue
        for label, value in HOSTILE_FIELD_BYTES.items():
            yield name, label, ({**fields, name: value}, files), name if label in UNREADABLE else None
        yield name, "missing", ({k: v for k, v in fields.items() if k != name}, files), None
    for label in UNREADABLE:  # a field of its own, so named
        sent = HOSTILE_FIELD_BYTES[label]
        yield "a field's name", label, ({**fields, sent.decode("utf-8", "surrogateescape"): b"x"}, files), \
            sent.decode("utf-8", "replace")
    for name, (_, data) in files.items():
        for label, filename in HOSTILE_FILENAMES.items():
            yield name, f"filename {label}", (fields, {**files, name: (filename, data)}), None
        yield name, "not UTF-8", (fields, {**files, name: (b"x.csv", b"\xff\xfe\x00" + data)}), None
        yield name, "missing", (fields, {k: v for k, v in files.items() if k != name}), None


def _send_upload(c: Caller, path: str, upload: Upload) -> Any:
    body, kind = _multipart(*upload)
    return c.client.post(path, content=body, headers={**c.headers("admin"), "Content-Type": kind},
                         follow_redirects=False)


def _not_refused(sent: str, r: Any, shown: str) -> str | None:
    """What is wrong with the answer to an upload that must be refused with a 422 naming field `shown`, if any."""
    if r.status_code == 422 and str(r.json().get("detail", "")).startswith(f"form field {shown!r} "):
        return None
    return f"{sent}: {r.status_code} without refusing {shown!r}: {r.text[:200]}"


def test_multipart_uploads(caller):
    baselines, unprobed = _upload_baselines(caller), []
    answers: list[Answer] = []
    unrefused: list[str] = []
    probed = set()
    for method, path, _ in routes(caller):
        if method != "POST" or path not in baselines:
            continue
        probed.add(path)
        first = _send_upload(caller, path, baselines[path])
        if first.status_code >= 400:
            unprobed.append(f"{path}: baseline answered {first.status_code} {first.text[:300]}")
        for name, label, upload, refused in _upload_variants(*baselines[path]):
            sent, r = f"POST {path} ({name}: {label})", _send_upload(caller, path, upload)
            answers.append((sent, r, name if refused is None else None))  # else named as _not_refused checks
            if refused is not None and (why := _not_refused(sent, r, refused)):
                unrefused.append(why)
    assert probed == set(baselines)
    assert not unprobed, "\n".join(unprobed)
    assert not unrefused, "\n".join(unrefused)
    # what was taken is shown and served again
    for u in caller.client.get("/api/v1/evidence", headers=caller.headers("admin")).json():
        for page in (f"/api/v1/evidence/{u['sha256']}", f"/evidence-files/{u['sha256']}"):
            answers.append((f"GET {page} ({u['filename'][:40]!r})", caller.client.get(page, headers=caller.headers(
                "admin")), None))
    for page in ("/evidence", "/", "/api/v1/observations?kind=access.audit", "/machine-room"):
        answers.append((f"GET {page}", caller.client.get(page, headers=caller.headers("admin")), None))
    assert not failures(answers), "\n".join(failures(answers))


# --- tokens and cookies --------------------------------------------------------------------------

HOSTILE_HEADER_BYTES: dict[str, bytes] = {
    "not-utf8": b"\xff\xfe",
    "utf8-surrogate": b"\xed\xa0\x80",
    "control-chars": b"a\x01\x7fb",
    "huge": b"x" * 6000,
    "percent-nul": b"a%00b",
}


def test_tokens_and_cookies(caller):
    answers: list[Answer] = []
    for method, path, _ in routes(caller):
        if method != "GET" or "{" in path:
            continue
        for label, value in HOSTILE_HEADER_BYTES.items():
            if not caller.takes(method, path, label):
                continue
            for headers in ({"Authorization": b"Bearer " + value}, {"Cookie": b"cw_session=" + value},
                            {"Cookie": b"cw_lang=" + value, **caller.headers("admin")}):
                r = caller.client.get(path, headers=headers, follow_redirects=False)
                answers.append((f"GET {path} ({next(iter(headers.values()))[:20]!r}: {label})", r, None))
        for lang in ("a%00b", "%FF", "x" * 5000, "__class__"):
            query = "&".join(f"{k}={v}" for k, v in {**QUERY_BASELINE, "lang": lang}.items())
            r = caller.client.get(f"{path}?{query}", headers=caller.headers("admin"), follow_redirects=False)
            answers.append((f"GET {path}?lang= ({lang[:10]})", r, "lang"))
    session = b"cw_session=" + caller.tokens["admin"].encode()
    for method, path, _ in routes(caller):  # a write with the session cookie proves its origin by its CSRF token
        if method in ("POST", "PUT") and path.startswith("/api/") and "{" not in path:
            for label, value in HOSTILE_HEADER_BYTES.items():
                r = caller.client.request(method, path, content=b"{}", headers={
                    "Cookie": session, "X-CSRF-Token": value, "Content-Type": "application/json"})
                answers.append((f"{method} {path} (X-CSRF-Token: {label})", r, None))
    assert not failures(answers), "\n".join(failures(answers))
