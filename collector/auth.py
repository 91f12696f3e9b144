"""Accounts, roles, sessions, agent enrollment and tokens. Only hashes of secrets are stored."""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

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
    "waivers.approve": frozenset({"manager"}),
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

    def may_write_kind(self, owner: str) -> bool:
        """Whether this token may post observations of a kind owned by `owner` (rules/kinds.yaml):
        an agent writes agent kinds, a source the kinds of pollers, importers, cameras and canaries,
        and nobody the kinds the collector derives itself."""
        if owner == "collector":
            return False
        if self.kind == "agent":
            return owner == "agent"
        if self.kind == "source":
            return owner != "agent"
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
    if _hasher.check_needs_rehash(row[2]):
        # the hashing parameters were raised since this password was set: only now is it at hand
        with store.write() as conn:
            conn.execute("UPDATE users SET password_hash = ? WHERE name = ?", (_hasher.hash(password), row[0]))
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
                         ttl: timedelta | None = None, rotate: bool = False) -> tuple[str, str]:
    """A new enroll secret (returned once; only its hash is kept). `rotate` revokes the site's other
    secrets in the same transaction, so there is never a moment with none or with two."""
    secret = "cwe_" + secrets.token_urlsafe(24)
    secret_id = secrets.token_hex(4)
    expires = (datetime.now(UTC) + ttl).timestamp() if ttl else None
    with store.write() as conn:
        revoked = []
        if rotate:
            revoked = [r[0] for r in conn.execute("SELECT id FROM enroll_secrets WHERE site = ? AND revoked = 0"
                                                  " ORDER BY created_at", (site,))]
            conn.execute("UPDATE enroll_secrets SET revoked = 1 WHERE site = ?", (site,))
        conn.execute("INSERT INTO enroll_secrets (id, site, secret_hash, created_at, expires_at) VALUES (?,?,?,?,?)",
                     (secret_id, site, token_hash(secret), _now(), expires))
        if rotate:
            store.ledger.append(conn, "enroll_secret.rotated", actor, {"id": secret_id, "site": site,
                                                                        "revoked": revoked})
        else:
            store.ledger.append(conn, "enroll_secret.created", actor, {"id": secret_id, "site": site})
    return secret_id, secret


class EnrollRefused(AuthError):
    """A valid secret for a host that is already enrolled, without a valid one-time re-enrollment code."""

    def __init__(self, message: str, *, code_given: bool):
        super().__init__(message)
        self.code_given = code_given


def _enrollment_event(conn: Any, store: SqliteStore, type_: str, actor: str, host_id: str, site: str,
                      data: dict[str, Any]) -> None:
    """Ledger entry plus an event row, so the admin page lists enrollments without reading the ledger."""
    entry = store.ledger.append(conn, type_, actor, {"host_id": host_id, **data})
    conn.execute("INSERT INTO events (ts, type, subject_kind, subject_id, site, detail, ledger_seq)"
                 " VALUES (?,?,?,?,?,?,?)", (_now(), type_, "host", host_id, site,
                                             json.dumps({"actor": actor, **data}), entry.seq))


def _reenroll_refusal(conn: Any, host_id: str, code: str | None) -> str | None:
    """None when `host_id` may enroll now; else why not."""
    if conn.execute("SELECT 1 FROM agents WHERE host_id = ?", (host_id,)).fetchone() is None:
        return None
    row = conn.execute("SELECT code_hash, expires_at FROM reenroll_codes WHERE host_id = ?", (host_id,)).fetchone()
    if not code:
        return (f"host {host_id} is already enrolled; enrolling it again needs a one-time code from an admin "
                f"(clausewatch reenroll-code {host_id})")
    if row is None or row[1] < _now() or not same(token_hash(code), row[0]):
        return f"the re-enrollment code for host {host_id} is wrong, used or expired"
    return None


def enroll(store: SqliteStore, secret: str, host_id: str, hostname: str | None = None,
           reenroll_code: str | None = None) -> str:
    """Exchange the site's enroll secret for a per-agent token. A host already enrolled (its token
    lost, revoked, or someone else claiming its name) also needs the one-time code an admin issued
    for it; a refusal is recorded in the ledger and nothing else changes (its token keeps working)."""
    with store.write() as conn:
        row = conn.execute("SELECT id, site, expires_at FROM enroll_secrets WHERE secret_hash = ? AND revoked = 0",
                           (token_hash(secret),)).fetchone()
        if row is None or (row[2] is not None and row[2] < _now()):
            raise AuthError("enroll secret is not valid")
        secret_id, site = row[0], row[1]
        refusal = _reenroll_refusal(conn, host_id, reenroll_code)
        if refusal is not None:
            _enrollment_event(conn, store, "agent.enroll_refused", f"agent:{host_id}", host_id, site,
                              {"hostname": hostname, "secret_id": secret_id, "code_given": bool(reenroll_code),
                               "reason": refusal})
        else:
            token = _issue_agent_token(conn, store, host_id, site, hostname, secret_id)
    if refusal is not None:
        raise EnrollRefused(refusal, code_given=bool(reenroll_code))
    return token


