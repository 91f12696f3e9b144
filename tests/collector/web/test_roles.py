"""Every role has a start page it may open, and every view some role may open."""
from __future__ import annotations

import pytest

from collector.auth import ROLES
from collector.i18n import messages
from collector.web.roles import NAV, START_PAGES, VIEWS, may_see, nav_for


@pytest.mark.parametrize("role", ROLES)
def test_start_page_is_in_the_roles_navigation(role):
    assert START_PAGES[role] in {href for _, href, _ in nav_for(role)}


def test_only_admin_sees_admin_and_nobody_unknown_sees_anything():
    assert [r for r in ROLES if may_see(r, "admin")] == ["admin"]
    assert not may_see(None, "posture") and not may_see("intruder", "posture")


def test_every_view_is_reachable_and_named_in_both_languages():
    assert {v for v, _, _ in NAV} == set(VIEWS)
    for _, _, key in NAV:
        zh, en = messages()[key]
        assert zh and en and zh != en
