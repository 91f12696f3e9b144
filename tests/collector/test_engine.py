from datetime import UTC, datetime, timedelta

from collector.engine import Engine
from rules.catalog import default_catalog
from rules.model import Observation

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def usb(host: str, t: datetime, usable: bool) -> Observation:
    dev = {"vendor_id": "0781", "product_id": "5567", "classes": ["08"], "authorized": usable}
    return Observation(source="t", subject_kind="host", subject_id=host, kind="usb.devices", observed_at=t,
                       payload={"enforcement": "sysfs", "devices": [dev]})


def test_status_changes_become_history_ledger_entries_and_events(store):
    engine = Engine(store, list(default_catalog()))
    for t, usable in ((T0, False), (T0 + timedelta(minutes=30), True), (T0 + timedelta(minutes=60), False)):
        batch = [usb("h1", t, usable)]
        store.ingest(batch, actor="t")
        engine.evaluate(engine.note(batch), now=t)
    ivs = store.intervals(control="USB-BLOCK", subject=("host", "h1"))
    assert [i.status for i in ivs] == ["pass", "fail", "pass"]
    assert ivs[1].value["usable_storage"] == 1
    changes = [e for e in store.read.execute("SELECT body FROM ledger").fetchall() if b"finding.changed" in e[0]
               and b"USB-BLOCK" in e[0]]
    assert len(changes) == 3
    assert store.read.execute("SELECT count(*) FROM events WHERE control='USB-BLOCK'").fetchone()[0] == 3


def test_stale_data_turns_unknown_on_sweep(store):
    engine = Engine(store, list(default_catalog()))
    batch = [usb("h1", T0, False)]
    store.ingest(batch, actor="t")
    engine.evaluate(engine.note(batch), now=T0)
    engine.evaluate(None, now=T0 + timedelta(hours=3))
    [f] = store.current_findings(control="USB-BLOCK")
    assert f.status == "unknown" and f.since == T0 + timedelta(hours=3)


def test_enrolled_host_without_data_is_unknown(store):
    engine = Engine(store, list(default_catalog()))
    engine.add_subject("host", "quiet", "default")
    engine.evaluate(None, now=T0)
    statuses = {f.control: f.status for f in store.current_findings(subject_id="quiet")}
    assert statuses["USB-BLOCK"] == "unknown"
    assert "BACKUP-FRESH" not in statuses  # applies only to hosts that report backups


def test_incremental_evaluation_touches_only_dirty_subjects(store):
    engine = Engine(store, list(default_catalog()))
    batch = [usb(f"h{i}", T0, False) for i in range(5)]
    store.ingest(batch, actor="t")
    engine.evaluate(engine.note(batch), now=T0)
    before = {(f.subject_id, f.control): f.evaluated_at for f in store.current_findings()}
    later = T0 + timedelta(minutes=10)
    b2 = [usb("h3", later, True)]
    store.ingest(b2, actor="t")
    assert engine.note(b2) == {("host", "h3"): {"usb.devices"}}
    engine.evaluate({("host", "h3")}, now=later)
    after = {(f.subject_id, f.control): f.evaluated_at for f in store.current_findings()}
    assert after[("h3", "USB-BLOCK")] == later
    assert after[("h1", "USB-BLOCK")] == before[("h1", "USB-BLOCK")]


def test_engine_restart_keeps_state(store):
    engine = Engine(store, list(default_catalog()))
    batch = [usb("h1", T0, True)]
    store.ingest(batch, actor="t")
    engine.note(batch)
    engine.evaluate(None, now=T0)
    again = Engine(store, list(default_catalog()))
    assert again.evaluate(None, now=T0 + timedelta(minutes=1)) == 0  # nothing changed, nothing recorded


def test_incremental_evaluation_runs_only_controls_reading_the_changed_kinds(store):
    engine = Engine(store, list(default_catalog()))
    engine.add_subject("host", "h1", "default")
    engine.evaluate(None, now=T0)
    before = {f.control: f.evaluated_at for f in store.current_findings(subject_id="h1")}
    later = T0 + timedelta(minutes=5)
    batch = [usb("h1", later, True)]
    store.ingest(batch, actor="t")
    engine.evaluate(engine.note(batch), now=later)
    after = {f.control: f.evaluated_at for f in store.current_findings(subject_id="h1")}
    assert after["USB-BLOCK"] == later
    assert after["AV-FRESH"] == before["AV-FRESH"]  # antivirus data did not change: not re-run


def test_worker_stops_and_joins_cleanly(store):
    from collector.engine import EngineWorker

    worker = EngineWorker(Engine(store, list(default_catalog())), sweep_s=3600, checkpoint_s=3600)
    worker.start()
    worker.submit([usb("h1", T0, False)])
    worker.stop()
    worker.join(timeout=10)
    assert not worker.is_alive()
    assert store.verify_ledger().checkpoints >= 1  # the head is signed on the way out


def test_running_engine_takes_in_what_another_process_stored_and_judged(store):
    """A command-line import next to the service: the service's engine sees its observations, keeps
    judging them (the finding follows later data), and does not record the import's change twice."""
    import time

    from collector.engine import EngineWorker
    from tests.stores import another_process

    now = datetime.now(UTC)
    worker = EngineWorker(Engine(store, list(default_catalog())), sweep_s=3600, checkpoint_s=3600,
                          coalesce_s=0.05)
    worker.start()
    try:
        cli = another_process(store)  # its own connections, engine and ledger head
        batch = [usb("h9", now, True)]
        cli.ingest(batch, actor="cli")
        cli_engine = Engine(cli, list(default_catalog()))
        cli_engine.evaluate(cli_engine.note(batch), now=now)
        cli.close()
        assert [f.status for f in store.current_findings(control="USB-BLOCK", subject_id="h9")] == ["fail"]

        def usb_block() -> list[str]:
            return [i.status for i in store.intervals(control="USB-BLOCK", subject=("host", "h9"))]

        deadline = time.monotonic() + 10
        while ("host", "h9") not in worker.engine.latest and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ("host", "h9") in worker.engine.latest
        time.sleep(0.3)
        assert usb_block() == ["fail"]  # judged once, by the import

        fixed = [usb("h9", now + timedelta(minutes=5), False)]
        store.ingest(fixed, actor="agent")
        worker.submit(fixed)
        while usb_block() != ["fail", "pass"] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert usb_block() == ["fail", "pass"]
    finally:
        worker.stop()
        worker.join(timeout=10)
    assert store.verify_ledger().ok
