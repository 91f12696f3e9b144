"""What collectors sharing one store must agree on, each change one atomic statement: the sign-in
failures the login limiter counts (collector/login_limit.py), and which collector sends a
notification (collector/notify/claims.py).

None of it is ledgered: these writes go through `write_unledgered`, which on PostgreSQL does not
wait for the writers' lock that orders ledger appends."""
from __future__ import annotations

from collector.store.areas import NotificationClaim
from collector.store.sqlite_parts import SqliteParts

_CLAIM = (
    "INSERT INTO notification_claims (receiver, group_key, state, owner, claimed_at, expires_at, done)"
    " VALUES (?,?,?,?,?,?,0) ON CONFLICT (receiver, group_key) DO UPDATE SET state = excluded.state,"
    " owner = excluded.owner, expires_at = excluded.expires_at, done = 0,"
    # the sender retrying its own claim keeps the claim's time, from which repeats count
    " claimed_at = CASE WHEN notification_claims.owner = excluded.owner AND notification_claims.done = 0"
    " AND notification_claims.state = excluded.state THEN notification_claims.claimed_at ELSE excluded.claimed_at END"
    " WHERE notification_claims.state <> excluded.state"
    " OR (notification_claims.done = 0 AND (notification_claims.owner = excluded.owner"
    " OR notification_claims.expires_at <= ?))"
    " OR notification_claims.claimed_at <= ?"
    " RETURNING owner")


class SqliteCoordination(SqliteParts):
    # -- sign-in failures ------------------------------------------------------------------------------
    def login_failures(self, key: str) -> tuple[int, float] | None:
        row = self._one("SELECT failures, last_s FROM login_failures WHERE key = ?", (key,))
        return (int(row[0]), float(row[1])) if row else None

    def add_login_failure(self, key: str, now_s: float) -> tuple[int, float]:
        with self.write_unledgered() as conn:
            row = conn.execute("INSERT INTO login_failures (key, failures, last_s) VALUES (?, 1, ?)"
                               " ON CONFLICT (key) DO UPDATE SET failures = login_failures.failures + 1,"
                               " last_s = max(login_failures.last_s, excluded.last_s) RETURNING failures, last_s",
                               (key, now_s)).fetchone()
            conn.execute("INSERT INTO login_failure_times (at) VALUES (?)", (now_s,))
        return int(row[0]), float(row[1])

    def clear_login_failures(self, key: str) -> None:
        with self.write_unledgered() as conn:
            conn.execute("DELETE FROM login_failures WHERE key = ?", (key,))

    def recent_login_failures(self, since_s: float, limit: int) -> list[float]:
        rows = self._rows("SELECT at FROM login_failure_times WHERE at >= ? ORDER BY at DESC LIMIT ?", (since_s, limit))
        return [float(r[0]) for r in reversed(rows)]

    def forget_login_failures(self, before_s: float) -> None:
        with self.write_unledgered() as conn:
            conn.execute("DELETE FROM login_failures WHERE last_s < ?", (before_s,))
            conn.execute("DELETE FROM login_failure_times WHERE at < ?", (before_s,))

    # -- notification claims ---------------------------------------------------------------------------
    def claim_notification(self, receiver: str, group_key: str, state: str, owner: str, now_s: float,
                           expires_s: float, repeat_before_s: float | None = None) -> NotificationClaim:
        repeat = -1.0 if repeat_before_s is None else repeat_before_s
        with self.write_unledgered() as conn:
            won = conn.execute(_CLAIM, (receiver, group_key, state, owner, now_s, expires_s, now_s, repeat)).fetchone()
        if won is not None:
            return NotificationClaim(True)
        row = self._one("SELECT state, done, expires_at FROM notification_claims WHERE receiver = ? AND group_key = ?",
                        (receiver, group_key))
        pending = row is not None and row[0] == state and not row[1]
        return NotificationClaim(False, float(row[2]) if pending else None)

    def settle_notification(self, receiver: str, group_key: str, state: str, owner: str, *, done: bool,
                            expires_s: float) -> bool:
        with self.write_unledgered() as conn:
            return conn.execute("UPDATE notification_claims SET done = ?, expires_at = ? WHERE receiver = ?"
                                " AND group_key = ? AND state = ? AND owner = ? AND done = 0",
                                (int(done), expires_s, receiver, group_key, state, owner)).rowcount > 0
