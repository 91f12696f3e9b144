"""PII scan throughput on CSV text (MB/s per core, ratio to `rg -c`) and precision on near misses.

Two corpora: an office CSV where identifiers are rare (the usual lingering-data case) and a
bank dispatch file where every row holds three identifiers and near misses (the worst case).
"""
from __future__ import annotations

import os
import random
import resource
import subprocess
import sys
import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agents.pii import synth  # noqa: E402
from agents.pii.detect import find  # noqa: E402
from agents.pii.manifest import Manifest, batch_document  # noqa: E402
from agents.pii.scan import scan_paths  # noqa: E402
from bench.benchdoc import table, write_section  # noqa: E402

RG_PATTERN = r"(^|[^0-9])(\+?[0-9]{11,19}[Xx]?|1[3-9][0-9][ -][0-9]{4}[ -][0-9]{4})([^0-9]|$)"
TARGET_MB = 50
T = TypeVar("T")
NEAR_MISS_ROWS = 20_000
REPEAT = 7


def office_row(rng: random.Random, i: int) -> str:
    return (f"{i},2026-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d} {rng.randrange(24):02d}:"
            f"{rng.randrange(60):02d},坐席{rng.randrange(200):03d},{rng.randrange(10 ** 6)}.{rng.randrange(100):02d},"
            f"已联系，客户承诺还款,REF-{rng.randrange(10 ** 6):06d},{rng.choice(['可联', '挂断', '空号'])}\n")


def dispatch_row(rng: random.Random, i: int) -> str:
    return f"{i},客户{i},{synth.resident_id(rng)},{synth.phone(rng)},{synth.bank_card(rng)},{rng.randrange(10 ** 6)}\n"


def dated_dispatch_row(rng: random.Random, i: int) -> str:
    """A dispatch row as banks export it: dates and times beside the identifiers (hyphens, spaces)."""
    return (f"{i},客户{i},{synth.resident_id(rng)},{synth.phone(rng)},{synth.bank_card(rng)},{rng.randrange(10 ** 6)},"
            f"2026-10-{rng.randrange(1, 29):02d},2026-11-20 {rng.randrange(24):02d}:{rng.randrange(60):02d}\n")


def write_corpus(path: Path, row, rng: random.Random, pii_every: int) -> tuple[int, list[str]]:
    """Write about TARGET_MB of rows; every `pii_every` rows one identifier and near misses."""
    planted, lines, size, i = [], [], 0, 0
    with open(path, "w", encoding="utf-8") as f:
        while size < TARGET_MB * 1_000_000:
            line = row(rng, i)
            if pii_every and i % pii_every == 0:
                v = synth.resident_id(rng)
                planted.append(v)
                line = line.rstrip("\n") + f",{v}," + ",".join(synth.near_misses(rng)) + "\n"
            lines.append(line)
            if len(lines) == 10_000:
                chunk = "".join(lines)
                f.write(chunk)
                size += len(chunk.encode())
                lines = []
            i += 1
    return size, planted


def timed(fn: Callable[[], T]) -> tuple[float, T]:
    """Least CPU seconds of this process and its children over REPEAT runs: the machine is shared,
    wall time is not ours, and other work on the same cores still slows ours."""
    best = float("inf")
    for _ in range(REPEAT):
        before = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        out = fn()
        after = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        best = min(best, sum(a.ru_utime + a.ru_stime - b.ru_utime - b.ru_stime
                             for a, b in zip(after, before, strict=True)))
    return best, out


def manifest_of(numbers: list[str]) -> Manifest:
    """A batch manifest as `batch register` writes it: every lookup hashes, whether it matches or not."""
    salt = os.urandom(16)
    out = Manifest()
    out.add("B-BENCH", salt, batch_document("B-BENCH", salt, [n.encode() for n in numbers])["hashes"])
    return out


def throughput(name: str, row, every: int, rng: random.Random, tmp: str) -> list[object]:
    path = Path(tmp) / "corpus.csv"
    size, planted = write_corpus(path, row, rng, every)
    path.read_bytes()  # warm the page cache for both tools
    rg_s, _ = timed(lambda: subprocess.run(["rg", "-c", RG_PATTERN, str(path)], capture_output=True))
    cw_s, _ = timed(lambda: scan_paths([path]))
    manifest = manifest_of(planted)
    with_manifest_s, report = timed(lambda: scan_paths([path], manifest))
    hits = sum(report.totals.values())
    return [name, f"{size / 1e6:.0f}", f"{hits * 1_000_000 // size:,}", f"{size / cw_s / 1e6:.0f}",
            f"{size / with_manifest_s / 1e6:.0f}", f"{size / rg_s / 1e6:.0f}", f"{cw_s / rg_s:.1f}",
            f"{with_manifest_s / rg_s:.1f}"]


def precision_recall() -> tuple[int, float, float]:
    """Every reported identifier must be one that was planted (near misses never), and all are found."""
    rng = random.Random(7)
    planted_ids, text = set(), []
    for _ in range(NEAR_MISS_ROWS):
        trio = [synth.resident_id(rng), synth.phone(rng), synth.bank_card(rng)]
        planted_ids |= set(trio)
        text.append(",".join(trio + synth.near_misses(rng)))
    found = [n.decode() for _, n in find("\n".join(text).encode(), date.today())]
    true_pos = sum(1 for n in found if n in planted_ids)
    precision = true_pos / len(found) if found else 1.0
    return len(planted_ids), precision, len(set(found) & planted_ids) / len(planted_ids)


def main() -> None:
    rng = random.Random(2026)
    with tempfile.TemporaryDirectory() as tmp:
        rows = [throughput(name, row, every, rng, tmp)
                for name, row, every in (("office CSV", office_row, 500), ("dispatch CSV", dispatch_row, 50),
                                         ("dispatch CSV with dates", dated_dispatch_row, 50))]
        load = os.getloadavg()[0]
    planted, precision, recall = precision_recall()
    body = "\n".join([
        table(["corpus", "MB", "identifiers per MB", "clausewatch MB/s", "with --manifest MB/s", "rg -c MB/s",
               "time ratio (clausewatch / rg)", "with --manifest / rg"], rows), "",
        f"Precision on {planted} planted identifiers with {NEAR_MISS_ROWS * 10} near misses "
        f"(wrong check digits, longer digit runs, impossible dates): precision {precision:.4f}, recall {recall:.4f}.",
        "",
        f"CPU time of one core (this process and its children, best of {REPEAT} runs), page cache warm; load "
        f"average {load:.1f} on the machine's {os.cpu_count()} cores when the runs ended (other work on the same "
        "cores slows ours too: on this shared machine one run's figures differ from another's by up to a "
        "third). The corpora are written by this script; the near misses are IDs with a wrong "
        "check character or birth date (also from province 62, whose prefix is UnionPay's), numbers with a "
        "digit stuck before or after, and cut-off numbers. `rg -c` runs the candidate pattern only (no validation). "
        "clausewatch finds every run of 11 or more digits with numpy over the buffer's digit mask and "
        "validates all runs of one length at once (check character, birth date, Luhn, scheme and mobile "
        "prefixes), so an identifier-dense dispatch file costs array operations, not Python per candidate. "
        "Goal: at least 100 MB/s per core on CSV text. With `--manifest` every identifier found is hashed "
        "(salted SHA-256, once per distinct number and salt) and looked up: on a dispatch file that "
        "hashing bounds the rate."])
    print(body)
    write_section("lifecycle: PII scan", body)
    if precision < 1.0 or recall < 1.0:
        sys.exit(1)


if __name__ == "__main__":
    main()
