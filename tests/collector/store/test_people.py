"""Contract: waivers and attestations (collector/store/areas/people.py PeopleStore)."""
from __future__ import annotations

from collector.proof.canonical import loads
from tests.collector.store.conftest import T0, hours


def waiver(store, subject: str = "h1", start=T0, end=T0 + hours(24), site: str = "default") -> tuple[int, int]:
    return store.add_waiver("USB-BLOCK", "host", subject, site, "spare part on order", "ann", "bob", start, end,
                            {"control": "USB-BLOCK", "subject_id": subject})


def test_a_waiver_is_ledgered_then_stored(store):
    wid, seq = waiver(store)
    [row] = store.waiver_rows()
    assert (row.id, row.ledger_seq) == (wid, seq)
    assert (row.control, row.subject_kind, row.subject_id, row.site, row.reason, row.owner, row.approver) == (
        "USB-BLOCK", "host", "h1", "default", "spare part on order", "ann", "bob")
    assert (row.created_at, row.starts_at, row.ends_at) == (T0.timestamp(), T0.timestamp(),
                                                           (T0 + hours(24)).timestamp())
    entry = loads(store.ledger_entry(seq)[1])
    assert (entry["type"], entry["actor"], entry["data"]["subject_id"]) == ("exception.approved", "user:bob", "h1")


def test_waivers_in_force_by_moment_period_and_site(store):
    a, _ = waiver(store, "h1", T0, T0 + hours(2))
    b, _ = waiver(store, "h2", T0 + hours(1), T0 + hours(3), site="b")
    assert [w.id for w in store.waivers_at(T0 + hours(0.5))] == [a]
    assert [w.id for w in store.waivers_at(T0 + hours(1.5))] == [a, b]
    assert store.waivers_at(T0 + hours(3)) == []  # ended: the end is not in force
    assert [w.id for w in store.waiver_rows(start=T0 + hours(2), end=T0 + hours(5))] == [b]
    assert [w.id for w in store.waiver_rows(end=T0 + hours(1))] == [a]
    assert [w.id for w in store.waiver_rows(site="b")] == [b]


def attest(store, start=T0, end=T0 + hours(24), corrects: int | None = None) -> tuple[int, int]:
    body = b'{"statement":"all held"}'
    return store.add_attestation(start, end, "mia", end, corrects, "ab" * 32, body, "cd" * 64,
                                 {"attestation": {"statement": "all held"}, "signature": "cd" * 64})


def test_an_attestation_is_ledgered_then_stored(store):
    aid, seq = attest(store)
    row = store.attestation(aid)
    assert (row.id, row.body, row.signature, row.key_id, row.ledger_seq) == (
        aid, b'{"statement":"all held"}', "cd" * 64, store.site_key.key_id, seq)
    assert store.attestation(aid + 1) is None
    entry = loads(store.ledger_entry(seq)[1])
    assert (entry["type"], entry["actor"]) == ("attestation", "user:mia")


def test_attestations_by_period_and_corrections(store):
    first, _ = attest(store, T0, T0 + hours(24))
    second, _ = attest(store, T0 + hours(24), T0 + hours(48))
    fix, _ = attest(store, T0, T0 + hours(24), corrects=first)
    assert [a.id for a in store.attestations()] == [first, second, fix]
    assert [a.id for a in store.attestations(start=T0 + hours(30))] == [second]
    assert [a.id for a in store.attestations(start=T0, end=T0 + hours(12))] == [first, fix]
