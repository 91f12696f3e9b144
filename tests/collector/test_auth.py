"""Local accounts: passwords are re-hashed when the hashing parameters have been raised."""
from __future__ import annotations

from argon2 import PasswordHasher

from collector import auth

PASSWORD = "correct horse battery"


def stored_hash(store, name: str) -> str:
    return store.read.execute("SELECT password_hash FROM users WHERE name = ?", (name,)).fetchone()[0]


def test_a_password_hashed_with_older_parameters_is_rehashed_at_sign_in(store):
    auth.add_user(store, "manager", "manager", PASSWORD)
    older = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)  # a store set up by an older release
    with store.write() as conn:
        conn.execute("UPDATE users SET password_hash = ? WHERE name = 'manager'", (older.hash(PASSWORD),))
    assert PasswordHasher().check_needs_rehash(stored_hash(store, "manager"))

    assert auth.authenticate(store, "manager", "wrong password") is None
    assert PasswordHasher().check_needs_rehash(stored_hash(store, "manager"))  # a wrong password changes nothing

    assert auth.authenticate(store, "manager", PASSWORD) == ("manager", "manager", "zh")
    rehashed = stored_hash(store, "manager")
    assert not PasswordHasher().check_needs_rehash(rehashed)
    assert PasswordHasher().verify(rehashed, PASSWORD)
    assert auth.authenticate(store, "manager", PASSWORD) is not None


def test_a_current_hash_is_left_alone(store):
    auth.add_user(store, "manager", "manager", PASSWORD)
    before = stored_hash(store, "manager")
    assert auth.authenticate(store, "manager", PASSWORD) is not None
    assert stored_hash(store, "manager") == before


def test_every_kind_of_token_resolves_to_its_holder_whatever_it_starts_with(store):
    auth.add_user(store, "manager", "manager", PASSWORD)
    _, secret = auth.create_enroll_secret(store)
    agent = auth.enroll(store, secret, "host-a")
    source = auth.create_source_token(store, "nut", ["ups"])
    session, csrf, _ = auth.create_session(store, "manager")
    assert auth.resolve_token(store, agent) == auth.Principal("agent", "host-a", site="default", host_id="host-a")
    assert auth.resolve_token(store, source) == auth.Principal("source", "nut", site="default",
                                                               subject_kinds=frozenset({"ups"}))
    assert auth.resolve_token(store, session) == auth.Principal("user", "manager", "manager", csrf=csrf, lang="zh")
    for lookalike in ("cwa_session", "cws_session"):  # a session token may start like another kind's, by chance
        store.add_session(auth.token_hash(lookalike), "manager", "api", "x", 0.0, 2.0**40)
        assert auth.resolve_token(store, lookalike) == auth.Principal("user", "manager", "manager", lang="zh")
    for unknown in ("cwa_nobody", "cws_nobody", "nobody", ""):
        assert auth.resolve_token(store, unknown) is None
