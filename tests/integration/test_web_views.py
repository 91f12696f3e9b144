"""Views over data a source attached: a camera's latest image is shown, stored files cannot run as pages."""
from __future__ import annotations

import signal
from datetime import UTC, datetime

import pytest

from tests.integration.conftest import PASSWORD, Collector, free_port
from tests.integration.test_web import web_login

pytestmark = pytest.mark.integration
# the smallest valid PNG: one transparent pixel
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


@pytest.fixture
def served(tmp_path):
    """Evidence is written before the service starts: the store has one writer, the running service."""
    from collector import auth
    from collector.store.sqlite import SqliteStore

    store = SqliteStore(tmp_path / "cw.db")
    auth.add_user(store, "facility", "facility", PASSWORD)
    c = Collector(store.path, free_port())
    yield store, c
    c.kill(signal.SIGTERM)


def test_camera_card_shows_the_attached_frame_and_files_are_served_safely(served):
    from rules.model import Observation

    store, collector = served
    frame = store.put_evidence(PNG, "cam-09.png", "image/png")
    script = store.put_evidence(b"<script>alert(1)</script>", "notes.html", "text/html")
    store.ingest([Observation(source="camera-worker", subject_kind="camera", subject_id="cam-09",
                              kind="camera.health", observed_at=datetime.now(UTC),
                              payload={"online": True, "fps": 12.5, "faults": []}, evidence=[frame, script])],
                 actor="test")
    store.close()
    collector.start()
    c = web_login(collector, "facility")
    page = c.get("/cameras").text
    assert f'src="/evidence-files/{frame.sha256}"' in page and "cam-09" in page
    img = c.get(f"/evidence-files/{frame.sha256}")
    assert img.content == PNG and img.headers["content-type"] == "image/png"
    assert img.headers["content-security-policy"] == "sandbox"
    html = c.get(f"/evidence-files/{script.sha256}")
    assert html.headers["content-type"] == "application/octet-stream"
    assert html.headers["content-disposition"].startswith("attachment")
    assert c.get("/evidence-files/" + "0" * 64).status_code == 404
