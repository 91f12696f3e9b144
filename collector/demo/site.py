"""The simulated site: its layout and the violations it suffers, deterministic per seed."""
from __future__ import annotations

import hashlib
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from rules.model import EvidenceRef, Observation

_NS = uuid.UUID("6f1c7a52-3b8e-4c39-9a51-2f0d7f4e9a10")


@dataclass
class SimSite:
    terminals: int = 20
    cameras: int = 6
    ups: int = 1
    sensors: int = 2
    site: str = "default"
    seed: int = 7
    start: datetime = field(default_factory=lambda: datetime.now(UTC) - timedelta(days=30))
    step: timedelta = timedelta(hours=1)  # time between snapshots; daily sources fire once a day
    attachments: dict[str, tuple[EvidenceRef, bytes]] = field(default_factory=dict)
    agent_seq: dict[str, int] = field(default_factory=dict)  # each simulated agent's next sequence number

    def daily(self, t: datetime, hour: int) -> bool:
        """True for the one snapshot of each day that first reaches `hour` o'clock (UTC)."""
        mark = t.replace(hour=hour, minute=0, second=0, microsecond=0)
        if mark > t:
            mark -= timedelta(days=1)
        return t - self.step < mark <= t or t == self.start

    @property
    def hosts(self) -> list[str]:
        return [f"T{i:03d}" for i in range(1, self.terminals + 1)]

    @property
    def camera_ids(self) -> list[str]:
        return [f"cam-{i:02d}" for i in range(1, self.cameras + 1)]

    @property
    def zone_ids(self) -> list[str]:
        floors = max(1, self.cameras - 2)
        return [f"floor-{i}" for i in range(1, floors + 1)] + ["machine-room", "storage"]

    @property
    def doors(self) -> list[str]:
        return ["main-door", "machine-room-door", "office-door"]

    def day(self, t: datetime) -> float:
        """Days since the simulation started."""
        return (t - self.start).total_seconds() / 86400

    def attach(self, name: str, content: bytes, media_type: str) -> EvidenceRef:
        """An evidence file the simulated source produced; the history writer stores it."""
        ref = EvidenceRef(sha256=hashlib.sha256(content).hexdigest(), name=name, media_type=media_type,
                          size=len(content))
        self.attachments[ref.sha256] = (ref, content)
        return ref

    def rng(self, *parts: object) -> random.Random:
        return random.Random(f"{self.seed}:" + ":".join(str(p) for p in parts))

    def obs(self, t: datetime, subject_kind: str, subject_id: str, kind: str, payload: dict, *,
            source: str, key: str = "", seq: int | None = None) -> Observation:
        oid = uuid.uuid5(_NS, f"{self.site}|{subject_kind}|{subject_id}|{kind}|{key}|{t.isoformat()}")
        # model_construct: the simulator's own output is valid by construction; validation would
        # dominate the time it takes to write months of history.
        return Observation.model_construct(id=str(oid), source=source, site=self.site, subject_kind=subject_kind,
                                           subject_id=subject_id, kind=kind, key=key, observed_at=t, seq=seq,
                                           payload=payload, received_at=None, evidence=[])
