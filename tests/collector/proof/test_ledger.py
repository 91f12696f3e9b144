"""Tampering with the ledger or the observations it commits to is detected and named."""
from datetime import UTC, datetime

import pytest

from collector.proof.merkle import inclusion_proof, leaf_hash, root_of_leaves, verify_inclusion
from rules.model import Observation
from tests.stores import another_process, rewrite_bodies, tamper


def _fill(store, batches=5, per=4):
    """Each batch sealed at once, then a user's action: seals at seqs 1, 3, 5, …, actions at 2, 4, 6, …"""
    for b in range(batches):
        store.ingest([Observation(source="t", subject_kind="host", subject_id=f"h{i}", kind="usb.devices",
                                  observed_at=datetime(2026, 11, 1, b, i, tzinfo=UTC), payload={"b": b, "i": i})
                      for i in range(per)], actor="t")
        assert store.seal_batches() == 2 * b + 1
        store.ledger_append("user.action", "user:alice", {"did": f"thing {b}"})
    store.checkpoint()


def test_untouched_ledger_verifies(store):
    _fill(store)
    r = store.verify_ledger()
    assert r.ok, r.problems
    assert r.entries == 10 and r.checkpoints == 1 and r.observations_checked == 20


def test_two_processes_writing_one_store_extend_one_chain(store):
    """The service and a command-line import write the same file: neither forks the chain."""
    other = another_process(store)  # its own connections and ledger head
    try:
        for i in range(3):
            store.ledger_append("user.action", "user:alice", {"i": i})
            other.ledger_append("import.access", "cli:audit-access", {"i": i})
            other.ingest([Observation(source="t", subject_kind="host", subject_id="h1", kind="usb.devices",
                                      observed_at=datetime(2026, 11, 1, i, tzinfo=UTC))], actor="cli")
            other.seal_batches()
    finally:
        other.close()
    r = store.verify_ledger()
    assert r.ok, r.problems
    assert r.entries == 9


def test_altered_payload_is_named(store):
    _fill(store)
    assert rewrite_bodies(store, "ledger", "seq = ?", lambda body: body.replace(b"thing 2", b"thing 9"), 6) == 1
    r = store.verify_ledger()
    assert not r.ok
    assert (r.problems[0].seq, r.problems[0].what) == (6, "altered")


def test_removed_entry_is_named(store):
    _fill(store)
    tamper(store, "DELETE FROM ledger WHERE seq = ?", 4)
    r = store.verify_ledger()
    assert (r.problems[0].seq, r.problems[0].what) == (4, "removed")


def test_reordered_entries_are_named(store):
    _fill(store)
    with store.write() as conn:  # behind the ledger's back
        (b3,), (b4,) = conn.execute("SELECT body FROM ledger WHERE seq IN (3, 4) ORDER BY seq").fetchall()
        conn.execute("UPDATE ledger SET body = ? WHERE seq = 3", (b4,))
        conn.execute("UPDATE ledger SET body = ? WHERE seq = 4", (b3,))
    r = store.verify_ledger()
    assert (r.problems[0].seq, r.problems[0].what) == (3, "reordered")


def test_rewritten_tail_is_caught_by_the_signed_checkpoint(store):
    """Someone who recomputes every hash after a change still cannot forge the site's signature."""
    import hashlib

    _fill(store)
    with store.write() as conn:  # behind the ledger's back
        rows = conn.execute("SELECT seq, hash, body FROM ledger ORDER BY seq").fetchall()
        prev = bytes.fromhex(rows[6][1])
        for seq, _, body in rows[7:]:
            body = bytes(body).replace(b"thing", b"THING")
            h = hashlib.sha256(prev + body).hexdigest()
            conn.execute("UPDATE ledger SET body = ?, hash = ? WHERE seq = ?", (body, h, seq))
            prev = bytes.fromhex(h)
    r = store.verify_ledger()
    assert not r.ok
    assert r.problems[0].what == "checkpoint" and r.problems[0].seq == 10


def test_forged_checkpoint_signature_is_caught(store):
    _fill(store)
    tamper(store, "UPDATE checkpoints SET signature = ?", "00" * 64)
    r = store.verify_ledger()
    assert r.problems[0].what == "signature"


def test_altered_observation_is_named_by_its_batch(store):
    _fill(store)
    fourth = store.batch_base() + 4  # sealed by entry 7
    assert rewrite_bodies(store, "observations", "batch = ?", lambda body: body.replace(b'"b":3', b'"b":7'),
                          fourth) > 0
    r = store.verify_ledger()
    assert (r.problems[0].seq, r.problems[0].what) == (7, "observation")
    assert r.problems[0].detail.startswith(f"batch {fourth}: ")


def test_deleted_observation_is_caught(store):
    _fill(store)
    tamper(store, "DELETE FROM observations WHERE rowid = ?", 2)
    r = store.verify_ledger()
    assert r.problems[0].what == "observation" and r.problems[0].seq == 1


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 13, 100])
def test_merkle_inclusion_proofs(n):
    leaves = [leaf_hash(str(i).encode()) for i in range(n)]
    root = root_of_leaves(leaves)
    for i in range(n):
        assert verify_inclusion(leaves[i], i, n, inclusion_proof(leaves, i), root)
    if n > 1:
        assert not verify_inclusion(leaves[0], 1, n, inclusion_proof(leaves, 1), root)


def test_entry_bodies_are_the_stored_json_of_each_whole_entry():
    """Bodies joined around data already encoded are byte for byte `stored_json` of {actor, data, seq, ts, type},
    and chained rows hash each onto the one before: randomised data, seqs across digit counts, text to escape."""
    import hashlib
    import random

    from collector.proof.canonical import stored_json
    from collector.proof.ledger import entry_bodies, stamp
    from collector.store.ledger_table import chained_rows

    rnd = random.Random(15)
    texts = ["", "a", "é\u4e2d", '"quoted"\\', "tab\tnew\nline", "\U0001f600", "</script>"]

    def value(depth: int = 0) -> object:
        makers = [lambda: None, lambda: rnd.random() * 10 ** rnd.randrange(-3, 20),
                  lambda: rnd.randrange(-2 ** 53, 2 ** 53), lambda: rnd.choice(texts) + str(rnd.randrange(100)),
                  lambda: rnd.choice([True, False]), lambda: [value(depth + 1) for _ in range(rnd.randrange(4))],
                  lambda: {rnd.choice(texts) + str(i): value(depth + 1) for i in range(rnd.randrange(5))}]
        return makers[rnd.randrange(len(makers) if depth < 3 else 5)]()

    ts = datetime(2026, 11, 1, 8, 30, 0, 123456, tzinfo=UTC)
    for first in (1, 8, 99, 999_990, 2 ** 40):
        datas = [{"k": value(), "z": value(), "a": value()} for _ in range(25)]
        actor, type_ = rnd.choice(texts) + "engine", rnd.choice(texts) + "finding.changed"
        bodies = list(entry_bodies(first, stamp(ts), type_, actor, [stored_json(d) for d in datas]))
        assert bodies == [stored_json({"seq": seq, "ts": stamp(ts), "type": type_, "actor": actor, "data": d})
                          for seq, d in enumerate(datas, first)]
        after = (first - 1, hashlib.sha256(str(first).encode()).digest())
        chained = chained_rows(after, type_, actor, [stored_json(d) for d in datas], ts)
        prev, expected = after[1], []
        for seq, body in enumerate(bodies, first):
            prev = hashlib.sha256(prev + body).digest()
            expected.append((seq, prev.hex(), body))
        assert chained.rows == expected and chained.head == (first + len(datas) - 1, prev)
