"""Accounts, roles, sessions, agent enrollment and tokens. Only hashes of secrets are stored."""
from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from collector.store.sqlite import SqliteStore

ROLES = ("admin", "security", "auditor", "facility", "manager")

# Which roles may do what. Reading posture is open to every role; the rest is least privilege.
PERMISSIONS: dict[str, frozenset[str]] = {
    "read": frozenset(ROLES),
    "ingest": frozenset({"admin"}),
    "users.manage": frozenset({"admin"}),
    "agents.manage": frozenset({"admin"}),
    "evidence.upload": frozenset({"admin", "security", "facility", "manager"}),
    "attest": frozenset({"manager"}),
    "exceptions.approve": frozenset({"manager"}),
    "alerts.ack": frozenset({"admin", "security", "facility"}),
    "reports": frozenset({"admin", "security", "auditor", "manager"}),
}

_hasher = PasswordHasher()
# verified against when the user does not exist, so timing does not reveal which names exist
_DUMMY_HASH = _hasher.hash("clausewatch-no-such-user")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    kind: str  # user | agent | source
    name: str
    role: str | None = None  # users only
    site: str = "default"
    host_id: str | None = None  # agents only
    subject_kinds: frozenset[str] = field(default_factory=frozenset)  # sources only
    csrf: str | None = None  # web sessions only
    lang: str = "zh"

    def can(self, permission: str) -> bool:
        if self.kind == "user":
            return self.role in PERMISSIONS.get(permission, frozenset())
        return permission == "ingest"

    def may_write(self, subject_kind: str, subject_id: str) -> bool:
        if self.kind == "agent":
            return subject_kind == "host" and subject_id == self.host_id
        if self.kind == "source":
            return subject_kind in self.subject_kinds
        return self.can("ingest")

    @property
    def actor(self) -> str:
        return f"{self.kind}:{self.name}"


class AuthError(Exception):
    pass


def _now() -> float:
    return time.time()


def check_new_user(name: str, role: str, password: str) -> None:
    """AuthError naming what is wrong with a new account, before anything is stored."""
    if role not in ROLES:
        raise AuthError(f"role must be one of {', '.join(ROLES)}")
    if not name or len(name) > 64 or not all(c.isalnum() or c in "._-@" for c in name):
        raise AuthError("user name: 1-64 letters, digits or ._-@")
    if len(password) < 10:
        raise AuthError("password must have at least 10 characters")


def add_user(store: SqliteStore, name: str, role: str, password: str, *, actor: str = "cli") -> None:
    check_new_user(name, role, password)
    with store.write() as conn:
        if conn.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
            raise AuthError(f"user {name!r} already exists")
        conn.execute("INSERT INTO users (name, role, password_hash, created_at) VALUES (?,?,?,?)",
                     (name, role, _hasher.hash(password), _now()))
        store.ledger.append(conn, "user.added", actor, {"user": name, "role": role})


def list_users(store: SqliteStore) -> list[dict]:
    rows = store.read.execute("SELECT name, role, lang, created_at, disabled FROM users ORDER BY name").fetchall()
    return [{"name": r[0], "role": r[1], "lang": r[2], "created_at": datetime.fromtimestamp(r[3], UTC).isoformat(),
             "disabled": bool(r[4])} for r in rows]


