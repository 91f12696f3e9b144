"""Accounts, sessions, agents and tokens: who signs in to the pages and with which role, and which agents and
sources may send (enroll secrets, agents' tokens, re-enrollment codes, source tokens).

SQLite: collector/store/accounts.py; contract: tests/collector/store/test_accounts.py."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import NamedTuple, Protocol


class UserRow(NamedTuple):
    name: str
    role: str
    lang: str
    created_at: float
    disabled: bool


class LoginRow(NamedTuple):
    name: str
    role: str
    password_hash: str
    lang: str
    disabled: bool


class SessionRow(NamedTuple):
    user: str
    role: str
    csrf: str
    lang: str
    kind: str  # web | api


class AgentRow(NamedTuple):
    host_id: str
    site: str
    hostname: str | None
    enrolled_at: float
    last_seen: float | None
    revoked: bool


class EnrollSecretRow(NamedTuple):
    id: str
    site: str
    created_at: float
    expires_at: float | None
    uses: int
    revoked: bool


class Enrollment(NamedTuple):
    """What an enrollment attempt came to: no site when the secret is not valid; else the site and,
    when refused, why (recorded in the ledger too)."""

    site: str | None
    refused: str | None = None


# (host already enrolled, (code hash, expires_at) of its re-enrollment code or None) -> why refused, or None
RefusalRule = Callable[[bool, tuple[str, float] | None], str | None]


class AccountStore(Protocol):
    def user_exists(self, name: str) -> bool: ...

    def add_user(self, name: str, role: str, password_hash: str, created_at: float, *, actor: str) -> bool:
        """False (and nothing stored) when the name is taken."""
        ...

    def reset_user(self, name: str, role: str, password_hash: str, *, actor: str) -> bool:
        """New password and role, enabled again; False when there is no such user."""
        ...

    def users(self) -> list[UserRow]: ...

    def login_row(self, name: str) -> LoginRow | None: ...

    def set_password_hash(self, name: str, password_hash: str) -> None: ...

    def set_user_lang(self, name: str, lang: str) -> None: ...

    def set_user_disabled(self, name: str, disabled: bool, *, actor: str) -> bool:
        """Disabling ends the user's sessions; False when there is no such user."""
        ...

    def add_session(self, token_hash: str, user: str, kind: str, csrf: str, created_at: float,
                    expires_at: float) -> None:
        """Also forgets sessions expired by `created_at`."""
        ...

    def end_session(self, token_hash: str) -> None: ...

    def session_of(self, token_hash: str, now: float) -> SessionRow | None:
        """The unexpired session of an enabled user."""
        ...

    def agent_of(self, token_hash: str) -> tuple[str, str] | None:
        """(host id, site) of the agent holding this unrevoked token."""
        ...

    def source_of(self, token_hash: str) -> tuple[str, str, list[str]] | None:
        """(name, site, subject kinds) of the source holding this unrevoked token."""
        ...

    def add_enroll_secret(self, secret_id: str, site: str, secret_hash: str, created_at: float,
                          expires_at: float | None, *, actor: str, rotate: bool) -> None:
        """`rotate` revokes the site's other secrets in the same transaction."""
        ...

    def enroll_secrets(self) -> list[EnrollSecretRow]:
        """Newest first."""
        ...

    def enroll_agent(self, secret_hash: str, host_id: str, hostname: str | None, token_hash: str, now: float, *,
                     code_given: bool, refusal: RefusalRule) -> Enrollment:
        """In one transaction: check the secret, ask `refusal` whether the host may enroll, then
        either record the refusal or store the agent's token (using up its re-enrollment code)."""
        ...

    def issue_reenroll_code(self, host_id: str, code_hash: str, now: float, expires_at: datetime, *,
                            actor: str) -> bool:
        """Replaces an earlier code; False when the host is not enrolled."""
        ...

    def revoke_agent(self, host_id: str, now: float, *, actor: str) -> bool:
        """False when the host has no working token."""
        ...

    def agents(self) -> list[AgentRow]: ...

    def add_source_token(self, name: str, site: str, token_hash: str, subject_kinds: list[str], created_at: float, *,
                         actor: str) -> None:
        """Replaces a token of the same name."""
        ...
