"""The shared sink against a real HTTP server on 127.0.0.1: spooled before it is acknowledged, re-sent
with the same ids, refusals dropped and counted, outages waited out with back-off."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agents.shipping.http import HttpClient
from agents.shipping.sink import Backoff, HttpSink, Refused, ShipError, send_now
from agents.shipping.spool import Spool
from rules.model import Observation
from tests.agents.shipping.recording_server import recording_server
from tests.integration.conftest import free_port

ROOT = Path(__file__).resolve().parents[3]


def ups(n: int) -> list[Observation]:
    at = datetime.now(UTC)
    return [Observation(source="poller", subject_kind="ups", subject_id=f"ups-{i}", kind="ups.status",
                        observed_at=at, payload={"on_battery": False}) for i in range(n)]


def sink_to(url: str, spool: Path, **kw) -> HttpSink:
    return HttpSink(Spool(spool), HttpClient(url, timeout_s=5), token="source-token", **kw)


def test_an_offline_collector_leaves_everything_spooled_and_a_later_flush_delivers_the_same_ids(tmp_path) -> None:
    observations = ups(3)
    offline = sink_to(f"http://127.0.0.1:{free_port()}", tmp_path / "spool.db")
    with pytest.raises(ShipError, match="3 observation"):
        offline.send(observations)
    offline.spool.close()
    with recording_server() as collector:
        later = sink_to(collector.url, tmp_path / "spool.db")  # a restarted source finds its spool
        assert later.pending() == 3 and later.flush() and later.pending() == 0
    assert [o["id"] for o in collector.posted()] == [o.id for o in observations]
    assert {s.headers["authorization"] for s in collector.seen} == {"Bearer source-token"}


def test_a_lost_answer_means_the_batch_is_sent_again_with_the_same_ids(tmp_path) -> None:
    observations = ups(2)
    with recording_server([503]) as collector:
        sink = sink_to(collector.url, tmp_path / "spool.db")
        with pytest.raises(ShipError):
            sink.send(observations)
        assert sink.pending() == 2
        sink.put(observations)  # the source sends the same observations again: still two waiting
        assert sink.pending() == 2 and sink.flush()
    first, second = (s.observations() for s in collector.seen)
    assert [o["id"] for o in first] == [o["id"] for o in second] == [o.id for o in observations]


@pytest.mark.parametrize(("statuses", "rejected", "delivered"), [
    pytest.param([422, 200, 422, 200], 1, ["ups-0", "ups-2"], id="one-bad-among-three"),
    pytest.param([403, 403, 403, 403], 3, [], id="token-may-not-write-any"),
])
def test_refusals_for_good_are_dropped_one_by_one_and_counted(tmp_path, statuses, rejected, delivered) -> None:
    with recording_server(statuses) as collector:
        sink = sink_to(collector.url, tmp_path / "spool.db")
        sink.send(ups(3))
    assert sink.rejected_total == rejected and sink.pending() == 0
    assert all(len(s.observations()) == 1 for s in collector.seen[1:])
    assert [o["subject_id"] for o in collector.posted()] == delivered


@pytest.mark.parametrize("status", [401, 500, 503, 413])
def test_a_refused_token_or_a_server_error_keeps_the_batch(tmp_path, status) -> None:
    with recording_server([status]) as collector:
        sink = sink_to(collector.url, tmp_path / "spool.db")
        with pytest.raises(ShipError):
            sink.send(ups(2))
        assert sink.pending() == 2 and sink.rejected_total == 0
        assert sink.flush() and sink.pending() == 0


def test_drain_waits_out_an_outage_with_growing_back_off(tmp_path) -> None:
    waits: list[float] = []

    def wait(seconds: float) -> bool:
        waits.append(seconds)
        return False  # not told to stop

    with recording_server([503, 503, 503]) as collector:
        sink = sink_to(collector.url, tmp_path / "spool.db", backoff=Backoff(1.0, 60.0, random.Random(7)),
                       sleep=wait)
        sink.put(ups(4))
        sink.drain(lambda: False)
    assert sink.pending() == 0 and len(collector.posted()) == 4 and len(collector.seen) == 4
    assert len(waits) == 3 and all(1.0 <= w <= ceiling for w, ceiling in zip(waits, (1, 2, 4), strict=True))


def test_observations_spooled_before_a_kill_9_are_all_there(tmp_path) -> None:
    """`put` returning is the acknowledgement: a source killed right after it loses nothing."""
    script = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from tests.agents.shipping.test_sink import sink_to, ups
        sink = sink_to("http://127.0.0.1:{free_port()}", __import__("pathlib").Path({str(tmp_path / "spool.db")!r}))
        sink.put(ups(50))
        print("spooled", flush=True)
        time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "spooled"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    assert Spool(tmp_path / "spool.db").stats().pending == 50


@pytest.mark.parametrize(("status", "error"), [(422, Refused), (503, ShipError)])
def test_send_now_names_the_refusal(status, error) -> None:
    with recording_server([status]) as collector:
        client = HttpClient(collector.url)
        with pytest.raises(error, match=f"HTTP {status}: refused"):
            send_now(client, "source-token", ups(1))
        assert send_now(client, "source-token", ups(1)) == {}


def test_the_store_sink_stores_beside_the_collector_and_a_resend_changes_nothing(tmp_path) -> None:
    from agents.shipping.sink import StoreSink
    from collector.store.opening import open_store

    store = open_store(tmp_path / "store.db", create=True)
    observations = ups(2)
    sink = StoreSink(store, actor="poller")
    sink.send(observations)
    sink.send(observations)
    stored = store.observations(subject_kind="ups")
    store.close()
    assert sorted(o.id for o in stored) == sorted(o.id for o in observations)
