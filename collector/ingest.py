"""Turning a posted batch into store rows: parse, validate, authorise, encode.

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
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from collector.auth import Principal
from collector.store.base import ObservationRow
from collector.store.sqlite import observation_row
from collector.strictjson import JsonRejected, integer_out_of_range, refuse_unkeepable
from rules.model import Observation

log = logging.getLogger(__name__)


class IngestBody(BaseModel):
    observations: list[Observation]


_body = TypeAdapter(IngestBody)


class BatchRejected(Exception):
    """The whole batch is refused with this HTTP status and detail; nothing is stored."""

    def __init__(self, status: int, detail: Any):
        super().__init__(status, detail)
        self.status, self.detail = status, detail


def _validation_detail(e: ValidationError) -> list[dict[str, Any]]:
    out = []
    for err in e.errors()[:50]:
        loc = list(err["loc"])
        if loc[:1] == ["observations"]:
            loc = loc[1:]
        index = loc[0] if loc and isinstance(loc[0], int) else None
        field = ".".join(str(p) for p in loc[1:]) if index is not None else ".".join(str(p) for p in loc)
        out.append({"index": index, "field": field, "message": err["msg"],
                    "where": f"observations[{index}].{field}" if index is not None else field})
    return out


def prepare(body: bytes, principal: Principal, max_batch: int) -> list[ObservationRow]:
    """Validate a batch `{"observations": [...]}` and encode it as store rows, or raise BatchRejected."""
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
    for i, o in enumerate(batch):
        if not principal.may_write(o.subject_kind, o.subject_id):
            raise BatchRejected(403, f"observations[{i}]: {principal.actor} may not write "
                                     f"{o.subject_kind}/{o.subject_id}")
        if principal.kind != "user":  # agents and sources cannot claim another source or site
            o.source, o.site = principal.actor, principal.site
    return [_row(i, o) for i, o in enumerate(batch)]


def _row(index: int, o: Observation) -> ObservationRow:
    try:
        return observation_row(o)
    except TypeError as e:  # orjson's encoding errors are TypeErrors
        if integer_out_of_range(e):
            raise BatchRejected(422, f"observations[{index}]: an integer out of range (from -2^63 to 2^64-1)"
                                ) from None
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
                                                 initializer=_leave_with_parent, initargs=(os.getpid(),))
        return self._executor

    async def prepare(self, body: bytes, principal: Principal, max_batch: int) -> list[ObservationRow]:
        if not self.processes or len(body) < self.min_bytes:
            return prepare(body, principal, max_batch)
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool(), prepare, body, principal,
                                                                    max_batch)
        except BrokenProcessPool:  # a worker died (killed, out of memory): start afresh, serve this one here
            log.warning("ingest preparation process died; restarting the pool")
            self.close()
            return prepare(body, principal, max_batch)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None


def _leave_with_parent(server_pid: int) -> None:
    """In each preparation process: exit once the server is gone. Killed with -9, the server
    cannot tell its workers, and a worker waiting for work would otherwise wait for ever."""
    def watch() -> None:
        while os.getppid() == server_pid:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="leave-with-parent", daemon=True).start()
