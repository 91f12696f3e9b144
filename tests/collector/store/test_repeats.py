"""Repeated observations: kept compactly, read back byte for byte, judged and verified as before."""
from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from collector.engine import Engine
from collector.proof.deepverify import verify_derived
from collector.seqgaps import sequence_report
from collector.store.observation_rows import observation_body
from collector.store.repeats import id_key, id_text
from collector.store.sqlite import SqliteStore
from rules.catalog import default_catalog
from rules.model import Observation
from tests.stores import rewrite_bodies, tamper

T0 = datetime(2026, 11, 20, 8, tzinfo=UTC)
USB = [c for c in default_catalog() if c.id == "USB-BLOCK"]
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _av(minute: int, latency_ms: float, *, running: bool = True, seq: int | None = None) -> Observation:
    return Observation(source="agent:T001", subject_kind="host", subject_id="T001", kind="antivirus.status",
                       observed_at=T0 + timedelta(minutes=minute, microseconds=123457), seq=seq if seq is not None
                       else minute, payload={"product": "ClamAV", "running": running,
                                             "eicar": {"detected": True, "latency_ms": latency_ms}})


def _usb(minute: int, policy_ok: bool = True, seq: int | None = None) -> Observation:
    return Observation(source="agent:T001", subject_kind="host", subject_id="T001", kind="usb.devices",
                       observed_at=T0 + timedelta(minutes=minute), seq=seq if seq is not None else minute,
                       payload={"policy_ok": policy_ok, "enforcement": "sysfs", "devices": []})


def _rows(store: SqliteStore) -> tuple[int, int]:
    """Full rows and repeats of what the agent sent (the store's own sequence summaries left out)."""
    return (store.read.execute("SELECT count(*) FROM observations WHERE kind != 'agent.sequence'").fetchone()[0],
            store.read.execute("SELECT count(*) FROM observation_repeats r JOIN observations o ON o.rowid = r.head"
                               " WHERE o.kind != 'agent.sequence'").fetchone()[0])


def _summaries(store: SqliteStore) -> int:
    return len(store.observations(kind="agent.sequence"))


def test_repeats_fold_and_read_back_as_received(store):
    sent = [_av(m, 120.0 + m) for m in range(10)]
    for o in sent:  # one batch a minute, as an agent sends
        assert store.ingest([o], actor="agent:T001", received_at=o.observed_at + timedelta(seconds=2)).accepted == 1
    assert _rows(store) == (1, 9)  # one full row; nine repeats differing in time, number and probe latency
    assert store.count_observations() - _summaries(store) == 10
    for o in sent:
        got = store.get_observation(o.id)
        assert got is not None and observation_body(got) == observation_body(o)
    newest = store.latest_for("host", "T001")[("antivirus.status", "")]
    assert newest.id == sent[-1].id and newest.payload["eicar"]["latency_ms"] == 129.0
    assert newest.received_at == sent[-1].observed_at + timedelta(seconds=2)
    assert store.ingest([sent[4]], actor="agent:T001").duplicates == 1  # the same id twice: a duplicate
    assert store.count_observations() - _summaries(store) == 10


def test_a_changed_meaning_makes_a_new_row_and_repeats_follow_it(store):
    for m, running in enumerate([True, True, False, False, True]):
        store.ingest([_av(m, 100.0, running=running)], actor="agent:T001", received_at=T0 + timedelta(minutes=m))
    assert _rows(store) == (3, 2)
    newest = store.latest_for("host", "T001")[("antivirus.status", "")]
    assert newest.payload["running"] is True and newest.seq == 4


def test_an_older_repeat_arriving_late_does_not_move_the_latest(store):
    store.ingest([_av(10, 1.0)], actor="agent:T001", received_at=T0 + timedelta(minutes=10))
    store.ingest([_av(5, 2.0)], actor="agent:T001", received_at=T0 + timedelta(minutes=11))
    assert _rows(store) == (1, 1)
    newest = store.latest_for("host", "T001")[("antivirus.status", "")]
    assert newest.seq == 10


def test_staleness_counts_from_the_last_repeat(store):
    engine = Engine(store, USB)
    for m in range(0, 120, 10):
        store.ingest([_usb(m)], actor="agent:T001", received_at=T0 + timedelta(minutes=m))
    assert _rows(store) == (1, 11)
    engine = Engine(store, USB)  # reads what the store holds, repeats included
    last = T0 + timedelta(minutes=110)
    engine.evaluate(None, now=last + timedelta(minutes=1))
    [fresh] = engine.current()
    assert fresh.status == "pass" and fresh.evidence == [store.latest_for("host", "T001")[("usb.devices", "")].id]
    engine.evaluate(None, now=last + timedelta(days=30))
    [stale] = engine.current()
    assert stale.status == "unknown" and stale.value["last_observed"] == last.isoformat()


def test_an_id_that_is_not_a_uuid_is_always_a_full_row(store):
    sent = [_usb(m).model_copy(update={"id": f"T001-usb-{m}"}) for m in range(4)]
    for o in sent:
        assert store.ingest([o], actor="agent:T001", received_at=o.observed_at + timedelta(seconds=2)).accepted == 1
    assert _rows(store) == (4, 0)
    assert store.ingest(sent, actor="agent:T001", received_at=T0 + timedelta(hours=1)).duplicates == 4
    assert [observation_body(store.get_observation(o.id)) for o in sent] == [observation_body(o) for o in sent]
    assert store.verify_ledger().ok


