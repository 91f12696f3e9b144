"""Every method of the Store protocol is exercised by the contract tests beside this file."""
from __future__ import annotations

import re
from pathlib import Path

from collector.store.base import Store

HERE = Path(__file__).parent


def protocol_methods() -> set[str]:
    return {name for klass in Store.__mro__ if klass.__module__.startswith("collector.store")
            for name, value in vars(klass).items() if callable(value) and not name.startswith("_")}


def test_every_protocol_method_has_a_contract_test() -> None:
    called = set()
    for path in HERE.glob("test_*.py"):
        called |= set(re.findall(r"\bstore\.(\w+)\(", path.read_text()))
    assert protocol_methods() - called == set()


def test_the_protocol_is_whole() -> None:
    from collector.store.sqlite import SqliteStore

    missing = {m for m in protocol_methods() if not callable(getattr(SqliteStore, m, None))}
    assert missing == set()
    assert len(protocol_methods()) > 60  # the areas' protocols are part of Store
