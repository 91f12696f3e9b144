"""Evidence for manual controls: upload (content-addressed, SHA-256 in the ledger), listing,
validity dates capped by the control's cadence, and what is about to expire (reminders: collector.people.reminders).

An upload becomes a `manual.evidence` observation keyed by the control id, so the
`manual_evidence` check judges it like any other fact: pass while valid, fail after.
"""
from __future__ import annotations

import mimetypes
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from collector.inputs import InputProblem
from collector.store.base import Store
from rules.model import Control, Observation, parse_duration

MAX_EVIDENCE_BYTES = 50 * 1024 * 1024
_NAME_RE = re.compile(r"[^\w.\- ()\u4e00-\u9fff]+")


class EvidenceError(InputProblem):
    """Bad upload: the message names the field; `zh` says it in Chinese for the form."""

    def __init__(self, message: str, zh: str = ""):
        super().__init__(message)
        self.zh = zh or message


@dataclass(frozen=True)
class Upload:
    control: str
    data: bytes
    filename: str
    valid_until: datetime
    note: str = ""
    media_type: str | None = None
    dated: date | None = None  # the evidence's own date (inspection, signing, training day); default: upload day


def parse_dated(text: str | None) -> date | None:
    """The evidence's own date, e.g. the day of the inspection it records (empty: none given)."""
    if not text or not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip()[:10])
    except ValueError:
        raise EvidenceError(f"dated: {text!r} is not a date (2026-11-03)",
                            f"证据日期：{text!r} 不是日期（例如 2026-11-03）") from None


def cadence_cap(control: Control, base_day: date, tz: ZoneInfo | Any) -> datetime | None:
    """The latest validity a control's cadence allows for evidence of `base_day`: the end of
    that day plus the cadence (a monthly inspection on 11-03 with `31d` -> 12-04 23:59:59)."""
    if not control.cadence:
        return None
    return datetime.combine(base_day, time(23, 59, 59), tz) + parse_duration(control.cadence)


def cap_notice(payload: dict[str, Any]) -> dict[str, str] | None:
    """What to tell the uploader when the validity asked for was cut to the cadence (zh and en)."""
    asked = payload.get("valid_until_requested")
    if not asked:
        return None
    got, cadence = payload["valid_until"][:10], payload.get("cadence", "")
    since = payload.get("dated") or payload.get("uploaded_at", "")[:10]
    return {"zh": f"有效期已按控制项周期 {cadence} 从 {asked[:10]} 缩短至 {got}（自 {since} 起算）",
            "en": f"validity capped to {got} by the control's cadence {cadence} (counted from {since});"
                  f" {asked[:10]} was asked"}


def parse_valid_until(text: str, tz: ZoneInfo) -> datetime:
    """A date means valid through the end of that day at the site; a time is taken as given
    (site local time when it carries no offset)."""
    text = text.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime.combine(day, time(23, 59, 59), tz)
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise EvidenceError(f"valid_until: {text!r} is not a date (2026-12-31) or ISO 8601 time",
                            f"有效期至：{text!r} 不是日期（例如 2026-12-31）") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=tz)


