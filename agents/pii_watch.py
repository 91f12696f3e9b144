"""The agent's lingering-data scanner: full scans on a schedule, and a watch on changed files.

Full scans prove a purge (`full: true`); the watch reports new lingering data within seconds
(`full: false`). Both run at low CPU and I/O priority so the terminal stays usable.
"""
from __future__ import annotations

import contextlib
import os
import subprocess
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from agents.observation import AgentObservation
from agents.pii.manifest import Manifest
from agents.pii.mask import mask_text
from agents.pii.scan import ScanReport, excluded, scan_paths

if TYPE_CHECKING:
    from rules.model import Observation

Runner = Callable[[list[str]], object]
Ship = Callable[[AgentObservation], None]
MAX_LISTED = 50  # files with hits, and files that could not be read, named in one observation


def lower_priority(runner: Runner = lambda cmd: subprocess.run(cmd, capture_output=True, check=False),
                   pid: int | None = None) -> None:
    """Nice 19 and the idle I/O class (ionice -c 3) for this process; best effort."""
    pid = pid or os.getpid()
    with contextlib.suppress(OSError, AttributeError):  # not permitted, or not POSIX
        os.setpriority(os.PRIO_PROCESS, pid, 19)
    with contextlib.suppress(OSError):  # ionice not installed
        runner(["ionice", "-c", "3", "-p", str(pid)])


def scan_observation(report: ScanReport, host_id: str, roots: Sequence[Path], full: bool,
                     site: str = "default") -> Observation:
    """The `pii.scan` observation of a scan report, as the validated model (for a store or a check)."""
    return scan_record(report, host_id, roots, full, site).to_model()



def scan_record(report: ScanReport, host_id: str, roots: Sequence[Path], full: bool,
                site: str = "default") -> AgentObservation:
    """A `pii.scan` observation from a scan report (numbers stay masked: only counts, masked samples
    and file paths with any identifier in them masked, as a report would print them).

    Full scans have key "" (the latest one proves a purge); the watch's partial scans key "watch",
    so a partial scan never stands in for a full one.
    """
    finished = report.finished_at or report.started_at
    hits = [h.as_dict() | {"path": mask_text(h.path)} for h in report.files.values() if any(h.counts.values())]
    payload = {"started_at": report.started_at.isoformat(), "finished_at": finished.isoformat(), "full": full,
               "roots": [str(r) for r in roots], "files_scanned": report.files_scanned,
               "bytes_scanned": report.bytes_scanned, "totals": report.totals, "files_with_hits": len(hits),
               "batches": report.batches, "unreadable": len(report.errors),
               "errors": [{"path": e.path, "reason": e.reason} for e in report.errors[:MAX_LISTED]],
               "hits": sorted(hits, key=lambda h: h["path"])[:MAX_LISTED]}
    return AgentObservation(id=str(uuid.uuid4()), source=f"agent:{host_id}", site=site, subject_kind="host",
                            subject_id=host_id, kind="pii.scan", key="" if full else "watch", observed_at=finished,
                            payload=payload)


@dataclass
class PiiWatch:
    """Scan `roots` fully every `full_every_s`, and scan changed files as the watch reports them."""

    host_id: str
    roots: list[Path]
    ship: Ship
    manifest: Manifest | None = None
    exclude: Sequence[str] = ()
    full_every_s: float = 24 * 3600.0
    settle_s: float = 2.0  # wait for writes to finish before scanning a changed file
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    stop_event: threading.Event = field(default_factory=threading.Event)
    _changed: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def full_scan(self) -> AgentObservation:
        report = scan_paths(self.roots, self.manifest, exclude=self.exclude, clock=self.clock)
        obs = scan_record(report, self.host_id, self.roots, full=True)
        self.ship(obs)
        return obs

    def changed(self, path: str) -> None:
        if not excluded(path, self.exclude):
            with self._lock:
                self._changed.add(path)

    def scan_changed(self) -> AgentObservation | None:
        """Scan the files changed since the last call; ship a partial scan when any still exists."""
        with self._lock:
            paths, self._changed = sorted(self._changed), set()
        present = [Path(p) for p in paths if os.path.isfile(p)]
        if not present:
            return None
        report = scan_paths(present, self.manifest, exclude=self.exclude, clock=self.clock)
        obs = scan_record(report, self.host_id, present, full=False)
        self.ship(obs)
        return obs

    def watch(self):
        """Start the inotify (watchdog) observer; the caller stops it."""
        from watchdog.events import FileSystemEvent, FileSystemEventHandler
        from watchdog.observers import Observer

        watch = self

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event: FileSystemEvent) -> None:
                if not event.is_directory and event.event_type in ("created", "modified", "moved", "closed"):
                    target = getattr(event, "dest_path", "") or event.src_path
                    watch.changed(os.fsdecode(target))

        observer = Observer()
        for root in self.roots:
            observer.schedule(Handler(), str(root), recursive=True)
        observer.start()
        return observer

    def run(self) -> None:
        """Until stopped: a full scan now and every `full_every_s`; changed files every `settle_s`."""
        lower_priority()
        observer = self.watch()
        try:
            next_full = 0.0
            elapsed = 0.0
            while not self.stop_event.is_set():
                if elapsed >= next_full:
                    self.full_scan()
                    next_full = elapsed + self.full_every_s
                self.scan_changed()
                self.stop_event.wait(self.settle_s)
                elapsed += self.settle_s
        finally:
            observer.stop()
            observer.join(timeout=5)
