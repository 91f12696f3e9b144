"""Contract: the terminal search's texts (collector/store/host_search.py): made by the caller, remade when a
host sends a row of the searched kinds, matched as plain substrings of any text."""
from __future__ import annotations

from tests.collector.store.conftest import T0, hours, obs

KINDS = ("host.identity",)


def _texts(made: list[str]):
    """The caller's texts: the host and its name, lower-cased; records each host it was asked for."""
    def texts(host, latest):
        made.append(host)
        name = latest.get("host.identity", (0.0, {}))[1].get("name", "")
        return [host.lower(), str(name).lower()]
    return texts


def test_texts_are_made_once_and_remade_when_the_rows_change(store):
    store.ingest([obs(1, "h1", "host.identity", payload={"name": "Alpha"}),
                  obs(2, "h2", "host.identity", payload={"name": "100%_Beta"}),
                  obs(3, "h3", "usb.devices")], actor="t")
    made: list[str] = []
    assert store.refresh_host_search(["h1", "h2", "h3"], KINDS, _texts(made)) == 3
    assert store.refresh_host_search(["h1", "h2", "h3"], KINDS, _texts(made)) == 0
    store.ingest([obs(9, "h1", "usb.devices", T0 + hours(0.5))], actor="t")  # not a searched kind
    assert store.refresh_host_search(["h1", "h2", "h3"], KINDS, _texts(made)) == 0
    assert made == ["h1", "h2", "h3"]
    assert store.hosts_matching("alpha") == {"h1"}
    assert store.hosts_matching("h") == {"h1", "h2", "h3"}
    # a pattern's characters are text; a text of another host is never joined to the next
    assert store.hosts_matching("%_b") == {"h2"}
    assert store.hosts_matching("_") == {"h2"}
    assert store.hosts_matching("h1alpha") == set()
    assert store.hosts_matching("Alpha") == set()  # the caller lower-cases both sides
    # a new name (and a repeat that changes nothing) for h1; a first row of the kind for h3
    store.ingest([obs(4, "h1", "host.identity", T0 + hours(1), payload={"name": "Gamma"}),
                  obs(5, "h2", "host.identity", T0 + hours(1), payload={"name": "100%_Beta"}),
                  obs(6, "h3", "host.identity", T0 + hours(1), payload={"name": "Δέλτα"})], actor="t")
    made.clear()
    store.refresh_host_search(["h1", "h2", "h3"], KINDS, _texts(made))
    assert "h1" in made and "h3" in made
    assert store.refresh_host_search(["h1", "h2", "h3", "h4"], KINDS, _texts(made)) == 1  # h4 never made
    assert store.hosts_matching("alpha") == set()
    assert store.hosts_matching("gamma") == {"h1"}
    assert store.hosts_matching("δέλ") == {"h3"}
    assert store.hosts_matching("100%_beta") == {"h2"}