def test_sequence_accounting_sees_every_repeat(store):
    store.ingest([_usb(m) for m in range(10)], actor="agent:T001", received_at=T0 + timedelta(minutes=10))
    store.ingest([_usb(m) for m in range(20, 30)], actor="agent:T001", received_at=T0 + timedelta(minutes=30))
    assert _rows(store)[1] >= 18
    [report] = sequence_report(store, "T001")
    assert report.observations == 20 and report.gaps == [(10, 19)] and report.missing == 10


def test_posture_from_the_stored_repeats_is_that_from_the_observations_as_sent(tmp_path):
    """One engine reads the store's latest observations (repeats rebuilt); the other is handed the
    observations as they were sent: every past moment's posture is the same."""
    read_back, as_sent = SqliteStore(tmp_path / "a.db"), SqliteStore(tmp_path / "b.db")
    # the agents' sequence summaries are each store's own observations, with ids of their own
    controls = [c for c in default_catalog() if c.id != "AGENT-SEQUENCE"]
    sent_engine = Engine(as_sent, controls)
    for step in range(36):
        now = T0 + timedelta(minutes=10 * step)
        batch = [_usb(10 * step, policy_ok=step % 12 < 8, seq=2 * step), _av(10 * step, 100.0 + step, seq=2 * step + 1)]
        if 20 <= step < 26:
            batch = []  # the agent falls silent for an hour
        for s in (read_back, as_sent):
            if batch:
                s.ingest(batch, actor="agent:T001", received_at=now + timedelta(seconds=1))
        Engine(read_back, controls).evaluate(None, now=now + timedelta(seconds=30))
        sent_engine.note(batch)
        sent_engine.evaluate(None, now=now + timedelta(seconds=30))
    for minutes in (5, 95, 185, 215, 265, 355):
        at = T0 + timedelta(minutes=minutes)
        assert [vars(i) for i in read_back.posture_at(at)] == [vars(i) for i in as_sent.posture_at(at)]
    assert read_back.read.execute("SELECT count(*) FROM observation_repeats").fetchone()[0] > 30
    with read_back.derived_rows() as tables:
        rep = verify_derived(tables, controls)
    assert rep.ok, [d.text() for d in rep.differences[:5]]
    read_back.close()
    as_sent.close()


FIRST_REPEAT = "num = (SELECT min(num) FROM observation_repeats)"


@pytest.mark.parametrize("edit", [
    pytest.param(lambda s: tamper(s, f"UPDATE observation_repeats SET volatile = ? WHERE {FIRST_REPEAT}",
                                  b"[[0,999.5]]"), id="volatile-value"),
    pytest.param(lambda s: tamper(s, "UPDATE observation_repeats SET observed_at = observed_at + 1"
                                     " WHERE num = (SELECT max(num) FROM observation_repeats)"), id="repeat-time"),
    pytest.param(lambda s: tamper(s, f"UPDATE observation_repeats SET seq = seq + 1000 WHERE {FIRST_REPEAT}"),
                 id="repeat-seq"),
    pytest.param(lambda s: tamper(s, f"DELETE FROM observation_repeats WHERE {FIRST_REPEAT}"), id="repeat-deleted"),
    pytest.param(lambda s: rewrite_bodies(s, "observations", "kind = ?", lambda b: b.replace(b"ClamAV", b"ClamAW"),
                                          "antivirus.status"), id="head-byte"),
])
def test_ledger_verify_catches_a_changed_byte_in_a_repeat_or_its_head(store, edit):
    for m in range(6):
        store.ingest([_av(m, 100.0 + m)], actor="agent:T001", received_at=T0 + timedelta(minutes=m))
    store.checkpoint()
    assert store.verify_ledger().ok
    edit(store)  # behind the ledger's back
    report = store.verify_ledger()
    assert not report.ok and any(p.what == "observation" for p in report.problems)


U = "9c6912d8-face-4f24-9e8f-242bd83a1194"


@pytest.mark.parametrize("text", [
    U, U + "\n", "\n" + U[1:], U.upper(), U.replace("-", ""), U[:-1], U + "4", " " + U[1:], U[:-1] + "\u0660",
    U[:-1] + "g", U[:24] + "-" + U[25:], U[:9] + "-" + U[10:]])
def test_only_a_uuid_in_its_canonical_text_is_a_repeats_key(text):
    key = id_key(text)
    assert (key is not None) == bool(_UUID.fullmatch(text))
    assert key is None or id_text(key) == text


def test_an_id_one_newline_longer_than_a_uuid_is_a_full_row_and_reads_back_as_sent(store):
    plain = str(uuid.uuid4())
    store.ingest([_usb(0)], actor="agent:T001")
    assert store.ingest([_usb(1).model_copy(update={"id": plain + "\n"})], actor="agent:T001").accepted == 1
    assert _rows(store) == (2, 0)
    assert store.get_observation(plain + "\n").id == plain + "\n"
    # another id, not a duplicate
    assert store.ingest([_usb(2).model_copy(update={"id": plain})], actor="agent:T001").accepted == 1
    assert store.get_observation(plain).seq == 2
    assert store.verify_ledger().ok
