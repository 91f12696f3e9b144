"""The store's interface beyond observations and findings, one protocol per area of the product.

An area is one thing the product keeps (accounts, the ledger's rows, leases, people's inputs, ...): a
module here holds its protocol, the rows its methods return and the errors they raise. `base.Store` is
all of them together; each backend implements every method, and the contract tests in
tests/collector/store (one module per area) hold each one to the same behaviour. Times are epoch
seconds where the tables keep them so, datetimes where the callers pass them.

To add an area: write its module here (protocol, rows, no SQL), export its names below, add the
protocol to the bases of `Store` in collector/store/base.py, implement it in a part of the SQLite
store (collector/store/NAME.py, mixed into `SqliteStore`; `PostgresStore` inherits it and overrides
only what its SQL needs), and test every method in tests/collector/store/test_NAME.py
(test_protocol_coverage.py fails while one has no contract test). Everything else imports the area's
names from this package, never from the module that declares them."""
from __future__ import annotations

from collector.store.areas.accounts import (
    AccountStore,
    AgentRow,
    Enrollment,
    EnrollSecretRow,
    LoginRow,
    RefusalRule,
    SessionRow,
    UserRow,
)
from collector.store.areas.compaction import CompactingStore
from collector.store.areas.coordination import CoordinationStore, NotificationClaim
from collector.store.areas.derived import DerivedReader, ObservationColumns
from collector.store.areas.leases import Fence, LeaseLost, LeaseStore
from collector.store.areas.ledger import LedgerStore
from collector.store.areas.people import AttestationRow, PeopleStore, WaiverRow
from collector.store.areas.read_model import Event, HistoryRow, HostStatus, Payloads, ReadModelStore, stored_payload
from collector.store.areas.working_state import AccessPush, WorkingStateStore

__all__ = [
    "AccessPush",
    "AccountStore",
    "AgentRow",
    "AttestationRow",
    "CompactingStore",
    "CoordinationStore",
    "DerivedReader",
    "EnrollSecretRow",
    "Enrollment",
    "Event",
    "Fence",
    "HistoryRow",
    "HostStatus",
    "LeaseLost",
    "LeaseStore",
    "LedgerStore",
    "LoginRow",
    "NotificationClaim",
    "ObservationColumns",
    "Payloads",
    "PeopleStore",
    "ReadModelStore",
    "RefusalRule",
    "SessionRow",
    "UserRow",
    "WaiverRow",
    "WorkingStateStore",
    "stored_payload",
]
