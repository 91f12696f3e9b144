"""Planning a batch's repeats (collector/store/batch_plan.py, repeats.py): the check on the bytes that
most repeats pass (`repeats_as_is`) says "repeat" only where parsing the row and rebuilding it does,
whatever the bodies hold."""
from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from collector.proof.canonical import stored_json
from collector.store.batch_plan import DRAFT_FIRST, KeyState, PlanMemo, plan_batch
from collector.store.repeats import folds_into, head_of, parse, rebuild, repeats_as_is
from rules.model import Observation

T0 = datetime(2026, 11, 20, 8, tzinfo=UTC)
PLUS8 = timezone(timedelta(hours=8))
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _fields(kind: str = "usb.devices", *, at: datetime = T0, seq: int | None = 1, oid: str | None = None,
            payload: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"evidence": [], "id": oid or str(uuid.uuid4()), "key": "", "kind": kind, "observed_at": at.isoformat(),
            "payload": {"enforcement": "sysfs", "devices": []} if payload is None else payload, "seq": seq,
            "site": "default", "source": "agent:T001", "subject_id": "T001", "subject_kind": "host"}


def _row(fields: dict[str, Any], body: bytes | None = None, *, at: float | None = None) -> tuple[Any, ...]:
    return (fields["id"], fields["source"], fields["site"], "host", "T001", fields["kind"], "",
            datetime.fromisoformat(fields["observed_at"]).timestamp() if at is None else at, fields["seq"],
            stored_json(fields) if body is None else body)


