"""The store contract: every backend must pass these (the embedded SQLite store and PostgreSQL)."""
from datetime import UTC, datetime, timedelta

from collector.store.base import FindingChange, StoredFinding
from rules.model import Observation

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def o(i: int, subject="h1", kind="usb.devices", t=T0, key="") -> Observation:
    return Observation(id=f"00000000-0000-0000-0000-{i:012d}", source="t", subject_kind="host", subject_id=subject,
                       kind=kind, key=key, observed_at=t, payload={"i": i})


def test_ingest_is_idempotent(store):
    batch = [o(i) for i in range(10)]
    first = store.ingest(batch, actor="t")
    again = store.ingest(batch, actor="t")
    assert (first.accepted, first.duplicates) == (10, 0)
    assert (again.accepted, again.duplicates, again.ledger_seq) == (0, 10, None)
    assert store.count_observations() == 10
    assert store.unsealed_batches() == 1  # the duplicate batch left no trace
    assert store.seal_batches() == 1 and store.ledger.last_seq == 1 and store.unsealed_batches() == 0


def test_partly_duplicate_batch_stores_only_new(store):
    store.ingest([o(1), o(2)], actor="t")
    res = store.ingest([o(2), o(3)], actor="t")
    assert (res.accepted, res.duplicates) == (1, 1)
    assert store.count_observations() == 3 and store.unsealed_batches() == 2
    assert store.verify_ledger().ok  # the attempt that met the stored id left nothing behind


def test_latest_per_subject_kind_and_key(store):
    store.ingest([o(1, t=T0), o(2, t=T0 + timedelta(hours=1)), o(3, kind="antivirus.status"),
                  o(4, subject="h2")], actor="t")
    store.ingest([o(5, t=T0 - timedelta(hours=1))], actor="t")  # late arrival must not win
    latest = store.latest_for("host", "h1")
    assert latest[("usb.devices", "")].payload == {"i": 2}
    assert set(latest) == {("usb.devices", ""), ("antivirus.status", "")}
    assert set(store.latest_all()) == {("host", "h1"), ("host", "h2")}


def test_time_range_queries(store):
    store.ingest([o(i, t=T0 + timedelta(hours=i)) for i in range(24)], actor="t")
    got = store.observations(subject_kind="host", subject_id="h1", since=T0 + timedelta(hours=5),
                             until=T0 + timedelta(hours=10))
    assert sorted(x.payload["i"] for x in got) == [5, 6, 7, 8, 9]


def test_evidence_is_content_addressed(store):
    ref = store.put_evidence(b"eicar test", "probe.txt", "text/plain")
    assert ref.sha256 == "0f76d9ba0a9bd2bb2b84b7c5e5f1c5d7f7ba8e4ad8e3d2a7f1c0e34a4c3f8b2a" or len(ref.sha256) == 64
    assert store.get_evidence(ref.sha256) == b"eicar test"
    assert store.put_evidence(b"eicar test", "again.txt").sha256 == ref.sha256
    assert store.get_evidence("../../etc/passwd") is None


def _finding(status: str, since: datetime) -> StoredFinding:
    return StoredFinding("USB-BLOCK", "host", "h1", "default", status, since, since, {"v": status}, "zh", "en", [],
                         "critical")


def test_finding_history_answers_point_in_time(store):
    store.record_findings([FindingChange(_finding("pass", T0), None, True)], T0)
    t1 = T0 + timedelta(days=1)
    store.record_findings([FindingChange(_finding("fail", t1), "pass", True)], t1)
    assert [i.status for i in store.posture_at(T0 + timedelta(hours=12))] == ["pass"]
    assert [i.status for i in store.posture_at(t1 + timedelta(hours=1))] == ["fail"]
    assert store.posture_at(T0 - timedelta(hours=1)) == []
    assert [f.status for f in store.current_findings()] == ["fail"]
    ivs = store.intervals(control="USB-BLOCK")
    assert ivs[0].end == t1 and ivs[1].end is None


def _host_finding(host: int, status: str, at: datetime, value: int = 0) -> StoredFinding:
    return StoredFinding("USB-BLOCK", "host", f"h{host:03d}", "default", status, at, at, {"v": value}, "zh", "en",
                         [{"kind": "usb.devices"}], "critical")


