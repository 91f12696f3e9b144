"""Accounts, roles, sessions, agent enrollment and tokens. Only hashes of secrets are stored."""
from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from collector.store.areas import RefusalRule
from collector.store.base import Store

ROLES = ("admin", "security", "auditor", "facility", "manager")
AGENT_TOKEN_PREFIX, SOURCE_TOKEN_PREFIX = "cwa_", "cws_"  # what agents' and sources' tokens start with

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


def add_user(store: Store, name: str, role: str, password: str, *, actor: str = "cli") -> None:
    check_new_user(name, role, password)
    if not store.add_user(name, role, _hasher.hash(password), _now(), actor=actor):
        raise AuthError(f"user {name!r} already exists")


def list_users(store: Store) -> list[dict]:
    return [{"name": r.name, "role": r.role, "lang": r.lang,
             "created_at": datetime.fromtimestamp(r.created_at, UTC).isoformat(), "disabled": r.disabled}
            for r in store.users()]


def authenticate(store: Store, name: str, password: str) -> tuple[str, str, str] | None:
    """(name, role, lang) when the password is right and the account enabled."""
    row = store.login_row(name)
    try:
        _hasher.verify(row.password_hash if row else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if row is None or row.disabled:
        return None
    if _hasher.check_needs_rehash(row.password_hash):
        # the hashing parameters were raised since this password was set: only now is it at hand
        store.set_password_hash(row.name, _hasher.hash(password))
    return row.name, row.role, row.lang


def create_session(store: Store, user: str, kind: str = "web", ttl: timedelta = timedelta(hours=12)
                   ) -> tuple[str, str, datetime]:
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    expires = datetime.now(UTC) + ttl
    store.add_session(token_hash(token), user, kind, csrf, _now(), expires.timestamp())
    return token, csrf, expires


def end_session(store: Store, token: str) -> None:
    store.end_session(token_hash(token))


def set_lang(store: Store, user: str, lang: str) -> None:
    store.set_user_lang(user, lang)


def resolve_token(store: Store, token: str) -> Principal | None:
    """Whoever holds this token: a user session, an enrolled agent or a source. A token's hash is in one
    table at most; agents' and sources' tokens, which say what they are, are looked for there first (an agent's
    every batch would otherwise ask the sessions first, a query to the database each)."""
    h = token_hash(token)
    finders = (_agent_of, _session_of, _source_of) if token.startswith(AGENT_TOKEN_PREFIX) else \
        (_source_of, _session_of, _agent_of) if token.startswith(SOURCE_TOKEN_PREFIX) else \
        (_session_of, _agent_of, _source_of)
    for find in finders:
        principal = find(store, h)
        if principal is not None:
            return principal
    return None


def _session_of(store: Store, h: str) -> Principal | None:
    session = store.session_of(h, _now())
    if session is None:
        return None
    return Principal("user", session.user, session.role, csrf=session.csrf if session.kind == "web" else None,
                     lang=session.lang)


def _agent_of(store: Store, h: str) -> Principal | None:
    agent = store.agent_of(h)
    return Principal("agent", agent[0], site=agent[1], host_id=agent[0]) if agent else None


def _source_of(store: Store, h: str) -> Principal | None:
    source = store.source_of(h)
    return Principal("source", source[0], site=source[1], subject_kinds=frozenset(source[2])) if source else None


def create_enroll_secret(store: Store, site: str = "default", *, actor: str = "cli",
                         ttl: timedelta | None = None, rotate: bool = False) -> tuple[str, str]:
    """A new enroll secret (returned once; only its hash is kept). `rotate` revokes the site's other
    secrets in the same transaction, so there is never a moment with none or with two."""
    secret = "cwe_" + secrets.token_urlsafe(24)
    secret_id = secrets.token_hex(4)
    expires = (datetime.now(UTC) + ttl).timestamp() if ttl else None
    store.add_enroll_secret(secret_id, site, token_hash(secret), _now(), expires, actor=actor, rotate=rotate)
    return secret_id, secret


class EnrollRefused(AuthError):
    """A valid secret for a host that is already enrolled, without a valid one-time re-enrollment code."""

    def __init__(self, message: str, *, code_given: bool):
        super().__init__(message)
        self.code_given = code_given


def _reenroll_refusal(host_id: str, code: str | None) -> RefusalRule:
    """The rule for `store.enroll_agent`: None when `host_id` may enroll now; else why not."""
    def refusal(enrolled: bool, stored: tuple[str, float] | None) -> str | None:
        if not enrolled:
            return None
        if not code:
            return (f"host {host_id} is already enrolled; enrolling it again needs a one-time code from an admin "
                    f"(clausewatch reenroll-code {host_id})")
        if stored is None or stored[1] < _now() or not same(token_hash(code), stored[0]):
            return f"the re-enrollment code for host {host_id} is wrong, used or expired"
        return None
    return refusal


def enroll(store: Store, secret: str, host_id: str, hostname: str | None = None,
           reenroll_code: str | None = None) -> str:
    """Exchange the site's enroll secret for a per-agent token. A host already enrolled (its token
    lost, revoked, or someone else claiming its name) also needs the one-time code an admin issued
    for it; a refusal is recorded in the ledger and nothing else changes (its token keeps working)."""
    token = AGENT_TOKEN_PREFIX + secrets.token_urlsafe(32)
    done = store.enroll_agent(token_hash(secret), host_id, hostname, token_hash(token), _now(),
                              code_given=bool(reenroll_code), refusal=_reenroll_refusal(host_id, reenroll_code))
    if done.site is None:
        raise AuthError("enroll secret is not valid")
    if done.refused is not None:
        raise EnrollRefused(done.refused, code_given=bool(reenroll_code))
    return token


def set_disabled(store: Store, name: str, disabled: bool, *, actor: str = "cli") -> None:
    """Disable a user (their sessions end at once) or enable them again."""
    if not store.set_user_disabled(name, disabled, actor=actor):
        raise AuthError(f"user: no user named {name!r}")


def issue_reenroll_code(store: Store, host_id: str, *, actor: str = "cli",
                        ttl: timedelta = timedelta(hours=24)) -> tuple[str, datetime]:
    """A one-time code that lets `host_id` enroll again (with the site secret) until it expires.
    Issuing another replaces it. Returned once; only its hash is kept."""
    code = "cwr_" + secrets.token_urlsafe(18)
    expires = datetime.now(UTC) + ttl
    if not store.issue_reenroll_code(host_id, token_hash(code), _now(), expires, actor=actor):
        raise AuthError(f"host {host_id} is not enrolled: it enrolls with the site's enroll secret alone")
    return code, expires


def revoke_agent(store: Store, host_id: str, *, actor: str = "cli") -> None:
    """The agent's token stops working at once; the host enrolls again only with a re-enrollment code."""
    if not store.revoke_agent(host_id, _now(), actor=actor):
        raise AuthError(f"agent: host {host_id} has no working token")


ENROLLMENT_EVENTS = ("agent.enrolled", "agent.reenrolled", "agent.enroll_refused", "agent.reenroll_code_issued",
                     "agent.revoked")


def list_agents(store: Store) -> list[dict]:
    return [{"host_id": r.host_id, "site": r.site, "hostname": r.hostname,
             "enrolled_at": datetime.fromtimestamp(r.enrolled_at, UTC).isoformat(), "revoked": r.revoked}
            for r in store.agents()]


def create_source_token(store: Store, name: str, subject_kinds: list[str], site: str = "default", *,
                        actor: str = "cli") -> str:
    """A token for a poller or importer (camera worker, NUT poller...) limited to some subject kinds."""
    token = SOURCE_TOKEN_PREFIX + secrets.token_urlsafe(32)
    store.add_source_token(name, site, token_hash(token), subject_kinds, _now(), actor=actor)
    return token


def same(a: str | None, b: str | None) -> bool:
    """Whether two secrets are equal, in constant time; as bytes, since compare_digest raises on text that is
    not ASCII (a CSRF token sent as 'é' was a 500)."""
    return a is not None and b is not None and hmac.compare_digest(a.encode("utf-8", "surrogatepass"),
                                                                   b.encode("utf-8", "surrogatepass"))
