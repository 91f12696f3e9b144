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
