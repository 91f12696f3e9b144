"""Contract: the ledger's entries, checkpoints and events, and the snapshot `ledger verify --deep`
reads (collector/store/areas/ledger.py LedgerStore)."""
from __future__ import annotations

from collector.proof.canonical import loads
from tests.collector.store.conftest import EPOCH, T0, hours, obs


def test_entries_are_chained_and_read_back_in_order(store):
    assert store.ledger_head() == 0 and store.ledger_entry(1) is None
    for i in range(3):
        assert store.ledger_append("note", "cli", {"i": i}, ts=T0 + hours(i)) == i + 1
    assert store.ledger_head() == 3
    entries = list(store.ledger_entries(2, 3))
    assert [(seq, loads(body)["data"]) for seq, _, body in entries] == [(2, {"i": 1}), (3, {"i": 2})]
    assert store.ledger_entry(2) == entries[0][1:]
    assert list(store.ledger_entries(4, 9)) == []
    assert store.verify_ledger().ok


def test_the_stored_head_is_read_from_the_database(store):
    assert store.ledger_head_stored() == 0
    for i in range(2):
        store.ledger_append("note", "cli", {"i": i}, ts=T0 + hours(i))
    assert store.ledger_head_stored() == store.ledger_head() == 2


def test_checkpoints_sign_the_head(store):
    assert store.checkpoint() is None  # nothing to sign yet
    assert store.checkpoint_summary() == (0, None)
    store.ledger_append("note", "cli", {}, ts=T0)
    cp = store.checkpoint(ts=T0)
    assert (cp["seq"], cp["key_id"]) == (1, store.site_key.key_id)
    store.ledger_append("note", "cli", {}, ts=T0 + hours(1))
    store.ledger_append("note", "cli", {}, ts=T0 + hours(2))
    store.checkpoint(ts=T0 + hours(2))
    assert store.checkpoint_at_or_after(2) == 3 and store.checkpoint_at_or_after(1) == 1
    assert store.checkpoint_at_or_after(4) is None
    assert [(s, ts) for s, _, ts, _, _ in store.checkpoints_between(1, 3)] == [(1, T0.isoformat()),
                                                                             (3, (T0 + hours(2)).isoformat())]
    assert store.checkpoint_summary() == (2, (T0 + hours(2)).isoformat())
    assert store.verify_ledger(observations=False, evidence=False).checkpoints == 2


def test_an_event_is_a_ledger_entry_and_a_row_naming_it(store):
    seq = store.record_event("evidence.expiring", "engine", {"control": "FIRE-DRILL"}, ts=T0, subject=("site", "s1"),
                             site="s1", detail="expires soon", control="FIRE-DRILL", status="fail")
    assert loads(store.ledger_entry(seq)[1])["type"] == "evidence.expiring"
    [e] = store.events(EPOCH, types=["evidence.expiring"], first_only=False)
    assert (e.ts, e.control, e.subject_kind, e.subject_id, e.from_status, e.to_status, e.detail) == (
        T0.timestamp(), "FIRE-DRILL", "site", "s1", "fail", "fail", "expires soon")


def test_derived_rows_read_one_snapshot(store):
    store.ingest([obs(1), obs(2, subject="h2")], actor="t")
    with store.derived_rows() as tables:
        columns = list(tables.observation_columns())
        store.ingest([obs(3, subject="h3")], actor="t")  # after the snapshot's first read: not in it
        assert [c[1][-1] for c in columns] == ["1", "2"]
        assert list(tables.ledger_entries(["batches.sealed"])) == []  # not sealed yet
        [(batch, received_us, after_seq)] = list(tables.batch_rows())
        assert batch == store.batch_base() + 1 and after_seq == 0 and received_us > 0
        rowids = [c[0] for c in columns]
        assert set(tables.bodies(rowids)) == set(rowids)
        assert set(tables.latest_rows()) == {("host", "h1", "usb.devices", ""), ("host", "h2", "usb.devices", "")}
        assert tables.finding_rows() == [] and tables.interval_rows() == []
        assert tables.exception_rows() == [] and tables.attestation_rows() == []
        assert list(tables.public_keys()) == [store.site_key.key_id]