def authenticate(store: SqliteStore, name: str, password: str) -> tuple[str, str, str] | None:
    """(name, role, lang) when the password is right and the account enabled."""
    row = store.read.execute("SELECT name, role, password_hash, lang, disabled FROM users WHERE name = ?",
                             (name,)).fetchone()
    try:
        _hasher.verify(row[2] if row else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if row is None or row[4]:
        return None
    return row[0], row[1], row[3]


def create_session(store: SqliteStore, user: str, kind: str = "web", ttl: timedelta = timedelta(hours=12)
                   ) -> tuple[str, str, datetime]:
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    expires = datetime.now(UTC) + ttl
    with store.write() as conn:
        conn.execute("INSERT INTO sessions VALUES (?,?,?,?,?,?)",
                     (token_hash(token), user, kind, csrf, _now(), expires.timestamp()))
        conn.execute("DELETE FROM sessions WHERE expires_at < ?", (_now(),))
    return token, csrf, expires


def end_session(store: SqliteStore, token: str) -> None:
    with store.write() as conn:
        conn.execute("DELETE FROM sessions WHERE token_hash = ?", (token_hash(token),))


def set_lang(store: SqliteStore, user: str, lang: str) -> None:
    with store.write() as conn:
        conn.execute("UPDATE users SET lang = ? WHERE name = ?", (lang, user))


def resolve_token(store: SqliteStore, token: str) -> Principal | None:
    """Whoever holds this token: a user session, an enrolled agent or a source."""
    h = token_hash(token)
    row = store.read.execute(
        "SELECT u.name, u.role, s.csrf, u.lang, s.kind FROM sessions s JOIN users u ON u.name = s.user"
        " WHERE s.token_hash = ? AND s.expires_at > ? AND u.disabled = 0", (h, _now())).fetchone()
    if row:
        return Principal("user", row[0], row[1], csrf=row[2] if row[4] == "web" else None, lang=row[3])
    row = store.read.execute("SELECT host_id, site FROM agents WHERE token_hash = ? AND revoked = 0", (h,)).fetchone()
    if row:
        return Principal("agent", row[0], site=row[1], host_id=row[0])
    row = store.read.execute("SELECT name, site, subject_kinds FROM source_tokens WHERE token_hash = ? AND revoked = 0",
                             (h,)).fetchone()
    if row:
        return Principal("source", row[0], site=row[1], subject_kinds=frozenset(row[2].split(",")))
    return None


def create_enroll_secret(store: SqliteStore, site: str = "default", *, actor: str = "cli",
                         ttl: timedelta | None = None) -> tuple[str, str]:
    secret = "cwe_" + secrets.token_urlsafe(24)
    secret_id = secrets.token_hex(4)
    expires = (datetime.now(UTC) + ttl).timestamp() if ttl else None
    with store.write() as conn:
        conn.execute("INSERT INTO enroll_secrets (id, site, secret_hash, created_at, expires_at) VALUES (?,?,?,?,?)",
                     (secret_id, site, token_hash(secret), _now(), expires))
        store.ledger.append(conn, "enroll_secret.created", actor, {"id": secret_id, "site": site})
    return secret_id, secret


def enroll(store: SqliteStore, secret: str, host_id: str, hostname: str | None = None) -> str:
    """Exchange the site's enroll secret for a per-agent token; re-enrolling replaces the token."""
    with store.write() as conn:
        row = conn.execute("SELECT id, site, expires_at FROM enroll_secrets WHERE secret_hash = ? AND revoked = 0",
                           (token_hash(secret),)).fetchone()
        if row is None or (row[2] is not None and row[2] < _now()):
            raise AuthError("enroll secret is not valid")
        token = "cwa_" + secrets.token_urlsafe(32)
        conn.execute("INSERT INTO agents (host_id, site, token_hash, hostname, enrolled_at) VALUES (?,?,?,?,?)"
                     " ON CONFLICT(host_id) DO UPDATE SET token_hash = excluded.token_hash,"
                     " hostname = excluded.hostname, enrolled_at = excluded.enrolled_at, revoked = 0",
                     (host_id, row[1], token_hash(token), hostname, _now()))
        conn.execute("UPDATE enroll_secrets SET uses = uses + 1 WHERE id = ?", (row[0],))
        conn.execute("INSERT OR IGNORE INTO subjects (kind, id, site, first_seen, last_seen) VALUES (?,?,?,?,?)",
                     ("host", host_id, row[1], _now(), _now()))
        store.ledger.append(conn, "agent.enrolled", f"agent:{host_id}",
                            {"host_id": host_id, "hostname": hostname, "site": row[1], "secret_id": row[0]})
    return token


def list_agents(store: SqliteStore) -> list[dict]:
    rows = store.read.execute("SELECT host_id, site, hostname, enrolled_at, revoked FROM agents ORDER BY host_id")
    return [{"host_id": r[0], "site": r[1], "hostname": r[2],
             "enrolled_at": datetime.fromtimestamp(r[3], UTC).isoformat(), "revoked": bool(r[4])} for r in rows]


def create_source_token(store: SqliteStore, name: str, subject_kinds: list[str], site: str = "default", *,
                        actor: str = "cli") -> str:
    """A token for a poller or importer (camera worker, NUT poller...) limited to some subject kinds."""
    token = "cws_" + secrets.token_urlsafe(32)
    with store.write() as conn:
        conn.execute("INSERT OR REPLACE INTO source_tokens (name, site, token_hash, subject_kinds, created_at)"
                     " VALUES (?,?,?,?,?)", (name, site, token_hash(token), ",".join(subject_kinds), _now()))
        store.ledger.append(conn, "source_token.created", actor, {"name": name, "subject_kinds": subject_kinds})
    return token


class LoginLimiter:
    """At most `limit` failed logins per user name and per client address in `window_s`."""

    def __init__(self, limit: int = 5, window_s: float = 300.0):
        self.limit, self.window_s = limit, window_s
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        q = self._failures.setdefault(key, deque())
        while q and now - q[0] > self.window_s:
            q.popleft()
        return q

    def blocked(self, name: str, address: str) -> float:
        """Seconds until another attempt is allowed (0 when allowed)."""
        now = time.monotonic()
        with self._lock:
            waits = [self.window_s - (now - q[0]) for k in (f"u:{name}", f"a:{address}")
                     if len(q := self._recent(k, now)) >= self.limit]
        return max(waits, default=0.0)

    def failed(self, name: str, address: str) -> None:
        now = time.monotonic()
        with self._lock:
            for k in (f"u:{name}", f"a:{address}"):
                self._recent(k, now).append(now)

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._failures.pop(f"u:{name}", None)


def same(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and hmac.compare_digest(a, b)
