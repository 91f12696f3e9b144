"""Every request body has a size limit, every JSON body is JSON the store can keep, and no request's
path, query or form holds a NUL (no stored text can: PostgreSQL refuses it in any text it is asked to
compare).

One ASGI middleware in front of every route, so a route added later is covered too: a body over its
route's limit is refused with 413 before it is read (by Content-Length) or as soon as it grows past
it (chunked), and a JSON body with NaN, Infinity, a number out of range (an integer beyond a database's
BIGINT) or a lone surrogate is refused
with 422 before any route sees it, as is a path, query parameter or URL-encoded form field with a NUL in
it, or a query parameter or URL-encoded form field whose bytes are not UTF-8 (named). A multipart form's
field names and text values are judged alike, from their bytes as the route's own parse of the form reads
them (an upload is parsed once; its files' bytes are not looked at). Routes that may be called without a
token accept little.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import starlette.requests
from fastapi import HTTPException, Request
from python_multipart.multipart import parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.formparsers import MultiPartParser, MultipartPart
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from collector.api.access import MAX_UPLOAD_BYTES
from collector.api.errors import SafeJSONResponse
from collector.api.observations import MAX_BLOB_BYTES
from collector.people.evidence import MAX_EVIDENCE_BYTES
from collector.strictjson import MAX_BIGINT, JsonRejected, strict_loads

KIB, MIB = 1024, 1024 * 1024
UNAUTHENTICATED_BYTES = 16 * KIB
DEFAULT_BYTES = 1 * MIB
FORM_OVERHEAD_BYTES = 64 * KIB  # multipart boundaries and the small fields beside a file


@dataclass(frozen=True)
class BodyLimit:
    method: str
    path: str  # exact, or a prefix when it ends with "/"
    max_bytes: int
    decoded_by_route: bool = False  # the route decodes its JSON itself (ingest: in a worker process)

    def matches(self, method: str, path: str) -> bool:
        return method == self.method and (path == self.path or (self.path.endswith("/") and path.startswith(self.path)))


def body_limits(max_ingest_bytes: int) -> list[BodyLimit]:
    """The routes that take more than DEFAULT_BYTES, and those anyone may call (less)."""
    return [
        BodyLimit("POST", "/api/v1/auth/token", UNAUTHENTICATED_BYTES),
        BodyLimit("POST", "/api/v1/enroll", UNAUTHENTICATED_BYTES),
        BodyLimit("POST", "/login", UNAUTHENTICATED_BYTES),
        BodyLimit("POST", "/api/v1/observations", max_ingest_bytes, decoded_by_route=True),
        BodyLimit("POST", "/api/v1/access/events", max_ingest_bytes),
        BodyLimit("POST", "/api/v1/access/audit", MAX_UPLOAD_BYTES + FORM_OVERHEAD_BYTES),
        BodyLimit("PUT", "/api/v1/blobs/", MAX_BLOB_BYTES),
        BodyLimit("POST", "/api/v1/evidence", MAX_EVIDENCE_BYTES + FORM_OVERHEAD_BYTES),
        BodyLimit("POST", "/evidence/upload", MAX_EVIDENCE_BYTES + FORM_OVERHEAD_BYTES),
    ]


@dataclass(frozen=True)
class BodyHeaders:
    """What the request's headers say of its body, read in one pass over them."""
    declared: int | None  # Content-Length, when it is a number
    json: bool  # Content-Type is JSON
    chunked: bool  # a Transfer-Encoding is given: the body may run past any Content-Length
    form: bool = False  # Content-Type is a URL-encoded form (the web pages' forms)

    @classmethod
    def of(cls, scope: Scope) -> BodyHeaders:
        declared, json, chunked, form, seen_length, seen_type = None, False, False, False, False, False
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and not seen_length:
                seen_length, declared = True, int(value) if value.isdigit() else None
            elif name == b"content-type" and not seen_type:
                seen_type = True
                media = value.split(b";")[0].strip().lower()
                json = media == b"application/json" or media.endswith(b"+json")
                form = media == b"application/x-www-form-urlencoded"
            elif name == b"transfer-encoding":
                chunked = True
        return cls(declared, json, chunked, form)

    def within(self, max_bytes: int) -> bool:
        """Whether the body cannot exceed `max_bytes`: the server reads no more than a declared length."""
        return self.declared is not None and self.declared <= max_bytes and not self.chunked


