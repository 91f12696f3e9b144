"""Several collectors of one store behind one client: a batch goes to the first that answers without a
server error, stays spooled while none does, and the one that answered is tried first next time."""
from __future__ import annotations

import contextlib
import random

import pytest

from agents.shipping.http import HttpClient, HttpError, split_urls
from agents.shipping.sink import Backoff, HttpSink, ShipError
from agents.shipping.spool import Spool
from tests.agents.shipping.recording_server import recording_server
from tests.agents.shipping.test_sink import ups
from tests.integration.conftest import free_port


def sink_to(urls: list[str], tmp_path, **kw) -> HttpSink:
    return HttpSink(Spool(tmp_path / "spool.db"), HttpClient(urls, timeout_s=5), token="source-token", **kw)


def test_a_collector_that_is_away_is_passed_over_and_the_next_one_stays_current(tmp_path) -> None:
    away = f"http://127.0.0.1:{free_port()}"
    with recording_server() as second:
        sink = sink_to([away, second.url], tmp_path)
        sink.send(ups(2))
        sink.send(ups(3))
        assert sink.client.url == second.url
    assert sink.pending() == 0 and len(second.posted()) == 5
    assert len(second.seen) == 2  # one request per batch: the second batch went straight to it


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_server_error_moves_the_batch_to_the_next_collector(tmp_path, status) -> None:
    with recording_server([status]) as first, recording_server() as second:
        sink = sink_to([first.url, second.url], tmp_path)
        observations = ups(3)
        sink.send(observations)
    assert [s.status for s in first.seen] == [status]
    assert [o["id"] for o in second.posted()] == [o.id for o in observations]


@pytest.mark.parametrize("status", [401, 403, 413, 422])
def test_a_refusal_is_the_store_s_answer_and_is_not_asked_again_elsewhere(tmp_path, status) -> None:
    with recording_server([status] * 4) as first, recording_server() as second:
        sink = sink_to([first.url, second.url], tmp_path)
        with contextlib.suppress(ShipError):  # 401 and 413 keep it spooled; 403 and 422 drop it
            sink.send(ups(1))
    assert second.seen == [] and len(first.seen) == 1


def test_when_every_collector_fails_the_batch_stays_spooled_until_one_is_back(tmp_path) -> None:
    with recording_server([503, 503]) as first, recording_server([502, 502]) as second:
        sink = sink_to([first.url, second.url], tmp_path)
        with pytest.raises(ShipError, match="2 observation"):
            sink.send(ups(2))
        assert sink.pending() == 2 and second.posted() == []
        assert sink.flush() is False and sink.pending() == 2  # the second round: both still failing
        assert sink.flush() and sink.pending() == 0
    assert len(first.posted()) == 2 and second.posted() == []


def test_drain_backs_off_only_when_all_collectors_fail_and_waits_as_long_as_they_ask(tmp_path) -> None:
    waits: list[float] = []
    with recording_server([503, 503]) as first, recording_server([503]) as second:
        first.retry_after = second.retry_after = "7"
        sink = sink_to([first.url, second.url], tmp_path, backoff=Backoff(0.1, 30.0, random.Random(3)),
                       sleep=lambda s: waits.append(s) or False)
        sink.put(ups(4))
        sink.drain(lambda: False)
    assert sink.pending() == 0
    # round 1: both 503 -> one wait; round 2: first 503, second takes it without a wait
    assert len(waits) == 1 and 7.0 <= waits[0] <= 30.0
    assert len(second.posted()) == 4


def test_no_answer_from_any_collector_names_each(tmp_path) -> None:
    urls = [f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}"]
    client = HttpClient(urls, timeout_s=2)
    with pytest.raises(HttpError) as caught:
        client.post("/api/v1/observations", json_body={"observations": []})
    assert all(u in str(caught.value) for u in urls)


def test_retry_after_sets_a_floor_under_the_back_off_but_not_above_its_ceiling() -> None:
    assert Backoff(1.0, 60.0, random.Random(1)).next_delay_s(20.0) >= 20.0
    assert Backoff(1.0, 60.0, random.Random(1)).next_delay_s(3600.0) == 60.0


@pytest.mark.parametrize(("text", "urls"), [
    pytest.param("http://a:1", ["http://a:1"], id="one"),
    pytest.param("https://a:8443, https://b:8443,", ["https://a:8443", "https://b:8443"], id="two, spaces, trailing"),
])
def test_split_urls_reads_a_comma_separated_option(text, urls) -> None:
    assert split_urls(text) == urls


@pytest.mark.parametrize("urls", [[], ["ftp://a"], ["http://a:1", "collector:8443"], ["http://a:99999"]])
def test_a_client_refuses_a_list_it_cannot_use(urls) -> None:
    with pytest.raises(ValueError, match="collector url|no collector url"):
        HttpClient(urls)