def set_disabled(store: SqliteStore, name: str, disabled: bool, *, actor: str = "cli") -> None:
    """Disable a user (their sessions end at once) or enable them again."""
    with store.write() as conn:
        if conn.execute("UPDATE users SET disabled = ? WHERE name = ?", (int(disabled), name)).rowcount == 0:
            raise AuthError(f"user: no user named {name!r}")
        if disabled:
            conn.execute("DELETE FROM sessions WHERE user = ?", (name,))
        store.ledger.append(conn, "user.disabled" if disabled else "user.enabled", actor, {"user": name})


def _issue_agent_token(conn: Any, store: SqliteStore, host_id: str, site: str, hostname: str | None,
                       secret_id: str) -> str:
    code = conn.execute("SELECT issued_by FROM reenroll_codes WHERE host_id = ?", (host_id,)).fetchone()
    again = conn.execute("SELECT 1 FROM agents WHERE host_id = ?", (host_id,)).fetchone() is not None
    token = "cwa_" + secrets.token_urlsafe(32)
    conn.execute("INSERT INTO agents (host_id, site, token_hash, hostname, enrolled_at) VALUES (?,?,?,?,?)"
                 " ON CONFLICT(host_id) DO UPDATE SET token_hash = excluded.token_hash,"
                 " hostname = excluded.hostname, enrolled_at = excluded.enrolled_at, revoked = 0",
                 (host_id, site, token_hash(token), hostname, _now()))
    conn.execute("DELETE FROM reenroll_codes WHERE host_id = ?", (host_id,))  # one use only
    conn.execute("UPDATE enroll_secrets SET uses = uses + 1 WHERE id = ?", (secret_id,))
    conn.execute("INSERT OR IGNORE INTO subjects (kind, id, site, first_seen, last_seen) VALUES (?,?,?,?,?)",
                 ("host", host_id, site, _now(), _now()))
    data: dict[str, Any] = {"hostname": hostname, "site": site, "secret_id": secret_id}
    if again:
        data["code_issued_by"] = code[0] if code else None
    _enrollment_event(conn, store, "agent.reenrolled" if again else "agent.enrolled", f"agent:{host_id}",
                      host_id, site, data)
    return token


def issue_reenroll_code(store: SqliteStore, host_id: str, *, actor: str = "cli",
                        ttl: timedelta = timedelta(hours=24)) -> tuple[str, datetime]:
    """A one-time code that lets `host_id` enroll again (with the site secret) until it expires.
    Issuing another replaces it. Returned once; only its hash is kept."""
    code = "cwr_" + secrets.token_urlsafe(18)
    expires = datetime.now(UTC) + ttl
    with store.write() as conn:
        row = conn.execute("SELECT site FROM agents WHERE host_id = ?", (host_id,)).fetchone()
        if row is None:
            raise AuthError(f"host {host_id} is not enrolled: it enrolls with the site's enroll secret alone")
        conn.execute("INSERT OR REPLACE INTO reenroll_codes (host_id, code_hash, issued_by, created_at, expires_at)"
                     " VALUES (?,?,?,?,?)", (host_id, token_hash(code), actor, _now(), expires.timestamp()))
        _enrollment_event(conn, store, "agent.reenroll_code_issued", actor, host_id, row[0],
                          {"expires_at": expires.isoformat()})
    return code, expires


def revoke_agent(store: SqliteStore, host_id: str, *, actor: str = "cli") -> None:
    """The agent's token stops working at once; the host enrolls again only with a re-enrollment code."""
    with store.write() as conn:
        row = conn.execute("SELECT site FROM agents WHERE host_id = ? AND revoked = 0", (host_id,)).fetchone()
        if row is None:
            raise AuthError(f"agent: host {host_id} has no working token")
        conn.execute("UPDATE agents SET revoked = 1 WHERE host_id = ?", (host_id,))
        _enrollment_event(conn, store, "agent.revoked", actor, host_id, row[0], {})


ENROLLMENT_EVENTS = ("agent.enrolled", "agent.reenrolled", "agent.enroll_refused", "agent.reenroll_code_issued",
                     "agent.revoked")


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


def same(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and hmac.compare_digest(a, b)