class BodyGuard:
    def __init__(self, app: ASGIApp, limits: Sequence[BodyLimit], default_bytes: int = DEFAULT_BYTES):
        self.app, self.limits, self.default_bytes = app, list(limits), default_bytes

    def _limit(self, method: str, path: str) -> BodyLimit:
        found = next((lim for lim in self.limits if lim.matches(method, path)), None)
        return found or BodyLimit(method, path, self.default_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if (why := address_refused(scope)) is not None:
            await SafeJSONResponse({"detail": why}, 422)(scope, receive, send)
            return
        limit = self._limit(scope["method"], scope["path"])
        body = BodyHeaders.of(scope)
        if body.declared is not None and body.declared > limit.max_bytes:
            await _too_large(limit)(scope, receive, send)
            return
        if body.json and not limit.decoded_by_route:
            await self._checked(scope, receive, send, limit, _json_refused)
            return
        if body.form:
            await self._checked(scope, receive, send, limit, _form_refused)
            return
        if body.within(limit.max_bytes):  # nothing to count: every batch posted by an agent comes this way
            await self.app(scope, receive, send)
            return
        await self._counted(scope, receive, send, limit)

    async def _counted(self, scope: Scope, receive: Receive, send: Send, limit: BodyLimit) -> None:
        """Pass the body through as it streams; once it exceeds the limit, answer 413 and tell the
        route the client went away (a route's own parser would turn an error raised here into a 400)."""
        seen, started, refused = 0, False, False

        async def counting_receive() -> Message:
            nonlocal seen, refused
            message = await receive()
            if message["type"] == "http.request" and not refused:
                seen += len(message.get("body", b""))
                if seen > limit.max_bytes:
                    refused = True
                    if not started:
                        await _too_large(limit)(scope, receive, send)
                    return {"type": "http.disconnect"}
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the 413 went out instead
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except Exception:
            if not refused:
                raise

    async def _checked(self, scope: Scope, receive: Receive, send: Send, limit: BodyLimit,
                       refused: Callable[[bytes], str | None]) -> None:
        """Read the whole (bounded) body, refuse it with 422 if `refused` says why, then hand it on."""
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit.max_bytes:
                await _too_large(limit)(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if body:  # a large body is decoded off the event loop, which serves every other request
            why = await run_in_threadpool(refused, body) if size > 64 * KIB else refused(body)
            if why is not None:
                await SafeJSONResponse({"detail": why}, 422)(scope, receive, send)
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


def _json_refused(body: bytes) -> str | None:
    """Why `body` is not JSON the store can keep, if it is not. Its integers are below 2^63: any may be an id
    the store is asked to look up (a database integer), where a larger one was a server error."""
    try:
        strict_loads(body, max_int=MAX_BIGINT)
    except JsonRejected as e:
        return str(e)
    return None


def _form_refused(body: bytes) -> str | None:
    """Why a URL-encoded form cannot be taken: a field that is not text the store can keep."""
    found = unreadable_field(body)
    return None if found is None else form_field_refusal(*found)


def form_field_refusal(name: str, why: str) -> str:
    """What a 422 says of a form field (URL-encoded or multipart) that is not text: "form field 'note' holds a
    NUL character"."""
    return f"form field {name!r} {why}"


def unreadable_text(sent: bytes | bytearray) -> str | None:
    """Why the bytes sent as a field's name or value are not text the store can keep, if they are not: a NUL
    (PostgreSQL refuses it in any text), or bytes that are not UTF-8 (which a parser keeps as replacement
    characters or as Latin-1, not as what was sent)."""
    if b"\x00" in sent:
        return "holds a NUL character"
    try:
        sent.decode("utf-8")
    except UnicodeDecodeError:
        return "is not UTF-8 text"
    return None


# what may make a URL-encoded field unreadable: a NUL, or a byte beyond ASCII (escaped or not)
_PERHAPS_UNREADABLE = re.compile(rb"%00|%[89a-fA-F][0-9a-fA-F]|[\x80-\xff]")


def unreadable_field(encoded: bytes) -> tuple[str, str] | None:
    """The first field of URL-encoded `encoded` (a query or a form) whose name or value is not text the store
    can keep, and why (`unreadable_text`); None when every field is text."""
    if not _PERHAPS_UNREADABLE.search(encoded):
        return None
    for name, value in parse_qsl(encoded.decode("latin-1"), keep_blank_values=True, encoding="latin-1"):
        sent_name = name.encode("latin-1")  # each character one byte as sent
        why = unreadable_text(sent_name) or unreadable_text(value.encode("latin-1"))
        if why is not None:
            return sent_name.decode("utf-8", "replace"), why
    return None


def address_refused(scope: Scope) -> str | None:
    """Why the request's path or query cannot be taken ("query parameter 'kind' holds a NUL character"), if so."""
    if "\x00" in scope["path"]:
        return "the path holds a NUL character"
    found = unreadable_field(scope.get("query_string", b""))
    return None if found is None else f"query parameter {found[0]!r} {found[1]}"


class CheckedMultipartForm(FormData):
    """A multipart form, with the first of its fields that is not text the store can keep: (name as shown, why)."""

    def __init__(self, items: list[tuple[str, Any]], unreadable: tuple[str, str] | None) -> None:
        super().__init__(items)
        self.unreadable = unreadable


class TextCheckingMultiPartParser(MultiPartParser):
    """Starlette's multipart parser, which also judges each part's name, and a text part's value, from the bytes
    as sent: Starlette decodes bytes that are not UTF-8 as Latin-1, after which they cannot be told from text
    that was (a legitimate 'é' re-encoded as Latin-1 is not UTF-8 either). A file part's bytes are not looked
    at: they are the file's, written once to its spool as they stream in."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.unreadable: tuple[str, str] | None = None

    def on_part_end(self) -> None:
        if self.unreadable is None:
            self.unreadable = _unreadable_part(self._current_part)
        super().on_part_end()

    async def parse(self) -> FormData:
        return CheckedMultipartForm((await super().parse()).multi_items(), self.unreadable)


def _unreadable_part(part: MultipartPart) -> tuple[str, str] | None:
    """(name as shown, why) when the part's name, or its value if it is a text field, is not text."""
    _, options = parse_options_header(part.content_disposition)  # its few bytes again: Starlette keeps the name decoded
    name = options.get(b"name", b"")
    why = unreadable_text(name) or (unreadable_text(part.data) if part.file is None else None)
    return None if why is None else (name.decode("utf-8", "replace"), why)


def check_multipart_text() -> None:
    """Have every request parse its multipart form with TextCheckingMultiPartParser: Starlette's Request builds
    its parser from this name, and neither it nor FastAPI offers another way in."""
    starlette.requests.MultiPartParser = TextCheckingMultiPartParser  # type: ignore[misc]  # a subclass


async def refuse_unreadable_multipart_text(request: Request) -> None:
    """A dependency of every route: a field of a multipart form (an upload's control, note, door) whose name, or
    value if it is text, holds a NUL or bytes that are not UTF-8 is a 422 naming it, as in a URL-encoded form.
    The middleware above would have to parse a whole upload (up to 512 MiB) a second time to find one; here the
    form the route reads is already parsed (and kept), by TextCheckingMultiPartParser (`check_multipart_text`)."""
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        return
    form = await request.form()
    if isinstance(form, CheckedMultipartForm) and form.unreadable is not None:
        raise HTTPException(422, form_field_refusal(*form.unreadable))


def _too_large(limit: BodyLimit) -> SafeJSONResponse:
    return SafeJSONResponse({"detail": f"request body exceeds the limit of {limit.max_bytes} bytes for "
                                       f"{limit.method} {limit.path}"}, 413, headers={"Connection": "close"})
