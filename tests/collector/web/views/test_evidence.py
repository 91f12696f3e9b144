"""The evidence page's upload list, against a real SQLite store."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from collector.people import evidence as ev
from collector.web.views.evidence import uploads
from rules.catalog import default_catalog


@pytest.mark.parametrize(("days_left", "state"), [
    pytest.param(-1, "expired", id="expired"),
    pytest.param(5, "expiring", id="within-14-days"),
    pytest.param(60, "", id="valid"),
])
def test_uploads_are_marked_expired_or_expiring(store, days_left, state):
    made = datetime.now(UTC) - timedelta(days=30)
    ev.add_evidence(store, list(default_catalog()), ev.Upload(
        "BADGE-POLICY", b"scan", "policy.pdf", made + timedelta(days=30 + days_left)), actor="user:boss", now=made)
    assert [u["state"] for u in uploads(store)] == [state]
