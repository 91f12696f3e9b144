"""Contract: users, sessions, enroll secrets, agents and source tokens
(collector/store/areas/accounts.py AccountStore)."""
from __future__ import annotations

from collector.proof.canonical import loads
from collector.store.areas import AgentRow, Enrollment, LoginRow, SessionRow, UserRow
from tests.collector.store.conftest import EPOCH, T0, hours


def ledger_types(store) -> list[str]:
    return [loads(body)["type"] for _, _, body in store.ledger_entries(1, store.ledger_head())]


def test_a_user_name_is_taken_once(store):
    assert store.add_user("ann", "admin", "hash-1", 100.0, actor="cli")
    assert not store.add_user("ann", "auditor", "hash-2", 200.0, actor="cli")
    assert store.user_exists("ann") and not store.user_exists("bob")
    assert store.users() == [UserRow("ann", "admin", "zh", 100.0, False)]
    assert store.login_row("ann") == LoginRow("ann", "admin", "hash-1", "zh", False)
    assert store.login_row("bob") is None
    assert ledger_types(store) == ["user.added"]  # the refused second name left no entry


def test_password_language_disabling_and_reset(store):
    store.add_user("ann", "admin", "hash-1", 100.0, actor="cli")
    store.set_password_hash("ann", "hash-2")
    store.set_user_lang("ann", "en")
    assert store.login_row("ann") == LoginRow("ann", "admin", "hash-2", "en", False)
    assert store.set_user_disabled("ann", True, actor="user:root")
    assert store.users()[0].disabled
    assert store.reset_user("ann", "auditor", "hash-3", actor="demo")
    assert store.login_row("ann") == LoginRow("ann", "auditor", "hash-3", "en", False)
    assert not store.reset_user("bob", "admin", "x", actor="demo")
    assert not store.set_user_disabled("bob", True, actor="cli")
    assert ledger_types(store) == ["user.added", "user.disabled", "user.password_reset"]


def test_sessions_expire_end_and_die_with_a_disabled_user(store):
    store.add_user("ann", "admin", "h", 100.0, actor="cli")
    store.add_session("tok-1", "ann", "web", "csrf-1", 100.0, 200.0)
    assert store.session_of("tok-1", 150.0) == SessionRow("ann", "admin", "csrf-1", "zh", "web")
    assert store.session_of("tok-1", 200.0) is None
    store.add_session("tok-2", "ann", "api", "csrf-2", 300.0, 400.0)  # forgets tok-1, expired by then
    assert store.session_of("tok-1", 150.0) is None
    store.end_session("tok-2")
    assert store.session_of("tok-2", 350.0) is None
    store.add_session("tok-3", "ann", "web", "csrf-3", 300.0, 400.0)
    store.set_user_disabled("ann", True, actor="cli")
    store.set_user_disabled("ann", False, actor="cli")
    assert store.session_of("tok-3", 350.0) is None  # ended when disabled, not revived


def test_rotating_an_enroll_secret_revokes_the_others_of_its_site(store):
    store.add_enroll_secret("s1", "default", "secret-hash-1", 100.0, None, actor="cli", rotate=False)
    store.add_enroll_secret("o1", "other", "secret-hash-o", 150.0, None, actor="cli", rotate=False)
    store.add_enroll_secret("s2", "default", "secret-hash-2", 200.0, 900.0, actor="cli", rotate=True)
    assert [(r.id, r.site, r.expires_at, r.uses, r.revoked) for r in store.enroll_secrets()] == [
        ("s2", "default", 900.0, 0, False), ("o1", "other", None, 0, False), ("s1", "default", None, 0, True)]
    rotated = [loads(b)["data"] for _, _, b in store.ledger_entries(1, 3)][-1]
    assert rotated == {"id": "s2", "site": "default", "revoked": ["s1"]}


def allow(enrolled: bool, code: tuple[str, float] | None) -> str | None:
    return None


