"""Scan files and folders for lingering bank identifiers; the result of `clausewatch scan pii`."""
from __future__ import annotations

import fnmatch
import io
import os
import stat
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from agents.pii.detect import KINDS, Hits, find_hits
from agents.pii.extract import Chunk, Limits, Problem, from_file, stream_chunks
from agents.pii.manifest import Manifest
from agents.pii.mask import mask_number

MAX_SAMPLES = 5
BATCH_BYTES = 2 << 20  # the detector's arrays for this much text stay in the CPU's cache


@dataclass
class FileHits:
    path: str
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    batches: dict[str, int] = field(default_factory=dict)
    samples: list[str] = field(default_factory=list)

    def add_all(self, hits: Hits, manifest: Manifest | None) -> None:
        """Count a chunk's hits at once (a dispatch file has one every few dozen bytes); only samples
        and manifest lookups take the numbers out one by one."""
        for kind, n in hits.counts().items():
            self.counts[kind] += n
        for kind, number in hits.numbers():
            if len(self.samples) >= MAX_SAMPLES:
                break
            masked = mask_number(kind, number)
            if masked not in self.samples:
                self.samples.append(masked)
        if manifest is not None:
            for batch, n in manifest.count_batches(number for _, number in hits.numbers()).items():
                self.batches[batch] = self.batches.get(batch, 0) + n

    def as_dict(self) -> dict:
        return {"path": self.path, "counts": dict(self.counts), "batches": sorted(self.batches),
                "samples": list(self.samples)}


@dataclass
class ScanReport:
    started_at: datetime
    finished_at: datetime | None = None
    files_scanned: int = 0
    bytes_scanned: int = 0
    files: dict[str, FileHits] = field(default_factory=dict)
    errors: list[Problem] = field(default_factory=list)

    @property
    def totals(self) -> dict[str, int]:
        out: dict[str, int] = dict.fromkeys(KINDS, 0)
        for hits in self.files.values():
            for k, n in hits.counts.items():
                out[k] += n
        return out

    @property
    def batches(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for hits in self.files.values():
            for b, n in hits.batches.items():
                out[b] = out.get(b, 0) + n
        return out

    @property
    def found(self) -> bool:
        return any(self.totals.values())

    def as_dict(self) -> dict:
        """The JSON of `scan pii --json`: files with hits, and unreadable ones with their `error`
        (also listed under `errors`); clean files are only counted."""
        files = [h.as_dict() for h in self.files.values() if any(h.counts.values())]
        files += [{**FileHits(p.path).as_dict(), "error": p.reason} for p in self.errors]
        files.sort(key=lambda f: f["path"])
        return {"files_scanned": self.files_scanned, "bytes_scanned": self.bytes_scanned, "files": files,
                "totals": self.totals, "batches": self.batches,
                "errors": [{"path": p.path, "reason": p.reason} for p in self.errors]}


def excluded(path: str, exclude: Sequence[str]) -> bool:
    return any(fnmatch.fnmatch(path, pat) or fnmatch.fnmatch(os.path.basename(path), pat) for pat in exclude)


def walk_problems(errors: list[OSError]) -> Iterator[Problem]:
    """The folders os.walk could not list, as problems (and forget them)."""
    out = [Problem(str(e.filename), e.strerror or str(e)) for e in errors]
    errors.clear()
    return iter(out)


def iter_files(paths: Iterable[Path], exclude: Sequence[str] = ()) -> Iterator[tuple[str, int] | Problem]:
    """Regular files below `paths` as (path, size); symlinked folders are not followed, devices skipped."""
    for root in paths:
        root_s = str(root)
        try:
            st = os.stat(root_s)
        except OSError as e:
            yield Problem(root_s, e.strerror or str(e))
            continue
        if stat.S_ISREG(st.st_mode):
            if not excluded(root_s, exclude):
                yield root_s, st.st_size
            continue
        if not stat.S_ISDIR(st.st_mode):
            continue
        problems: list[OSError] = []
        for dirpath, dirnames, filenames in os.walk(root_s, onerror=problems.append):
            dirnames[:] = sorted(d for d in dirnames if not excluded(os.path.join(dirpath, d), exclude))
            yield from walk_problems(problems)
            for name in sorted(filenames):
                full = os.path.join(dirpath, name)
                try:
                    st = os.lstat(full)
                except OSError as e:
                    yield Problem(full, e.strerror or str(e))
                    continue
                if stat.S_ISREG(st.st_mode) and not excluded(full, exclude):
                    yield full, st.st_size
        yield from walk_problems(problems)


class ChunkBatch:
    """Small chunks (most files are small) scanned together: one pass of the detector over a
    couple of megabytes instead of one per file, each chunk's hits then counted for its file. Chunks are
    joined by a line end, which no identifier crosses."""

    def __init__(self, report: ScanReport, manifest: Manifest | None, today: date, batch_bytes: int = BATCH_BYTES):
        self.report, self.manifest, self.today, self.batch_bytes = report, manifest, today, batch_bytes
        self.chunks: list[Chunk] = []
        self.size = 0

    def add(self, chunk: Chunk) -> None:
        if len(chunk.data) >= self.batch_bytes:  # a large document or archive member: in pieces, cut at line ends
            for piece in stream_chunks(io.BytesIO(chunk.data), self.batch_bytes):
                self._count([Chunk(chunk.path, piece)], find_hits(piece, self.today))
            return
        self.chunks.append(chunk)
        self.size += len(chunk.data) + 1
        if self.size >= self.batch_bytes:
            self.flush()

    def flush(self) -> None:
        if self.chunks:
            self._count(self.chunks, find_hits(b"\n".join(c.data for c in self.chunks), self.today))
        self.chunks, self.size = [], 0

    def _count(self, chunks: list[Chunk], hits: Hits) -> None:
        offset = 0
        for chunk in chunks:
            mine = hits.select(offset, offset + len(chunk.data))
            offset += len(chunk.data) + 1
            if len(mine):
                self.report.files.setdefault(chunk.path, FileHits(chunk.path)).add_all(mine, self.manifest)


def scan_file(path: str, report: ScanReport, batch: ChunkBatch, limits: Limits) -> None:
    try:
        with open(path, "rb") as f:
            for item in from_file(path, f, limits):
                if isinstance(item, Problem):
                    report.errors.append(item)
                    continue
                batch.add(item)
    except OSError as e:
        report.errors.append(Problem(path, e.strerror or str(e)))


def scan_paths(paths: Iterable[Path], manifest: Manifest | None = None, *, limits: Limits | None = None,
               exclude: Sequence[str] = (), clock: Callable[[], datetime] = lambda: datetime.now(UTC),
               on_file: Callable[[str, int], None] | None = None) -> ScanReport:
    """Scan every regular file below `paths`; never raises for a file it cannot read."""
    limits = limits or Limits()
    report = ScanReport(started_at=clock())
    batch = ChunkBatch(report, manifest, report.started_at.date())
    for item in iter_files(paths, exclude):
        if isinstance(item, Problem):
            report.errors.append(item)
            continue
        path, size = item
        scan_file(path, report, batch, limits)
        report.files_scanned += 1
        report.bytes_scanned += size
        if on_file is not None:
            on_file(path, size)
    batch.flush()
    report.finished_at = clock()
    return report
