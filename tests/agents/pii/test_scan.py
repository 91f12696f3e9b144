"""Scanning many files: small files are scanned together, each file's hits stay its own."""
from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from agents.pii.extract import Chunk
from agents.pii.scan import ChunkBatch, ScanReport, scan_paths

PHONE, ID_CARD = "13800138000", "11010519491231002X"


def test_hits_are_counted_for_the_file_they_are_in(tmp_path: Path) -> None:
    for i in range(60):
        (tmp_path / f"f{i:02d}.csv").write_text(f"row {i}\n" + f"{PHONE},{ID_CARD}\n" * (i % 4))
    report = scan_paths([tmp_path])
    counts = {Path(p).name: h.counts for p, h in report.files.items()}
    assert counts == {f"f{i:02d}.csv": {"id_card": i % 4, "phone": i % 4, "bank_card": 0}
                      for i in range(60) if i % 4}
    assert report.totals == {"id_card": 90, "phone": 90, "bank_card": 0}


@pytest.mark.parametrize("batch_bytes", [pytest.param(8, id="every-chunk-alone"), pytest.param(40, id="a-few"),
                                         pytest.param(1 << 20, id="all-together")])
def test_numbers_never_run_across_two_chunks(batch_bytes: int) -> None:
    report = ScanReport(started_at=datetime.now(UTC))
    batch = ChunkBatch(report, None, date(2026, 11, 29), batch_bytes=batch_bytes)
    for path, data in [("a", b"1380013"), ("b", b"8000,tail 6222"), ("c", b"021234567890128"),
                       ("d", f"{PHONE}".encode()), ("e", f"x {ID_CARD}".encode())]:
        batch.add(Chunk(path, data))
    batch.flush()
    assert {p: h.samples for p, h in report.files.items()} == {"d": ["138****8000"], "e": ["1101**********002X"]}


def test_a_large_chunk_is_scanned_in_pieces_cut_at_line_ends() -> None:
    report = ScanReport(started_at=datetime.now(UTC))
    batch = ChunkBatch(report, None, date(2026, 11, 29), batch_bytes=100)
    text = "".join(f"{i},{PHONE},{ID_CARD}\n" for i in range(500)).encode()  # an archive member, say
    batch.add(Chunk("big.csv", text))
    batch.flush()
    assert report.files["big.csv"].counts == {"id_card": 500, "phone": 500, "bank_card": 0}
