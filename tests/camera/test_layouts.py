"""Segment names -> camera, start, end, for named layouts and patterns."""
from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from camera.layouts import LayoutError, parse_layout

SH = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(("layout", "path", "camera", "start", "end"), [
    pytest.param("frigate", "2026-11-29/02/front/05.30.mp4", "front", datetime(2026, 11, 29, 2, 5, 30, tzinfo=UTC),
                 None, id="frigate-utc"),
    pytest.param("zoneminder-deep", "3/26/11/29/10/00/07/1234-video.mp4", "3",
                 datetime(2026, 11, 29, 10, 0, 7, tzinfo=SH), None, id="zoneminder-deep-local"),
    pytest.param("{camera}/{start:%Y%m%d}/{start:%H%M%S}-{end:%H%M%S}.mp4", "cam1/20261129/233000-001000.mp4",
                 "cam1", datetime(2026, 11, 29, 23, 30, tzinfo=SH), datetime(2026, 11, 30, 0, 10, tzinfo=SH),
                 id="end-before-start-is-next-day"),
    pytest.param("utc:{camera}-{start:%s}.mkv", "door-1790000000.mkv", "door",
                 datetime.fromtimestamp(1790000000, UTC), None, id="epoch-utc"),
])
def test_layout_parses_segment_names(layout: str, path: str, camera: str, start: datetime,
                                     end: datetime | None) -> None:
    parsed = parse_layout(layout, SH).parse(path)
    assert parsed is not None
    assert parsed[0] == camera and parsed[1] == start and parsed[2] == end


def test_files_that_are_not_segments_are_skipped() -> None:
    lay = parse_layout("frigate", SH)
    assert lay.parse("2026-11-29/02/front/snapshot.jpg") is None
    assert lay.parse("2026-13-45/02/front/05.30.mp4") is None  # no such date


@pytest.mark.parametrize("spec", [pytest.param("nvr9000", id="unknown-name"),
                                  pytest.param("{camera}/{start:%Q}.mp4", id="bad-directive"),
                                  pytest.param("{camera}/{x}.mp4", id="no-time")])
def test_bad_layouts_are_refused(spec: str) -> None:
    with pytest.raises(LayoutError):
        parse_layout(spec, SH)
