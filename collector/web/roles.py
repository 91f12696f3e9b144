"""Which role sees which view, where each role lands, and the navigation it is shown.

The server enforces this table on every page (collector.web.pagekit.page_for); the navigation
only hides links a role may not follow.
"""
from __future__ import annotations

from collector.auth import ROLES

EVERYONE = frozenset(ROLES)

# view -> roles that may open it
VIEWS: dict[str, frozenset[str]] = {
    "posture": EVERYONE,
    "terminals": frozenset({"admin", "security", "auditor"}),
    "cameras": frozenset({"admin", "security", "facility", "auditor"}),
    "facility": frozenset({"admin", "security", "facility", "auditor"}),
    "lifecycle": frozenset({"admin", "security", "auditor", "manager"}),
    "alerts": frozenset({"admin", "security", "facility", "auditor"}),
    "evidence": EVERYONE,
    "attestations": frozenset({"admin", "security", "auditor", "manager"}),
    "waivers": frozenset({"admin", "security", "auditor", "manager"}),
    "reports": frozenset({"admin", "security", "auditor", "manager"}),
    "admin": frozenset({"admin"}),
}

# (view, path, message key) in the order the navigation shows them
NAV: tuple[tuple[str, str, str], ...] = (
    ("posture", "/", "posture"),
    ("terminals", "/terminals", "terminals"),
    ("cameras", "/cameras", "cameras"),
    ("facility", "/machine-room", "machine_room"),
    ("lifecycle", "/lifecycle", "lifecycle"),
    ("alerts", "/alerts", "alerts"),
    ("evidence", "/evidence", "evidence_attestation"),
    ("attestations", "/attestations", "attestations"),
    ("waivers", "/waivers", "waivers"),
    ("reports", "/reports", "reports"),
    ("admin", "/admin", "admin"),
)

START_PAGES: dict[str, str] = {
    "admin": "/admin",
    "security": "/",
    "auditor": "/evidence",
    "facility": "/machine-room",
    "manager": "/evidence",
}

# A subject's own page belongs to the view that shows its kind.
SUBJECT_VIEW: dict[str, str] = {
    "host": "terminals", "camera": "cameras", "zone": "cameras", "ups": "facility", "sensor": "facility",
    "door": "facility", "batch": "lifecycle", "call_system": "lifecycle", "collection_system": "lifecycle",
    "site": "evidence",
}


def may_see(role: str | None, view: str) -> bool:
    return role is not None and role in VIEWS.get(view, frozenset())


def nav_for(role: str | None) -> list[tuple[str, str, str]]:
    return [item for item in NAV if may_see(role, item[0])]
