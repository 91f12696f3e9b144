"""Users, sessions, enrolled agents, enroll secrets, re-enrollment codes and source tokens.

Only hashes of secrets reach these tables; every change of who may do what is in the ledger too."""
from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any

from collector.store.areas import AgentRow, Enrollment, EnrollSecretRow, LoginRow, RefusalRule, SessionRow, UserRow
from collector.store.sqlite_parts import SqliteParts, insert_event


class SqliteAccounts(SqliteParts):
    # -- users and sessions ---------------------------------------------------------------------------
    def user_exists(self, name: str) -> bool:
        return self._one("SELECT 1 FROM users WHERE name = ?", (name,)) is not None

    def add_user(self, name: str, role: str, password_hash: str, created_at: float, *, actor: str) -> bool:
        with self.write() as conn:
            added = conn.execute("INSERT INTO users (name, role, password_hash, created_at) VALUES (?,?,?,?)"
                                 " ON CONFLICT (name) DO NOTHING", (name, role, password_hash, created_at)).rowcount
            if added:
                self.ledger.append(conn, "user.added", actor, {"user": name, "role": role})
        return bool(added)

    def reset_user(self, name: str, role: str, password_hash: str, *, actor: str) -> bool:
        with self.write() as conn:
            if not conn.execute("UPDATE users SET password_hash = ?, role = ?, disabled = 0 WHERE name = ?",
                                (password_hash, role, name)).rowcount:
                return False
            self.ledger.append(conn, "user.password_reset", actor, {"user": name})
        return True

    def users(self) -> list[UserRow]:
        return [UserRow(r[0], r[1], r[2], r[3], bool(r[4]))
                for r in self._rows("SELECT name, role, lang, created_at, disabled FROM users ORDER BY name")]

    def login_row(self, name: str) -> LoginRow | None:
        row = self._one("SELECT name, role, password_hash, lang, disabled FROM users WHERE name = ?", (name,))
        return LoginRow(row[0], row[1], row[2], row[3], bool(row[4])) if row else None

    def set_password_hash(self, name: str, password_hash: str) -> None:
        with self.write() as conn:
            conn.execute("UPDATE users SET password_hash = ? WHERE name = ?", (password_hash, name))

    def set_user_lang(self, name: str, lang: str) -> None:
        with self.write() as conn:
            conn.execute("UPDATE users SET lang = ? WHERE name = ?", (lang, name))

    def set_user_disabled(self, name: str, disabled: bool, *, actor: str) -> bool:
        with self.write() as conn:
            if conn.execute("UPDATE users SET disabled = ? WHERE name = ?", (int(disabled), name)).rowcount == 0:
                return False
            if disabled:
                conn.execute("DELETE FROM sessions WHERE user = ?", (name,))
            self.ledger.append(conn, "user.disabled" if disabled else "user.enabled", actor, {"user": name})
        return True

    def add_session(self, token_hash: str, user: str, kind: str, csrf: str, created_at: float,
                    expires_at: float) -> None:
        with self.write() as conn:
            conn.execute("INSERT INTO sessions (token_hash, user, kind, csrf, created_at, expires_at)"
                         " VALUES (?,?,?,?,?,?)", (token_hash, user, kind, csrf, created_at, expires_at))
            conn.execute("DELETE FROM sessions WHERE expires_at < ?", (created_at,))

    def end_session(self, token_hash: str) -> None:
        with self.write() as conn:
            conn.execute("DELETE FROM sessions WHERE token_hash = ?", (token_hash,))

    def session_of(self, token_hash: str, now: float) -> SessionRow | None:
        row = self._one("SELECT u.name, u.role, s.csrf, u.lang, s.kind FROM sessions s JOIN users u ON u.name = s.user"
                        " WHERE s.token_hash = ? AND s.expires_at > ? AND u.disabled = 0", (token_hash, now))
        return SessionRow(*row) if row else None

    # -- agents and sources ---------------------------------------------------------------------------
    def agent_of(self, token_hash: str) -> tuple[str, str] | None:
        row = self._one("SELECT host_id, site FROM agents WHERE token_hash = ? AND revoked = 0", (token_hash,))
        return (row[0], row[1]) if row else None

    def source_of(self, token_hash: str) -> tuple[str, str, list[str]] | None:
        row = self._one("SELECT name, site, subject_kinds FROM source_tokens WHERE token_hash = ? AND revoked = 0",
                        (token_hash,))
        return (row[0], row[1], row[2].split(",")) if row else None

    def agents(self) -> list[AgentRow]:
        return [AgentRow(r[0], r[1], r[2], r[3], r[4], bool(r[5])) for r in self._rows(
            "SELECT host_id, site, hostname, enrolled_at, last_seen, revoked FROM agents ORDER BY host_id")]

    def add_source_token(self, name: str, site: str, token_hash: str, subject_kinds: list[str], created_at: float, *,
                         actor: str) -> None:
        with self.write() as conn:
            conn.execute("INSERT INTO source_tokens (name, site, token_hash, subject_kinds, created_at)"
                         " VALUES (?,?,?,?,?) ON CONFLICT (name) DO UPDATE SET site = excluded.site,"
                         " token_hash = excluded.token_hash, subject_kinds = excluded.subject_kinds,"
                         " created_at = excluded.created_at, revoked = 0",
                         (name, site, token_hash, ",".join(subject_kinds), created_at))
            self.ledger.append(conn, "source_token.created", actor, {"name": name, "subject_kinds": subject_kinds})

    # -- enrollment -------------------------------------------------------------------------------------
    def add_enroll_secret(self, secret_id: str, site: str, secret_hash: str, created_at: float,
                          expires_at: float | None, *, actor: str, rotate: bool) -> None:
        with self.write() as conn:
            revoked = []
            if rotate:
                revoked = [r[0] for r in conn.execute("SELECT id FROM enroll_secrets WHERE site = ? AND revoked = 0"
                                                      " ORDER BY created_at", (site,))]
                conn.execute("UPDATE enroll_secrets SET revoked = 1 WHERE site = ?", (site,))
            conn.execute("INSERT INTO enroll_secrets (id, site, secret_hash, created_at, expires_at)"
                         " VALUES (?,?,?,?,?)", (secret_id, site, secret_hash, created_at, expires_at))
            if rotate:
                self.ledger.append(conn, "enroll_secret.rotated", actor, {"id": secret_id, "site": site,
                                                                           "revoked": revoked})
            else:
                self.ledger.append(conn, "enroll_secret.created", actor, {"id": secret_id, "site": site})

    def enroll_secrets(self) -> list[EnrollSecretRow]:
        return [EnrollSecretRow(r[0], r[1], r[2], r[3], r[4], bool(r[5])) for r in self._rows(
            "SELECT id, site, created_at, expires_at, uses, revoked FROM enroll_secrets ORDER BY created_at DESC")]

    def enroll_agent(self, secret_hash: str, host_id: str, hostname: str | None, token_hash: str, now: float, *,
                     code_given: bool, refusal: RefusalRule) -> Enrollment:
        with self.write() as conn:
            row = conn.execute("SELECT id, site, expires_at FROM enroll_secrets WHERE secret_hash = ? AND revoked = 0",
                               (secret_hash,)).fetchone()
            if row is None or (row[2] is not None and row[2] < now):
                return Enrollment(None)
            secret_id, site = row[0], row[1]
            enrolled = conn.execute("SELECT 1 FROM agents WHERE host_id = ?", (host_id,)).fetchone() is not None
            code = conn.execute("SELECT code_hash, expires_at, issued_by FROM reenroll_codes WHERE host_id = ?",
                                (host_id,)).fetchone()
            refused = refusal(enrolled, (code[0], code[1]) if code else None)
            if refused is not None:
                self._enrollment_event(conn, "agent.enroll_refused", f"agent:{host_id}", host_id, site, now, {
                    "hostname": hostname, "secret_id": secret_id, "code_given": code_given, "reason": refused})
                return Enrollment(site, refused)
            conn.execute("INSERT INTO agents (host_id, site, token_hash, hostname, enrolled_at) VALUES (?,?,?,?,?)"
                         " ON CONFLICT(host_id) DO UPDATE SET token_hash = excluded.token_hash,"
                         " hostname = excluded.hostname, enrolled_at = excluded.enrolled_at, revoked = 0",
                         (host_id, site, token_hash, hostname, now))
            conn.execute("DELETE FROM reenroll_codes WHERE host_id = ?", (host_id,))  # one use only
            conn.execute("UPDATE enroll_secrets SET uses = uses + 1 WHERE id = ?", (secret_id,))
            conn.execute("INSERT INTO subjects (kind, id, site, first_seen, last_seen) VALUES (?,?,?,?,?)"
                         " ON CONFLICT DO NOTHING", ("host", host_id, site, now, now))
            data: dict[str, Any] = {"hostname": hostname, "site": site, "secret_id": secret_id}
            if enrolled:
                data["code_issued_by"] = code[2] if code else None
            self._enrollment_event(conn, "agent.reenrolled" if enrolled else "agent.enrolled", f"agent:{host_id}",
                                   host_id, site, now, data)
        return Enrollment(site)

    def issue_reenroll_code(self, host_id: str, code_hash: str, now: float, expires_at: datetime, *,
                            actor: str) -> bool:
        with self.write() as conn:
            row = conn.execute("SELECT site FROM agents WHERE host_id = ?", (host_id,)).fetchone()
            if row is None:
                return False
            conn.execute("INSERT INTO reenroll_codes (host_id, code_hash, issued_by, created_at, expires_at)"
                         " VALUES (?,?,?,?,?) ON CONFLICT (host_id) DO UPDATE SET code_hash = excluded.code_hash,"
                         " issued_by = excluded.issued_by, created_at = excluded.created_at,"
                         " expires_at = excluded.expires_at", (host_id, code_hash, actor, now, expires_at.timestamp()))
            self._enrollment_event(conn, "agent.reenroll_code_issued", actor, host_id, row[0], now,
                                   {"expires_at": expires_at.isoformat()})
        return True

    def revoke_agent(self, host_id: str, now: float, *, actor: str) -> bool:
        with self.write() as conn:
            row = conn.execute("SELECT site FROM agents WHERE host_id = ? AND revoked = 0", (host_id,)).fetchone()
            if row is None:
                return False
            conn.execute("UPDATE agents SET revoked = 1 WHERE host_id = ?", (host_id,))
            self._enrollment_event(conn, "agent.revoked", actor, host_id, row[0], now, {})
        return True

    def _enrollment_event(self, conn: sqlite3.Connection, type_: str, actor: str, host_id: str, site: str, now: float,
                          data: dict[str, Any]) -> None:
        """Ledger entry plus an event row, so the admin page lists enrollments without reading the ledger."""
        entry = self.ledger.append(conn, type_, actor, {"host_id": host_id, **data})
        insert_event(conn, now, type_, ("host", host_id), site, json.dumps({"actor": actor, **data}), entry.seq)