def test_many_findings_recorded_at_once_keep_one_current_row_each_and_their_history(store):
    # more rows than a PostgreSQL store sends one by one: these go by COPY and a staged replace
    hosts, t1 = range(200), T0 + timedelta(hours=1)
    assert store.record_findings([FindingChange(_host_finding(h, "pass", T0), None, True) for h in hosts], T0) == 200
    again = [FindingChange(_host_finding(h, "fail", t1, 1), "pass", True) if h % 2 else
             FindingChange(_host_finding(h, "pass", T0, 2), "pass", False) for h in hosts]
    assert store.record_findings(again, t1) == 100
    current = {f.subject_id: f for f in store.current_findings()}
    assert len(current) == 200
    assert (current["h001"].status, current["h001"].value) == ("fail", {"v": 1})
    assert (current["h002"].status, current["h002"].value) == ("pass", {"v": 2})  # a new value, the same status
    assert current["h001"].evidence == [{"kind": "usb.devices"}]
    assert [(i.status, i.end) for i in store.intervals(subject=("host", "h001"))] == [("pass", t1), ("fail", None)]
    assert [(i.status, i.end) for i in store.intervals(subject=("host", "h002"))] == [("pass", None)]
    assert sorted({i.status for i in store.posture_at(t1)}) == ["fail", "pass"]
    assert len(store.posture_at(T0 + timedelta(minutes=1))) == 200
    assert store.ledger.last_seq == 300 and store.verify_ledger().ok


def test_findings_of_many_subjects_are_read_at_once(store):
    # more subjects than one statement names, with a camera sharing a host's id and a subject without findings
    findings = [_host_finding(h, "pass", T0) for h in range(450)]
    findings.append(StoredFinding("CAM-UP", "camera", "h001", "default", "fail", T0, T0, {}, "zh", "en", [], "high"))
    store.record_findings([FindingChange(f, None, True) for f in findings], T0)
    asked = {("host", f"h{h:03d}") for h in range(0, 450, 2)} | {("camera", "h001"), ("host", "h999")}
    got = sorted((f.subject_kind, f.subject_id, f.control, f.status) for f in store.findings_of(asked))
    assert got == sorted([("host", f"h{h:03d}", "USB-BLOCK", "pass") for h in range(0, 450, 2)]
                         + [("camera", "h001", "CAM-UP", "fail")])
    assert store.findings_of([]) == []


def test_findings_of_names_each_finding_once_whatever_the_subjects_spell(store):
    # a subject asked twice, and ids with quotes, commas, braces and NUL-free unicode read as they are stored
    odd = ['h"1', "h,2", "{h3}", "h\\4", "主机五", "NULL"]
    store.record_findings([FindingChange(StoredFinding("USB-BLOCK", "host", h, "default", "pass", T0, T0, {}, "zh",
                                                       "en", [], "high"), None, True) for h in odd], T0)
    asked = [("host", h) for h in odd] + [("host", odd[0]), ("host", "h5")]
    assert sorted(f.subject_id for f in store.findings_of(asked)) == sorted(odd)


def test_a_finding_given_twice_in_one_call_keeps_the_last(store):
    twice = [FindingChange(_host_finding(h, "pass", T0), None, True) for h in range(100)]
    twice.append(FindingChange(_host_finding(7, "pass", T0, 9), "pass", False))
    store.record_findings(twice, T0)
    assert {f.subject_id: f.value for f in store.current_findings()}["h007"] == {"v": 9}
    assert len(store.current_findings()) == 100


def _stored_rows(store) -> dict[str, list]:
    return {t: store.read.execute(f"SELECT {cols} FROM {t} ORDER BY {order}").fetchall() for t, cols, order in (
        ("findings", "*", "control, subject_kind, subject_id"),
        ("finding_intervals", "control, subject_kind, subject_id, site, status, start, value, evidence, ledger_seq",
         "ledger_seq"),
        ("events", "ts, type, control, subject_id, from_status, to_status, detail, ledger_seq", "ledger_seq"),
        ("ledger", "seq, hash, body", "seq"))}


def test_findings_taken_for_new_but_stored_meanwhile_are_replaced(store):
    # a part of keys the engine knew no finding of goes by COPY on PostgreSQL; keys another writer stored
    # meanwhile, or a key twice, are replaced as a part of known keys is, the last row of a key winning
    hosts, t1 = range(150), T0 + timedelta(hours=1)
    store.record_findings([FindingChange(_host_finding(h, "pass", T0), None, True) for h in range(0, 150, 3)], T0)
    taken_for_new = [FindingChange(_host_finding(h, "fail", t1, h), None, True) for h in hosts]
    taken_for_new.append(FindingChange(_host_finding(7, "fail", t1, 70), None, True))
    assert store.record_findings(taken_for_new, t1) == 151
    current = {f.subject_id: f for f in store.current_findings()}
    assert len(current) == 150 and {f.status for f in current.values()} == {"fail"}
    assert current["h003"].value == {"v": 3} and current["h007"].value == {"v": 70}
    assert store.ledger.last_seq == 50 + 151 and store.verify_ledger().ok
    few = [FindingChange(_host_finding(h, "pass", t1, v), None, True) for h, v in ((200, 1), (201, 2), (200, 3))]
    assert store.record_findings(few, t1) == 3  # fewer rows than a COPY takes: inserted one by one
    assert {f.subject_id: f.value for f in store.current_findings()}["h200"] == {"v": 3}
    assert len(store.current_findings()) == 152 and store.verify_ledger().ok


