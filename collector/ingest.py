"""Turning a posted batch into store rows: parse, validate, authorise, encode.

Each observation is checked against its kind (`rules/kinds.yaml`): the token must own the kind, the
subject must be of the kind's subject kind, the payload must fit the shape the kind's checks read,
and the sender's clock may run ahead of the collector's by at most `max_skew_s`.

This is most of the CPU an observation costs, and it needs nothing but the request body and the
caller's principal. Large batches are prepared in worker processes (`PreparePool`) so that the
server's own process, which holds one interpreter lock, spends its time on the store and the
engine; small batches are prepared in place, where a process hop would cost more than it saves.
"""
from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, create_model

from collector.auth import Principal
from collector.heap import settle_heap
from collector.store.base import ObservationRow
from collector.store.observation_rows import observation_row, stored_fields
from collector.strictjson import (
    JsonRejected,
    integer_out_of_range,
    integer_out_of_range_at,
    may_exceed_64_bits,
    refuse_unkeepable,
)
from rules.kinds import KindSpec, load_kinds
from rules.model import EARLIEST, LATEST, PATTERN_RULES, Observation

log = logging.getLogger(__name__)


class IngestBody(BaseModel):
    observations: list[Observation]


_body = TypeAdapter(IngestBody)
DEFAULT_MAX_SKEW_S = 300.0
OWNER_NAMES = {"agent": "the endpoint agent", "camera": "the camera worker", "poller": "a poller",
               "importer": "an importer", "canary": "the canary", "collector": "the collector itself"}


class BatchRejected(Exception):
    """The whole batch is refused with this HTTP status and detail; nothing is stored."""

    def __init__(self, status: int, detail: Any):
        super().__init__(status, detail)
        self.status, self.detail = status, detail


def _detail(index: int | None, field: str, message: str) -> dict[str, Any]:
    return {"index": index, "field": field, "message": message,
            "where": f"observations[{index}].{field}" if index is not None else field}


def _validation_detail(e: ValidationError) -> list[dict[str, Any]]:
    out = []
    for err in e.errors()[:50]:
        loc = list(err["loc"])
        if loc[:1] == ["observations"]:
            loc = loc[1:]
        index = loc[0] if loc and isinstance(loc[0], int) else None
        field = ".".join(str(p) for p in loc[1:]) if index is not None else ".".join(str(p) for p in loc)
        message = PATTERN_RULES.get(field, err["msg"]) if err["type"] == "string_pattern_mismatch" else err["msg"]
        out.append(_detail(index, field, message))
    return out


def clock_problem(observed_at: datetime, now: datetime, max_skew_s: float) -> str | None:
    """Why a time is too far in the future to take from a sender (None when it is not)."""
    ahead = (observed_at - now).total_seconds()
    if ahead <= max_skew_s:
        return None
    when = f"{ahead / 86400:.0f} days" if ahead >= 86400 else f"{ahead:.0f} s"
    return (f"{observed_at.isoformat()} is {when} ahead of the collector's clock ({now.isoformat()}); "
            f"a sender's clock may run ahead by at most {max_skew_s:g} s")


def _kind_problems(i: int, o: Observation, spec: KindSpec | None, now: datetime,
                   max_skew_s: float, latest_taken: datetime) -> list[dict[str, Any]]:
    """What makes one observation unfit for its kind, as 422 details naming index and field.
    `latest_taken`: now + max_skew_s, the latest time taken from a sender."""
    if spec is not None and o.subject_kind in spec.subjects and o.observed_at <= latest_taken \
            and not spec.payload_errors(o.payload):
        return []  # the common case, in as few steps as it takes
    if spec is None:
        return [_detail(i, "kind", f"unknown observation kind {o.kind!r}: the collector takes only the kinds "
                                   "listed in docs/observations.md")]
    out = []
    if o.subject_kind not in spec.subjects:
        out.append(_detail(i, "subject_kind", f"kind {o.kind} is about {' or '.join(sorted(spec.subjects))},"
                                              f" not {o.subject_kind}"))
    if (late := clock_problem(o.observed_at, now, max_skew_s)) is not None:
        out.append(_detail(i, "observed_at", late))
    out += [_detail(i, f"payload.{field}", message) for field, message in spec.payload_errors(o.payload)]
    return out


def prepare(body: bytes, principal: Principal, max_batch: int, now: datetime | None = None,
            max_skew_s: float = DEFAULT_MAX_SKEW_S) -> list[ObservationRow]:
    """Validate a batch `{"observations": [...]}` and encode it as store rows, or raise BatchRejected.
    `now`: the collector's clock when the batch arrived.

    A batch as senders make it is taken by `_clean_rows`; any other, and every refusal, by `_checked_rows`,
    whose rows and messages are the reference."""
    now = now or datetime.now(UTC)
    rows = _clean_rows(body, principal, max_batch, now, max_skew_s)
    return rows if rows is not None else _checked_rows(body, principal, max_batch, now, max_skew_s)


