"""`store stats` for a person: sizes in KiB/MiB/GiB, a few aligned tables."""
from __future__ import annotations

from collector.store.stats import StoreStats


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # unreachable: the loop returns at GiB


def stats_text(s: StoreStats) -> str:
    lines = [f"store {s.db}: {human_bytes(s.total_bytes)} "
             f"(database {human_bytes(s.file_bytes)}, evidence files {human_bytes(s.evidence_bytes)})", "",
             "tables holding rows (rows, bytes with indexes):"]
    for t in sorted(s.tables, key=lambda t: -(t.bytes or 0)):
        if t.rows:
            lines.append(f"  {t.name:<22} {t.rows:>12,} {human_bytes(t.bytes) if t.bytes is not None else '?':>12}")
    lines += ["", "observations by kind (rows, bytes of values):"]
    lines += [f"  {k.kind:<22} {k.rows:>12,} {human_bytes(k.bytes):>12}" for k in s.kinds]
    lines += ["", "received per day (UTC; rows, bytes of values):"]
    lines += [f"  {d.day:<22} {d.rows:>12,} {human_bytes(d.bytes):>12}{'  compacted' if d.compacted else ''}"
              for d in s.days]
    lines += ["", f"growth: {human_bytes(s.growth_bytes_per_day)} per day",
              f"disk free: {human_bytes(s.disk_free_bytes)}" if s.disk_free_bytes is not None
              else "disk free: not known here (the database server's disk)",
              f"disk full: {s.disk_full_at} (in {s.days_until_full:.0f} days)" if s.disk_full_at is not None
              else "disk full: never at this rate (not growing)"]
    return "\n".join(lines)
