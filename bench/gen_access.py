"""Synthetic access-controller exports of any size, in the default format, for benchmarks.

    python bench/gen_access.py DIR --events 1000000
writes DIR/events.csv, DIR/approvals.csv and DIR/badges.csv (deterministic for a seed).
"""
from __future__ import annotations

import argparse
import random
from datetime import datetime, timedelta
from pathlib import Path

DOORS = ["main-door"] * 8 + ["office-door"] * 8 + ["storage-door"] * 3 + ["machine-room-door"]
RESULTS = ["granted"] * 90 + ["denied"] * 6 + ["held_open"] * 3 + ["forced"]


def generate(out: Path, events: int, *, badges: int = 500, seed: int = 7) -> dict[str, Path]:
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    start = datetime(2026, 1, 1, 7, 0)
    roles = ["admin"] * 5 + ["staff"] * 85 + ["visitor"] * 8 + ["revoked"] * 2
    people = [(f"B{i:05d}", f"person-{i}", rng.choice(roles)) for i in range(badges)]
    with open(out / "badges.csv", "w", encoding="utf-8") as f:
        f.write("badge,person,role,valid_from,valid_to\n")
        for badge, person, role in people:
            f.write(f"{badge},{person},{role},2025-01-01,2027-12-31\n")
    with open(out / "approvals.csv", "w", encoding="utf-8") as f:
        f.write("approval_id,person,door,start,end,approved_by\n")
        for i in range(events // 200):
            _, person, _ = rng.choice(people)
            day = start + timedelta(days=rng.randrange(365))
            f.write(f"AP{i},{person},machine-room-door,{day:%Y-%m-%d},{day:%Y-%m-%d},boss\n")
    # the site works 07:30-21:30: nineteen events in twenty fall within it
    per_day = max(events // 365, 1)
    day_s, work_start_s, work_s = 86400, 7.5 * 3600, 14 * 3600
    with open(out / "events.csv", "w", encoding="utf-8", newline="") as f:
        f.write("time,door,badge,person,direction,result,duration_s\n")
        lines = []
        for i in range(events):
            day, k = divmod(i, per_day)
            offset = work_start_s + work_s * k / per_day if k % 20 else rng.uniform(0, day_s)
            t = start.replace(hour=0) + timedelta(days=day, seconds=offset)
            badge, person, _ = people[rng.randrange(badges)]
            result = rng.choice(RESULTS)
            door = rng.choice(DOORS)
            if result in ("held_open", "forced"):
                dur = str(rng.randrange(10, 120)) if result == "held_open" else ""
                lines.append(f"{t:%Y-%m-%dT%H:%M:%S}+08:00,{door},,,,{result},{dur}\n")
            else:
                direction = "in" if rng.random() < 0.55 else "out"
                lines.append(f"{t:%Y-%m-%dT%H:%M:%S}+08:00,{door},{badge},{person},{direction},{result},\n")
            if len(lines) >= 10000:
                f.writelines(lines)
                lines.clear()
        f.writelines(lines)
    return {"events": out / "events.csv", "approvals": out / "approvals.csv", "badges": out / "badges.csv"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("out", type=Path)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    print(generate(args.out, args.events, seed=args.seed))


if __name__ == "__main__":
    main()
