"""Pages that never contradict themselves, in a real browser against the demo site (three simulated days)."""
from __future__ import annotations

import pytest

from tests.integration.test_web_browser import browser, signed_in, site  # noqa: F401  (module fixtures)

pytestmark = pytest.mark.integration

# every red or amber badge with no reason beside it
UNEXPLAINED = """[...document.querySelectorAll('main .badge.fail, main .badge.unknown')]
  .filter(b => !(b.nextElementSibling && b.nextElementSibling.classList.contains('reason')
                 && b.nextElementSibling.innerText.trim()))
  .map(b => b.closest('li, tr, div')?.innerText.slice(0, 80))"""


def test_cameras_judge_footage_depth_and_recording_now_apart_and_say_why(browser, site):  # noqa: F811
    with signed_in(browser, site, "security") as page:
        page.goto("/cameras")
        cards = page.locator("ul.cams li.card")
        assert cards.count() == 6
        recording = page.locator("ul.cams .recording .badge").all_inner_texts()
        assert recording == ["pass"] * 6  # the demo's recorder is healthy
        retention = dict(zip(page.locator("ul.cams .card-body > a b").all_inner_texts(),
                             page.locator("ul.cams .retention").all_inner_texts(), strict=True))
        failing = {cam for cam, text in retention.items() if "fail" in text}
        assert failing == {"cam-03"}  # the one recorder meant to delete its oldest footage at 41 days
        assert "41" in retention["cam-03"] and "need 92" in retention["cam-03"]
        assert page.evaluate(UNEXPLAINED) == []
        page.goto("/machine-room")
        assert page.evaluate(UNEXPLAINED) == []