def test_enrolling_stores_the_token_and_the_host(store):
    store.add_enroll_secret("s1", "default", "secret-hash", 100.0, 500.0, actor="cli", rotate=False)
    assert store.enroll_agent("wrong", "h1", "pc-1", "tok", 200.0, code_given=False, refusal=allow) == Enrollment(None)
    assert store.enroll_agent("secret-hash", "h1", "pc-1", "tok", 600.0, code_given=False,
                              refusal=allow) == Enrollment(None)  # the secret expired at 500
    assert store.enroll_agent("secret-hash", "h1", "pc-1", "tok", 200.0, code_given=False,
                              refusal=allow) == Enrollment("default")
    assert store.agent_of("tok") == ("h1", "default") and store.agent_of("other") is None
    assert store.agents() == [AgentRow("h1", "default", "pc-1", 200.0, None, False)]
    assert ("host", "h1", "default") in store.subjects("host")
    assert store.enroll_secrets()[0].uses == 1
    [event] = store.events(EPOCH, types=["agent.enrolled"], first_only=False)
    assert (event.subject_kind, event.subject_id, loads(event.detail)["actor"]) == ("host", "h1", "agent:h1")


def test_enrolling_again_needs_the_one_time_code(store):
    store.add_enroll_secret("s1", "default", "secret-hash", 100.0, None, actor="cli", rotate=False)
    store.enroll_agent("secret-hash", "h1", "pc-1", "tok-1", 200.0, code_given=False, refusal=allow)
    asked = []

    def rule(enrolled: bool, code: tuple[str, float] | None) -> str | None:
        asked.append((enrolled, code))
        return None if code == ("code-hash", (T0 + hours(1)).timestamp()) else "no valid code"

    assert store.enroll_agent("secret-hash", "h1", "pc-2", "tok-2", 300.0, code_given=False,
                              refusal=rule) == Enrollment("default", "no valid code")
    assert store.agent_of("tok-1") == ("h1", "default") and store.agent_of("tok-2") is None
    assert not store.issue_reenroll_code("h9", "code-hash", 300.0, T0 + hours(1), actor="user:root")
    assert store.issue_reenroll_code("h1", "old-hash", 300.0, T0, actor="user:root")
    assert store.issue_reenroll_code("h1", "code-hash", 310.0, T0 + hours(1), actor="user:root")  # replaces it
    assert store.enroll_agent("secret-hash", "h1", "pc-2", "tok-2", 320.0, code_given=True,
                              refusal=rule) == Enrollment("default")
    assert store.agent_of("tok-2") == ("h1", "default") and store.agent_of("tok-1") is None
    assert store.enroll_agent("secret-hash", "h1", "pc-3", "tok-3", 330.0, code_given=True,
                              refusal=rule).refused == "no valid code"  # the code was used up
    assert asked == [(True, None), (True, ("code-hash", (T0 + hours(1)).timestamp())), (True, None)]
    kinds = [e.type for e in store.events(EPOCH, types=["agent.enrolled", "agent.reenrolled", "agent.enroll_refused",
                                                        "agent.reenroll_code_issued"], first_only=False)]
    assert sorted(kinds) == sorted(["agent.enrolled", "agent.enroll_refused", "agent.reenroll_code_issued",
                                    "agent.reenroll_code_issued", "agent.reenrolled", "agent.enroll_refused"])


def test_a_revoked_agent_token_stops_at_once(store):
    store.add_enroll_secret("s1", "default", "secret-hash", 100.0, None, actor="cli", rotate=False)
    store.enroll_agent("secret-hash", "h1", None, "tok", 200.0, code_given=False, refusal=allow)
    assert store.revoke_agent("h1", 300.0, actor="user:root")
    assert not store.revoke_agent("h1", 301.0, actor="user:root")
    assert store.agent_of("tok") is None and store.agents()[0].revoked


def test_a_source_token_names_its_kinds_and_is_replaced_by_name(store):
    store.add_source_token("nut", "default", "tok-1", ["ups", "room"], 100.0, actor="cli")
    assert store.source_of("tok-1") == ("nut", "default", ["ups", "room"])
    store.add_source_token("nut", "b", "tok-2", ["ups"], 200.0, actor="cli")
    assert store.source_of("tok-1") is None
    assert store.source_of("tok-2") == ("nut", "b", ["ups"])
    assert ledger_types(store) == ["source_token.created", "source_token.created"]