# a time as senders write it (`datetime.isoformat`, with a UTC offset) in the years 1970-2999: every such text that the
# standard library reads, pydantic reads as the same moment and offset (tests/collector/test_ingest_senders_form.py)
_SENDERS_TIME = (r"^(?:19[7-9][0-9]|2[0-9]{3})-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{6})?"
                 r"[+-](?:[01][0-9]|2[0-3]):[0-5][0-9]$")
_NUL = b"\\u0000"  # the only way a JSON text holds NUL (a raw one is not JSON)
_OBSERVATION_FIELDS = frozenset(Observation.model_fields)


def _posted_batch_shape() -> type[BaseModel]:
    """A batch of `Observation`s without the checks they make in Python and without their payloads: its time
    as text of the senders' form, no `received_at`, NUL taken, other fields ignored. `_clean_rows` makes those
    checks, once per batch or in one pass, and takes each payload from the parse that `refuse_unkeepable`
    makes anyway (pydantic would build it a second time)."""
    fields: dict[str, Any] = {name: (f.annotation, f) for name, f in Observation.model_fields.items()
                              if name != "payload"}
    fields["observed_at"] = (str, Field(pattern=_SENDERS_TIME))
    fields["received_at"] = (None, None)
    shape = create_model("PostedObservation", __config__=ConfigDict(extra="ignore"), **fields)
    return create_model("PostedBatch", observations=(list[shape], ...))  # type: ignore[valid-type]


_posted_batch: TypeAdapter[Any] = TypeAdapter(_posted_batch_shape())


def _clean_rows(body: bytes, principal: Principal, max_batch: int, now: datetime,
                max_skew_s: float) -> list[ObservationRow] | None:
    """The rows of a batch whose every observation is fit (the checks of `_checked_rows`, none failing) and
    written as senders write them; None for any other batch. Its times are read by the standard library: they
    compare and convert several times faster than pydantic's."""
    if (parsed := _senders_batch(body, max_batch)) is None:
        return None
    batch, posted = parsed
    specs, may_write = _writable_kinds(principal), principal.may_write
    latest_taken = min(now + timedelta(seconds=max_skew_s), LATEST - timedelta.resolution)
    sender = (principal.actor, principal.site) if principal.kind != "user" else None
    rows = []
    for o, fields in zip(batch, posted, strict=True):
        spec, payload = specs.get(o.kind), fields.get("payload", {})
        if spec is None or o.subject_kind not in spec.subjects or not may_write(o.subject_kind, o.subject_id) \
                or not fields.keys() <= _OBSERVATION_FIELDS or type(payload) is not dict:
            return None
        try:
            moment = datetime.fromisoformat(o.observed_at)
        except ValueError:
            return None
        if not EARLIEST <= moment <= latest_taken or spec.payload_errors(payload):
            return None
        source, site = sender or (o.source, o.site)
        try:  # stored_json's bytes: every key of a posted body is a string, so the option for others is left out
            stored = orjson.dumps(stored_fields(o, source, site, _stored_time(o.observed_at, moment), payload),
                                  option=orjson.OPT_SORT_KEYS)
        except TypeError:  # whatever the encoder refuses: the checked path says what
            return None
        rows.append((o.id, source, site, o.subject_kind, o.subject_id, o.kind, o.key, moment.timestamp(), o.seq,
                     stored))
    return rows


def _senders_batch(body: bytes, max_batch: int) -> tuple[list[Any], list[dict[str, Any]]] | None:
    """A batch of 1 to `max_batch` observations in the senders' form (`_posted_batch`) and each one as orjson
    reads it (`refuse_unkeepable` refuses what orjson does; its payloads hold the values pydantic would read,
    but for integers beyond 64 bits, which it reads as doubles: a body that may hold one is left out), or None.

    The shape is checked on orjson's parse, strictly: each field of the JSON type it has in the senders' form
    (a text, a whole number, null), read as pydantic reads it from the body; any other value (a number where
    a text is due, a whole number written 1.0, ...) is left to the checked path. Reading the body once saves
    pydantic's own parse of every payload, which it would skip over only after reading it."""
    if _NUL in body or may_exceed_64_bits(body):
        return None
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    posted = parsed.get("observations") if type(parsed) is dict else None
    if type(posted) is not list or not 0 < len(posted) <= max_batch:
        return None
    try:
        batch = _posted_batch.validate_python({"observations": posted}, strict=True).observations
    except ValidationError:
        return None
    return batch, posted


def _writable_kinds(principal: Principal) -> dict[str, KindSpec]:
    """The kinds `principal` may write."""
    return {name: spec for name, spec in load_kinds().items() if principal.may_write_kind(spec.owner)}


def _stored_time(text: str, moment: datetime) -> str:
    """`moment.isoformat()` for `moment` read from `text` of the senders' form: the text itself, but for an
    offset written -00:00 or a fraction of nought."""
    return moment.isoformat() if text.endswith("-00:00") or text[19:26] == ".000000" else text