def test_findings_encoded_beforehand_are_stored_as_encoded_at_the_write(tmp_path, store):
    from collector.store.sqlite import SqliteStore

    t1 = T0 + timedelta(hours=1)
    parts = [([FindingChange(_host_finding(h, "pass", T0, h), None, True) for h in range(120)], T0),
             ([FindingChange(_host_finding(h, "fail", t1), "pass", True) for h in range(0, 120, 2)], t1)]
    plain = SqliteStore(tmp_path / "plain.db", site_key=store.site_key)
    # each part's ledger rows chained ahead, the second's onto the head the first will leave
    encoded = [store.encode_findings(changes, at) for changes, at in parts]
    for (changes, at), enc in zip(parts, encoded, strict=True):
        assert store.record_findings(changes, at, encoded=enc) == plain.record_findings(changes, at)
    assert _stored_rows(store) == _stored_rows(plain) and store.verify_ledger().ok
    plain.close()


def test_ledger_rows_chained_ahead_of_another_writers_entry_are_chained_again_at_the_write(store):
    t1 = T0 + timedelta(hours=1)
    first = [FindingChange(_host_finding(h, "pass", T0), None, True) for h in range(100)]
    second = [FindingChange(_host_finding(h, "fail", t1), "pass", True) for h in range(0, 100, 4)]
    encoded = [store.encode_findings(first, T0), store.encode_findings(second, t1)]
    store.record_findings(first, T0, encoded=encoded[0])
    store.record_event("user.action", "user:t", {"what": "between"}, ts=T0, subject=("host", "h001"), site="default",
                       detail="between")  # the second part's rows were chained onto the head before it
    assert store.record_findings(second, t1, encoded=encoded[1]) == 25
    assert store.ledger.last_seq == 126 and store.verify_ledger().ok
    seqs = [r[0] for r in store.read.execute("SELECT ledger_seq FROM finding_intervals WHERE start = ?"
                                             " ORDER BY ledger_seq", (t1.timestamp(),)).fetchall()]
    assert seqs == list(range(102, 127))
    again = [FindingChange(_host_finding(h, "pass", t1), "fail", True) for h in range(0, 100, 4)]
    assert store.record_findings(again, t1, encoded=store.encode_findings(again, t1)) == 25  # chained onto the head
    assert store.ledger.last_seq == 151 and store.verify_ledger().ok
    later = T0 + timedelta(hours=2)  # encoded for another time than it is recorded at: chained again
    assert store.record_findings(second, later, encoded=store.encode_findings(second, t1)) == 25
    assert store.ledger_entry(176)[1].count(b'"ts":"2026-11-01T02:00:00+00:00"') == 1 and store.verify_ledger().ok


def test_encoded_rows_are_ingested_like_observations(store):
    from collector.store.sqlite import observation_row

    res = store.ingest_rows([observation_row(o(1)), observation_row(o(1)), observation_row(o(2, subject="h2"))],
                            actor="prepare", received_at=T0)
    assert (res.accepted, res.duplicates, res.subjects) == (2, 1, {("host", "h1"), ("host", "h2")})
    got = store.get_observation(o(2).id)
    assert (got.subject_id, got.payload, got.received_at) == ("h2", {"i": 2}, T0)
    assert store.get_observation("no-such-observation") is None


def test_latest_since_a_position_reads_only_what_came_after(store):
    assert store.max_observation_rowid() == 0
    store.ingest([o(1), o(2, subject="h2")], actor="t")
    mark = store.max_observation_rowid()
    assert store.latest_since(mark) == (mark, [])
    store.ingest([o(3, t=T0 + timedelta(hours=1)), o(4, subject="h3")], actor="t")
    top, got = store.latest_since(mark)
    assert top == store.max_observation_rowid() > mark
    assert sorted(x.payload["i"] for x in got) == [3, 4]
    _, upto = store.latest_since(mark, upto=mark + 1)
    assert [x.payload["i"] for x in upto] == [3]


def test_settings_kept_by_key(store):
    assert store.get_meta("notifier.last") is None
    store.set_meta("notifier.last", "a")
    store.set_meta("notifier.last", "b")
    assert store.get_meta("notifier.last") == "b"


