"""Call recordings on disk: which call each file belongs to, how long it plays, what it hashes to.

Default layout: any file below a root whose stem is the call id (.wav .mp3 .amr .m4a .ogg).
Other layouts: a regular expression with a named group `call_id`, matched against the file name.
"""
from __future__ import annotations

import hashlib
import os
import re
import subprocess
import wave
from collections.abc import Callable, Iterable, Iterator

from collector.audits.calls import Recording
from collector.sources.importers.amr import amr_duration_s

AUDIO_EXTENSIONS = (".wav", ".mp3", ".amr", ".m4a", ".ogg")
Runner = Callable[[list[str]], "subprocess.CompletedProcess[str]"]





def walk(root: str) -> Iterator[tuple[str, int, float]]:
    """(path, size, mtime) of every regular file below root, symlinked folders not followed."""
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for e in entries:
            try:
                if e.is_dir(follow_symlinks=False):
                    stack.append(e.path)
                elif e.is_file():
                    st = e.stat()
                    yield e.path, st.st_size, st.st_mtime
            except OSError:
                continue


def inventory(files: Iterable[tuple[str, int, float]], pattern: re.Pattern[str] | None = None,
              extensions: tuple[str, ...] = AUDIO_EXTENSIONS) -> dict[str, Recording]:
    """call id -> recording; with several files for one call the first in path order is kept."""
    out: dict[str, Recording] = {}
    wanted = set(extensions)
    for path, size, mtime in files:
        name = path[path.rfind("/") + 1:]
        dot = name.rfind(".")
        if dot <= 0:
            continue
        ext = name[dot:]
        if ext not in wanted and ext.lower() not in wanted:
            continue
        if pattern is None:
            call_id = name[:dot]
        else:
            m = pattern.match(name)
            if m is None:
                continue
            call_id = m.group("call_id")
        prev = out.get(call_id)
        if prev is None or path < prev.path:
            out[call_id] = Recording(path, size, mtime)
    return out


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def _ffprobe(path: str, runner: Runner) -> float | None:
    try:
        out = runner(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", path])
        return float(out.stdout.strip())
    except (OSError, ValueError, subprocess.SubprocessError):
        return None


def _run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=False)


def audio_duration_s(path: str, runner: Runner = _run) -> float | None:
    """Playing time from the container: PCM WAV by the standard library, AMR by counting its frames,
    others by mutagen, else ffprobe."""
    lower = path.lower()
    if lower.endswith(".amr"):
        seconds = amr_duration_s(path)
        if seconds is not None:
            return seconds
    elif lower.endswith(".wav"):
        try:
            with wave.open(path, "rb") as w:
                return w.getnframes() / float(w.getframerate())
        except (wave.Error, EOFError, OSError, ZeroDivisionError):
            pass  # compressed WAV (GSM, A-law...) or damaged: let ffprobe decide
    else:
        try:
            import mutagen

            f = mutagen.File(path)
            if f is not None and f.info is not None and f.info.length:
                return float(f.info.length)
        except Exception:  # mutagen raises its own error types per format
            pass
    return _ffprobe(path, runner)