def _checked_rows(body: bytes, principal: Principal, max_batch: int, now: datetime,
                  max_skew_s: float) -> list[ObservationRow]:
    """The rows of a batch, or BatchRejected naming every problem: every field checked by `Observation`."""
    try:
        refuse_unkeepable(body)
        batch = _body.validate_json(body).observations  # one pass in pydantic-core, no dict round trip
    except JsonRejected as e:
        raise BatchRejected(422, str(e)) from None
    except ValidationError as e:
        errors = e.errors()
        if any(err["type"] == "json_invalid" for err in errors):
            raise BatchRejected(422, f"body is not JSON: {errors[0]['msg']}") from None
        if any(err["loc"][:1] != ("observations",) or len(err["loc"]) == 1 for err in errors):
            raise BatchRejected(422, 'body must be {"observations": [...]}') from None
        raise BatchRejected(422, _validation_detail(e)) from None
    if len(batch) > max_batch:
        raise BatchRejected(413, f"batch of {len(batch)} observations exceeds the limit of {max_batch}")
    if not batch:
        raise BatchRejected(422, "batch is empty")
    kinds, actor = load_kinds(), principal.actor
    latest_taken = now + timedelta(seconds=max_skew_s)
    problems: list[dict[str, Any]] = []
    for i, o in enumerate(batch):
        if not principal.may_write(o.subject_kind, o.subject_id):
            raise BatchRejected(403, f"observations[{i}]: {actor} may not write {o.subject_kind}/{o.subject_id}")
        spec = kinds.get(o.kind)
        if spec is not None and not principal.may_write_kind(spec.owner):
            raise BatchRejected(403, f"observations[{i}]: kind {o.kind} is written only by "
                                     f"{OWNER_NAMES[spec.owner]}; {actor} may not write it")
        problems += _kind_problems(i, o, spec, now, max_skew_s, latest_taken)
    if problems:
        raise BatchRejected(422, problems[:50])
    # agents and sources cannot claim another source or site: theirs are written in the rows
    sender = (actor, principal.site) if principal.kind != "user" else None
    return [_row(i, o, sender) for i, o in enumerate(batch)]


def _row(index: int, o: Observation, sender: tuple[str, str] | None) -> ObservationRow:
    try:
        return observation_row(o, sender)
    except TypeError as e:  # orjson's encoding errors are TypeErrors
        if integer_out_of_range(e):
            values = {"payload": o.payload, "evidence": [ref.model_dump() for ref in o.evidence]}
            place = integer_out_of_range_at(values, f"observations[{index}]") or f"observations[{index}]"
            raise BatchRejected(422, f"{place}: an integer out of range (from -2^63 to 2^64-1)") from None
        raise


def default_processes() -> int:
    """One preparation process per core beyond the first (the server's own), at most four."""
    return max(0, min(4, (os.cpu_count() or 1) - 1))


class PreparePool:
    """Prepares batches of at least `min_bytes` in `processes` worker processes (none: in place)."""

    def __init__(self, processes: int, *, min_bytes: int = 64 * 1024):
        self.processes, self.min_bytes = processes, min_bytes
        self._executor: ProcessPoolExecutor | None = None

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:  # spawned, not forked: the server has threads
            self._executor = ProcessPoolExecutor(self.processes, mp_context=multiprocessing.get_context("spawn"),
                                                 initializer=_start_worker, initargs=(os.getpid(),))
        return self._executor

    def start(self) -> None:
        """Start the processes now rather than at the first large batch: each spends about half a second
        of CPU importing and loading the kinds, which would otherwise fall on that batch's sender."""
        if self.processes:
            pool = self._pool()
            for _ in range(self.processes):  # a pool that spawns starts a process per task it cannot hand out
                pool.submit(int)

    async def prepare(self, body: bytes, principal: Principal, max_batch: int, now: datetime | None = None,
                      max_skew_s: float = DEFAULT_MAX_SKEW_S) -> list[ObservationRow]:
        now = now or datetime.now(UTC)
        if not self.processes or len(body) < self.min_bytes:
            return prepare(body, principal, max_batch, now, max_skew_s)
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool(), prepare, body, principal,
                                                                    max_batch, now, max_skew_s)
        except BrokenProcessPool:  # a worker died (killed, out of memory): start afresh, serve this one here
            log.warning("ingest preparation process died; restarting the pool")
            self.close()
            self.start()
            return prepare(body, principal, max_batch, now, max_skew_s)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None


def _start_worker(server_pid: int) -> None:
    """In each preparation process, before its first batch: load the kinds, settle the heap as the server
    does (with the default collector thresholds a batch cost a third more), and exit once the server is gone."""
    load_kinds()
    settle_heap()
    _leave_with_parent(server_pid)


def _leave_with_parent(server_pid: int) -> None:
    """Exit once the server is gone. Killed with -9, the server cannot tell its workers, and a worker
    waiting for work would otherwise wait for ever."""
    def watch() -> None:
        while os.getppid() == server_pid:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="leave-with-parent", daemon=True).start()