def test_a_subject_keeps_its_first_site_and_first_seen_and_its_latest_last_seen(store):
    """A batch's subjects: a new one added as seen at the batch's latest time for it, one seen again seen
    later only when the batch has a later time for it (an earlier batch arriving late leaves it); its site
    stays that of its first batch."""
    def seen(i: int, subject: str, seconds: int, site: str = "default") -> Observation:
        return o(i, subject=subject, t=T0 + timedelta(seconds=seconds)).model_copy(update={"site": site})

    store.ingest([seen(1, "h1", 10), seen(2, "h1", 30), seen(3, "h1", 20)], actor="t")
    store.ingest([seen(4, "h1", 5, site="s2"), seen(5, "h2", 7, site="s2")], actor="t")
    store.ingest([seen(6, "h2", 40), seen(7, "h2", 40)], actor="t")
    rows = store.read.execute("SELECT id, site, first_seen, last_seen FROM subjects ORDER BY id").fetchall()
    at = T0.timestamp()
    assert [tuple(r) for r in rows] == [("h1", "default", at + 30, at + 30), ("h2", "s2", at + 7, at + 40)]
    assert store.subjects("host") == [("host", "h1", "default"), ("host", "h2", "s2")]


def test_the_size_measure_counts_what_is_stored(store):
    store.ingest([o(i) for i in range(20)], actor="t")
    store.put_evidence(b"x" * 5000, "big.bin")
    stats = store.measure_size(T0)
    assert stats.evidence_bytes >= 5000 and stats.file_bytes > 0


def test_large_batch_is_stored_whole_and_verifies(store):
    """Hundreds of observations in one batch (PostgreSQL bulk-loads them with COPY)."""
    batch = [o(i, subject=f"h{i % 50}", key=str(i % 3), t=T0 + timedelta(seconds=i)) for i in range(600)]
    res = store.ingest(batch, actor="t")
    assert (res.accepted, res.duplicates) == (600, 0) and len(res.newest) == 150
    assert store.count_observations() == 600 and len(store.subjects("host")) == 50
    assert store.get_observation(batch[599].id).payload == {"i": 599}
    assert store.latest_for("host", "h49")[("usb.devices", "2")].payload == {"i": 599}
    top, fresh = store.latest_since(0)
    assert top == store.max_observation_rowid() and len(fresh) == 150
    report = store.verify_ledger()
    assert report.ok and report.observations_checked == 600


def test_an_observations_time_reads_back_as_the_same_moment_with_the_offset_it_was_sent_with(store):
    """Agents send their site's offset (+08:00), pollers UTC: what the store gives back compares, prints and
    serialises as sent, and the batch's Merkle root still verifies over the bytes stored."""
    sent = {"h1": "2026-11-01T08:00:00.123456+08:00", "h2": "2026-11-01T00:00:00Z", "h3": "2026-10-31T18:30:00-05:30"}
    batch = [Observation.model_validate({"source": "t", "subject_kind": "host", "subject_id": host,
                                         "kind": "usb.devices", "observed_at": at, "payload": {}})
             for host, at in sent.items()]
    store.ingest(batch, actor="t")
    store.seal_batches()
    read = {o.subject_id: o for latest in store.latest_all().values() for o in latest.values()}
    for original in batch:
        back = read[original.subject_id].observed_at
        assert back == original.observed_at and back.isoformat() == original.observed_at.isoformat()
        assert back.utcoffset() == original.observed_at.utcoffset()
        assert read[original.subject_id].model_dump_json() == original.model_copy(
            update={"received_at": read[original.subject_id].received_at}).model_dump_json()
    assert store.verify_ledger().ok


def _finding_history(store) -> dict[str, list]:
    """What a round stored of its findings, without the ledger's numbering (which other entries shift)."""
    from collector.proof.canonical import loads

    out = _stored_rows(store)
    bodies = [loads(bytes(b)) for _, _, b in out.pop("ledger")]
    out["ledger"] = [b["data"] for b in bodies if b["type"] == "finding.changed"]
    out["finding_intervals"] = [r[:-1] for r in out["finding_intervals"]]
    out["events"] = [r[:-1] for r in out["events"]]
    return out


def test_a_first_round_written_part_by_part_on_the_recorders_thread_stores_what_one_call_stores(
        tmp_path, store, monkeypatch):
    from collector import engine as engine_module
    from collector.engine import Engine
    from collector.store.sqlite import SqliteStore
    from rules.catalog import default_catalog

    monkeypatch.setattr(engine_module, "RECORD_PART", 70)
    hosts = [f"h{i:02d}" for i in range(30)]
    batch = [Observation(source="t", subject_kind="host", subject_id=h, kind="agent.heartbeat", observed_at=T0,
                         payload={"version": "0.1.0", "interval_s": 60}) for h in hosts]
    store.ingest(batch, actor="t")
    engine = Engine(store, list(default_catalog()))
    told: list[FindingChange] = []
    engine.listeners.append(told.extend)
    engine.note(batch)
    assert engine.evaluate(None, now=T0) == len(told) > 3 * 70
    assert store.verify_ledger().ok
    at_once = SqliteStore(tmp_path / "at-once.db", site_key=store.site_key)
    at_once.record_findings(told, T0)
    assert _finding_history(store) == _finding_history(at_once)
    at_once.close()