def clean_filename(name: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    base = _NAME_RE.sub("_", base)[:200]
    return base or "evidence"


def manual_control(controls: Sequence[Control], control_id: str) -> Control:
    for c in controls:
        if c.id == control_id:
            if not c.manual:
                raise EvidenceError(f"control: {control_id} is measured automatically; evidence is for manual controls",
                                    f"控制项：{control_id} 为自动测量，证据只用于人工控制项")
            return c
    raise EvidenceError(f"control: no control named {control_id!r}", f"控制项：没有名为 {control_id!r} 的控制项")


def _validity(control: Control, upload: Upload, now: datetime, tz: ZoneInfo | Any) -> tuple[datetime, datetime | None]:
    """(validity kept, validity asked when the cadence cut it). Evidence cannot outlive its cadence:
    counted from its own date when given, else from the upload day (site time)."""
    today = now.astimezone(tz).date()
    if upload.dated is not None and upload.dated > today:
        raise EvidenceError(f"dated: {upload.dated.isoformat()} is after the upload day {today.isoformat()}",
                            f"证据日期：{upload.dated.isoformat()} 晚于上传日 {today.isoformat()}")
    cap = cadence_cap(control, upload.dated or today, tz)
    if cap is None or upload.valid_until <= cap:
        return upload.valid_until, None
    if cap <= now:
        raise EvidenceError(f"dated: evidence of {upload.dated} expired on {cap:%Y-%m-%d} by the control's"
                            f" cadence {control.cadence}",
                            f"证据日期：{upload.dated} 的证据按控制项周期 {control.cadence} 已于 {cap:%Y-%m-%d} 过期")
    return cap, upload.valid_until


def add_evidence(store: Store, controls: Sequence[Control], upload: Upload, *, actor: str,
                 site: str = "default", now: datetime | None = None, tz: ZoneInfo | None = None) -> Observation:
    """Store the file by its SHA-256, record the upload in the ledger and return the
    `manual.evidence` observation (already ingested; the caller hands it to the engine).
    A validity beyond the control's cadence is capped (`valid_until_requested` keeps the ask)."""
    now = now or datetime.now(UTC)
    control = manual_control(controls, upload.control)
    if not upload.data:
        raise EvidenceError("file: empty", "文件：为空")
    if len(upload.data) > MAX_EVIDENCE_BYTES:
        raise EvidenceError(f"file: larger than {MAX_EVIDENCE_BYTES // (1024 * 1024)} MB",
                            f"文件：大于 {MAX_EVIDENCE_BYTES // (1024 * 1024)} MB")
    if upload.valid_until.tzinfo is None:
        raise EvidenceError("valid_until: needs a UTC offset", "有效期至：缺少时区")
    if upload.valid_until <= now:
        raise EvidenceError(f"valid_until: {upload.valid_until.isoformat()} is already past",
                            f"有效期至：{upload.valid_until:%Y-%m-%d} 已经过去")
    valid_until, asked = _validity(control, upload, now, tz or upload.valid_until.tzinfo)
    name = clean_filename(upload.filename)
    media = upload.media_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
    ref = store.put_evidence(upload.data, name, media)
    user = actor.split(":", 1)[-1]
    obs = Observation(
        id=str(uuid.uuid4()), source=actor, site=site, subject_kind="site", subject_id=site,
        kind="manual.evidence", key=upload.control, observed_at=now,
        payload={"control": upload.control, "valid_until": valid_until.isoformat(), "filename": name,
                 "sha256": ref.sha256, "size": ref.size, "media_type": media, "uploaded_by": user,
                 "note": upload.note[:2000], "cadence": control.cadence,
                 **({"dated": upload.dated.isoformat()} if upload.dated else {}),
                 **({"valid_until_requested": asked.isoformat()} if asked else {})},
        evidence=[ref])
    store.ingest([obs], actor=actor, received_at=now)
    store.ledger_append("evidence.uploaded", actor, {
        "control": upload.control, "sha256": ref.sha256, "name": name, "size": ref.size,
        "valid_until": valid_until.isoformat(), "valid_until_requested": asked.isoformat() if asked else None,
        "observation": obs.id, "site": site}, ts=now)
    return obs


def list_evidence(store: Store, *, control: str | None = None, since: datetime | None = None,
                  until: datetime | None = None, limit: int = 10_000, site: str | None = None) -> list[dict[str, Any]]:
    """Every evidence upload (of one site when given), newest first: who uploaded what, when, valid until when."""
    # manual evidence is about the whole site: its subject is ("site", <site>)
    rows = store.observations(kind="manual.evidence", since=since, until=until, limit=limit,
                              subject_kind="site", subject_id=site)
    out = []
    for o in rows:
        p = o.payload
        if control and p.get("control") != control:
            continue
        out.append({"control": p.get("control", o.key), "sha256": p.get("sha256"), "filename": p.get("filename"),
                    "size": p.get("size"), "media_type": p.get("media_type"), "uploaded_by": p.get("uploaded_by"),
                    "uploaded_at": o.observed_at.isoformat(), "valid_until": p.get("valid_until"),
                    "note": p.get("note", ""), "observation": o.id, "site": o.site, "dated": p.get("dated"),
                    "cadence": p.get("cadence"), "valid_until_requested": p.get("valid_until_requested")})
    return out


def expiring(store: Store, now: datetime, within: timedelta = timedelta(days=14)) -> list[dict[str, Any]]:
    """Current evidence of each manual control that expires within `within` (or has expired)."""
    latest = store.latest_all("site")
    out = []
    for obs_by_kind in latest.values():
        for (kind, _), o in obs_by_kind.items():
            if kind != "manual.evidence":
                continue
            until = datetime.fromisoformat(o.payload["valid_until"])
            if until - now <= within:
                out.append({"control": o.payload.get("control", o.key), "valid_until": until.isoformat(),
                            "days_left": round((until - now).total_seconds() / 86400, 1),
                            "expired": until < now, "sha256": o.payload.get("sha256"),
                            "uploaded_by": o.payload.get("uploaded_by")})
    return sorted(out, key=lambda r: r["valid_until"])