def _again(head: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """The head observed again: a new id, a minute later unless said otherwise, the next number."""
    at = datetime.fromisoformat(head["observed_at"]) + timedelta(minutes=1)
    return {**head, "id": str(uuid.uuid4()), "observed_at": at.isoformat(), "seq": (head.get("seq") or 0) + 1,
            **changes}


def _as_folds_into_finds(head_body: bytes, row: tuple[Any, ...]) -> bool:
    """repeats_as_is on `row` against `head_body`, checked against what parsing and rebuilding find."""
    head = head_of(head_body)
    found = repeats_as_is(head, row)
    if found:
        parsed = parse(row[9], row[5])
        assert parsed is not None and head.parsed is not None and parsed.meaning == head.parsed.meaning
        assert folds_into(head, row, parsed) == (True, None)
        assert rebuild(head_body, row[0], row[7], row[8], None) == row[9]
    return found


@pytest.mark.parametrize("kind", ["usb.devices", "antivirus.status", "mail.egress"])
@pytest.mark.parametrize("at", [T0, T0.astimezone(PLUS8) + timedelta(microseconds=123457), T0 + timedelta(days=3650)])
def test_a_plain_repeat_passes_the_check_on_the_bytes(kind, at):
    payload = {"product": "ClamAV", "eicar": {"detected": True, "latency_ms": 12.5},
               "attempts": [{"elapsed_ms": 3}]}
    head = _fields(kind, at=at, payload=payload)
    assert _as_folds_into_finds(stored_json(head), _row(_again(head)))
    assert _as_folds_into_finds(stored_json(head), _row(_again(head, seq=None)))


def _odd_rows(head: dict[str, Any]) -> list[tuple[Any, ...]]:
    again = _again(head)
    body = stored_json(again)
    upper = {**again, "id": again["id"].upper()}
    late = _again(head, observed_at=(datetime.fromisoformat(head["observed_at"]) + timedelta(minutes=1))
                  .astimezone(PLUS8).isoformat())
    return [
        _row(again, json.dumps(dict(reversed(again.items())), separators=(",", ":")).encode()),  # another order
        _row(again, json.dumps(again, sort_keys=True).encode()),  # spaces
        _row(again, body.replace(b'"agent:', b'"\\u0061gent:')),  # an escape where none is needed
        _row(again, body[:-1] + b',"subject_kind":"host"}'),  # a duplicate key
        _row(again, body.replace(b'+00:00"', b'Z"')),  # another spelling of the same time
        _row(again, at=_row(again)[7] + 1e-7),  # a time a tenth of a microsecond off
        _row(again, at=_row(again)[7] + 1),
        _row(late),  # the same moment at another offset than the head's
        _row(upper, stored_json(upper)),  # an id that is not a UUID's canonical text
        _row({**again, "seq": True}),  # a sequence number that is no whole number
        _row({**again, "seq": "2"}),
        _row(again)[:5] + ("agent.heartbeat",) + _row(again)[6:],  # a kind other than the body's
        _row(_again(head, payload={**head["payload"], "state": 1})),  # another meaning
        _row(again, b"[1,2]"),
    ]


@pytest.mark.parametrize(("head", "usable"), [
    (_fields(), True),
    (_fields("antivirus.status", payload={"eicar": {"latency_ms": 3}, "note": ',"seq":1,"site":"x"'}), True),
    (_fields(payload={"id": "nested", "seq": 3, "observed_at": "then"}), True),  # the own names in the payload
    ({**_fields(), "evidence": [{"a": 1, "id": "e", "seq": 1}]}, False),  # ... and before the body's own id
    ({k: v for k, v in _fields().items() if k != "seq"}, False),  # no sequence number at all
])
def test_odd_bodies_are_never_taken_for_plain_repeats_wrongly(head, usable):
    passed = [i for i, row in enumerate(_odd_rows({**head, "seq": head.get("seq")}))
              if _as_folds_into_finds(stored_json(head), row)]
    # a time a tenth of a microsecond off is written the same; the upper-case id is refused before (`id_key`)
    assert passed == ([5, 8] if usable else [])
    assert _as_folds_into_finds(stored_json(head), _row(_again(head))) == usable


@pytest.mark.parametrize("head_body", [
    json.dumps(_fields(), separators=(",", ":")).encode(),  # a head whose bytes are not canonical
    stored_json(_fields())[:-1] + b',"site":"default"}',  # a head with a duplicate key
    stored_json({**_fields(), "evidence": [{"a": 1, "id": "e"}]}),  # a nested id before its own
])
def test_a_head_that_is_not_its_own_canonical_members_is_left_to_parsing(head_body):
    row = _row(_again(json.loads(head_body)))
    assert not repeats_as_is(head_of(head_body), row)


def test_a_plan_folds_by_the_bytes_and_again_from_its_memo_as_it_would_by_parsing():
    head = _fields(seq=0)
    rows = [_row(head)] + [_row(_again(head, seq=s, observed_at=(T0 + timedelta(minutes=s)).isoformat()))
                           for s in range(1, 6)]
    rows.append(_row(_again(head, payload={"enforcement": "none", "devices": []},
                            observed_at=(T0 + timedelta(minutes=10)).isoformat())))
    memo = PlanMemo()
    first = plan_batch(None, rows, T0.timestamp() + 3600, {("host", "T001", "usb.devices", ""): None}, {}, memo)
    assert [r[1] - DRAFT_FIRST for r in first.repeats] == [1, 2, 3, 4, 5]
    assert [r[0] - DRAFT_FIRST for r in first.full] == [0, 6]
    assert all(r[2] == DRAFT_FIRST and r[6] is None for r in first.repeats)
    assert set(memo.as_is) == {r[0] for r in rows[1:6]}
    again = plan_batch(None, rows, T0.timestamp() + 3600, {("host", "T001", "usb.devices", ""): None}, {}, memo)
    assert (again.full, again.repeats) == (first.full, first.repeats)
    key = ("host", "T001", "usb.devices", "")
    changed = parse(rows[6][9])
    assert changed is not None
    assert first.latest[key] == again.latest[key] == KeyState(DRAFT_FIRST + 6, changed.meaning, rows[6][7],
                                                             DRAFT_FIRST + 6, None, 0)


def test_the_heads_of_a_batch_over_many_keys_are_read_with_one_statement_and_only_when_asked_for(tmp_path):
    from collector.store.batch_plan import key_states
    from collector.store.observation_rows import observation_row
    from collector.store.sqlite import SqliteStore

    def usb(host: int, minute: int) -> Observation:
        return Observation(source="importer", subject_kind="host", subject_id=f"T{host:03d}", kind="usb.devices",
                           observed_at=T0 + timedelta(minutes=minute), payload={"enforcement": "sysfs", "devices": []})

    store = SqliteStore(tmp_path / "cw.db")
    store.ingest([usb(h, 0) for h in range(120)], actor="importer")
    rows = [observation_row(usb(h, 1)) for h in range(120)]
    asked: list[str] = []

    class Counting:
        def execute(self, sql: str, args: Any = ()) -> Any:
            asked.append(sql)
            return store.read.execute(sql, args)

    states = key_states(store.read, [(r[3], r[4], r[5], r[6]) for r in rows])
    heads: dict[int, Any] = {}
    plan = plan_batch(Counting(), rows, (T0 + timedelta(hours=1)).timestamp(), states, heads)
    assert len(plan.repeats) == 120 and not plan.full and len(heads) == 120
    assert len(asked) == 1
    assert plan_batch(Counting(), rows, (T0 + timedelta(hours=1)).timestamp(), states, heads).repeats == plan.repeats
    assert len(asked) == 1  # all at hand now
    changed = [observation_row(usb(h, 2).model_copy(update={"payload": {"enforcement": "none"}})) for h in range(120)]
    assert len(plan_batch(Counting(), changed, (T0 + timedelta(hours=1)).timestamp(), states, {}).full) == 120
    assert len(asked) == 1  # no row repeats its head: none is read
    store.close()
