"""`clausewatch audit accounts`: the collection system's user list and login/operation logs."""
from __future__ import annotations


def audit_accounts_cmd() -> None:
    """Shared and generic accounts, departed users, after-hours logins, bulk exports, log gaps."""
    raise NotImplementedError
