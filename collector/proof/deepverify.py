"""`ledger verify --deep`: the tables that answers are read from, recomputed from what the ledger
binds and compared with what is stored.

- observations: each row's index columns against its own body (the Merkle leaf) and, for
  `received_at`, against its batch's ledger entry or sealed batch row;
- latest: the newest observation per (subject, kind, key), recomputed from those bodies;
- event_days: the events compaction dropped per subject, kind and day, summed from its ledger entries;
- exceptions (waivers) and attestations: each row against the ledger entry that recorded it, every
  such entry with its row, each attestation's signature;
- finding_intervals and findings: replayed from the ledger's `finding.changed` entries;
- findings' values and reasons: re-evaluated from the ledgered observations as of each finding's
  evaluation time (collector/proof/reevaluate.py).
The first difference is named by table, key, column, stored and recomputed value.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from collector.people import attest
from collector.proof.deepreport import DeepReport, Replayed
from collector.proof.reevaluate import check_findings_by_evaluation, json_value
from collector.store.areas import DerivedReader
from rules.model import Control


def epoch(iso: Any) -> float | None:
    try:
        return datetime.fromisoformat(str(iso)).timestamp()
    except ValueError:
        return None


def check_observations(tables: DerivedReader, rep: DeepReport) -> tuple[list[Replayed], dict[int, tuple[str, int]]]:
    """Index columns against bodies; returns every observation as its body says, for the replays, and
    the repeats among them (number -> id and head rowid)."""
    received = {seq: epoch(e.get("ts")) for seq, e in tables.ledger_entries(["observations"])}
    position: dict[int, float] = {seq: float(seq) for seq in received}
    for batch, received_us, after_seq in tables.batch_rows():  # bound by their seals (`ledger verify`)
        received[batch], position[batch] = received_us / 1e6, after_seq + 0.5
    out: list[Replayed] = []
    for rowid, oid, source, site, sk, sid, kind, key, observed_at, received_at, seq, batch, body in \
            tables.observation_columns():
        rep.count("observations")
        b = json_value(body)
        if not isinstance(b, dict):
            continue  # not JSON: the batch's Merkle root already names it
        obs_at = epoch(b.get("observed_at"))
        recv = received.get(batch)
        rep.compare("observations", f"rowid {rowid} ({b.get('id')})", [
            ("id", oid, b.get("id")), ("source", source, b.get("source")), ("site", site, b.get("site")),
            ("subject_kind", sk, b.get("subject_kind")), ("subject_id", sid, b.get("subject_id")),
            ("kind", kind, b.get("kind")), ("key", key, b.get("key")), ("observed_at", observed_at, obs_at),
            ("seq", seq, b.get("seq")),
            ("received_at", received_at, recv if recv is not None else received_at)])
        out.append((recv if recv is not None else received_at, rowid, str(b.get("subject_kind")),
                    str(b.get("subject_id")), str(b.get("kind")), str(b.get("key")),
                    obs_at if obs_at is not None else observed_at, position.get(batch, batch)))
    repeats: dict[int, tuple[str, int]] = {}
    for num, batch, body, head, oid in tables.rebuilt_repeats():  # its columns are its head's: nothing to compare
        rep.count("observations (repeats)")
        b = json_value(body)
        recv = received.get(batch)
        if not isinstance(b, dict) or recv is None:
            continue  # a damaged head or a lost batch entry: `ledger verify` names the batch
        repeats[num] = (oid, head)
        out.append((recv, num, str(b.get("subject_kind")), str(b.get("subject_id")), str(b.get("kind")),
                    str(b.get("key")), epoch(b.get("observed_at")) or 0.0, position.get(batch, batch)))
    return out, repeats


def check_latest(tables: DerivedReader, observations: Sequence[Replayed], repeats: dict[int, tuple[str, int]],
                 rep: DeepReport) -> None:
    """The newest observation per (subject, kind, key); on equal times the one stored last, as ingest
    does. `latest` names the full row holding the meaning and, when the newest is a repeat of it, that."""
    want: dict[tuple[str, str, str, str], tuple[int, float]] = {}
    for _, rowid, sk, sid, kind, key, obs_at, _ in observations:
        k = (sk, sid, kind, key)
        held = want.get(k)
        if held is None or (obs_at, rowid) >= (held[1], held[0]):
            want[k] = (rowid, obs_at)
    have = tables.latest_rows()
    for k in sorted(set(want) | set(have)):
        rep.count("latest")
        name = "(" + ", ".join(k) + ")"
        if k not in have or k not in want:
            rep.compare("latest", name, [("row", "present" if k in have else None,
                                          "present" if k in want else None)])
            continue
        newest = want[k][0]
        head = repeats[newest][1] if newest in repeats else newest
        rep.compare("latest", name, [("obs_rowid", have[k][0], head), ("num", have[k][2], newest),
                                     ("observed_at", have[k][1], want[k][1])])


def check_event_days(tables: DerivedReader, rep: DeepReport) -> None:
    """The events compaction dropped per subject, kind and day: the sum of its ledger entries' counts."""
    want: dict[tuple[str, ...], int] = {}
    for _, entry in tables.ledger_entries(["store.compacted"]):
        for row in (entry.get("data") or {}).get("events_dropped") or []:
            if isinstance(row, list) and len(row) == 5 and isinstance(row[4], int):
                key = tuple(str(v) for v in row[:4])
                want[key] = want.get(key, 0) + row[4]
    have = tables.event_day_rows()
    for key in sorted(set(want) | set(have)):
        rep.count("event_days")
        rep.compare("event_days", "(" + ", ".join(key) + ")", [("dropped", have.get(key), want.get(key))])


def check_exceptions(tables: DerivedReader, rep: DeepReport) -> None:
    entries = dict(tables.ledger_entries(["exception.approved"]))
    used: dict[int, int] = {}
    for row in tables.exception_rows():
        wid, control, sk, sid, site, reason, owner, approver, created, starts, ends, seq = row
        rep.count("exceptions")
        e = entries.pop(seq, None)
        name = f"id {wid}"
        if e is None:
            why = f"the entry of waiver {used[seq]} already" if seq in used else "an exception.approved entry"
            rep.compare("exceptions", name, [("ledger_seq", seq, why)])
            continue
        used[seq] = wid
        d = e.get("data", {})
        rep.compare("exceptions", name, [
            ("control", control, d.get("control")), ("subject_kind", sk, d.get("subject_kind")),
            ("subject_id", sid, d.get("subject_id")), ("site", site, d.get("site")),
            ("reason", reason, d.get("reason")),
            ("owner", owner, d.get("owner")), ("approver", f"user:{approver}", e.get("actor")),
            ("created_at", created, epoch(e.get("ts"))), ("starts_at", starts, epoch(d.get("starts_at"))),
            ("ends_at", ends, epoch(d.get("ends_at")))])
    for seq, e in entries.items():
        d = e.get("data", {})
        rep.compare("exceptions", f"ledger entry {seq}", [
            ("row", None, f"waiver of {d.get('control')} for {d.get('subject_kind')}/{d.get('subject_id')}")])


def check_attestations(tables: DerivedReader, rep: DeepReport) -> None:
    entries = dict(tables.ledger_entries(["attestation"]))
    keys = tables.public_keys()
    for aid, p_start, p_end, user, created, corrects, snap, body, sig, key_id, seq in tables.attestation_rows():
        rep.count("attestations")
        e = entries.pop(seq, None)
        name = f"id {aid}"
        if e is None:
            rep.compare("attestations", name, [("ledger_seq", seq, "an attestation entry")])
            continue
        signed = e.get("data", {}).get("attestation", {})
        period = signed.get("period", {})
        rep.compare("attestations", name, [
            ("body", json_value(body), signed), ("signature", sig, e.get("data", {}).get("signature")),
            ("user", user, signed.get("user")), ("created_at", created, epoch(signed.get("created_at"))),
            ("corrects", corrects, signed.get("corrects")), ("snapshot_hash", snap, signed.get("snapshot_sha256")),
            ("period_start", p_start, epoch(period.get("start"))), ("period_end", p_end, epoch(period.get("end"))),
            ("key_id", key_id, signed.get("site_key"))])
        pem = keys.get(key_id)
        good = pem is not None and _signature_ok({**signed, "signature": e.get("data", {}).get("signature")}, pem)
        rep.compare("attestations", name, [("signature verifies", good, True)])
    for seq in entries:
        rep.compare("attestations", f"ledger entry {seq}", [("row", None, "an attestation")])


def _signature_ok(att: dict[str, Any], pem: str) -> bool:
    try:
        return attest.verify(att, pem.encode())
    except (ValueError, TypeError, KeyError):
        return False


def expected_intervals(tables: DerivedReader) -> dict[int, dict[str, Any]]:
    """ledger seq -> the finding interval that `finding.changed` entry opened (closed by the next one)."""
    out: dict[int, dict[str, Any]] = {}
    open_at: dict[tuple[str, str, str], int] = {}
    for seq, e in tables.ledger_entries(["finding.changed"]):
        d = e.get("data", {})
        key = (d.get("control"), d.get("subject_kind"), d.get("subject_id"))
        start = epoch(d.get("since"))
        out[seq] = {"key": key, "site": d.get("site"), "status": d.get("to"), "start": start, "end": None,
                    "value": d.get("value"), "reason_en": d.get("reason"), "evidence": d.get("evidence")}
        if key in open_at:
            out[open_at[key]]["end"] = start
        open_at[key] = seq
    return out


def _evidence_as_ledgered(stored: Any, ledgered: Any) -> Any:
    """The ledger keeps the first 20 evidence ids of a long list."""
    if isinstance(stored, list) and isinstance(ledgered, list) and len(stored) > 20 == len(ledgered):
        return stored[:20]
    return stored


def check_intervals(tables: DerivedReader, want: dict[int, dict[str, Any]], rep: DeepReport) -> None:
    seen: set[int] = set()
    for iid, control, sk, sid, site, status, start, end, value, reason, evidence, seq in tables.interval_rows():
        rep.count("finding_intervals")
        name = f"id {iid} ({control}, {sk}/{sid})"
        w = want.get(seq)
        if w is None or seq in seen:
            rep.compare("finding_intervals", name, [("ledger_seq", seq, "a finding.changed entry of its own")])
            continue
        seen.add(seq)
        ev = json_value(evidence)
        rep.compare("finding_intervals", name, [
            ("control", control, w["key"][0]), ("subject_kind", sk, w["key"][1]), ("subject_id", sid, w["key"][2]),
            ("site", site, w["site"]), ("status", status, w["status"]), ("start", start, w["start"]),
            ("end", end, w["end"]), ("value", json_value(value), w["value"]), ("reason_en", reason, w["reason_en"]),
            ("evidence", _evidence_as_ledgered(ev, w["evidence"]), w["evidence"])])
    for seq in sorted(set(want) - seen):
        control, sk, sid = want[seq]["key"]
        rep.compare("finding_intervals", f"ledger entry {seq} ({control}, {sk}/{sid})", [("row", None, "present")])


def last_changes(want: dict[int, dict[str, Any]]) -> dict[tuple[str, str, str], tuple[int, float | None]]:
    """(control, subject kind, subject id) -> seq and since of its last `finding.changed` entry."""
    return {w["key"]: (seq, w["start"]) for seq, w in sorted(want.items())}


def check_findings_against_ledger(rows: Sequence[tuple[Any, ...]], want: dict[int, dict[str, Any]],
                                  rep: DeepReport) -> None:
    """Each finding's status, since and site are those of the last change the ledger holds for it."""
    last: dict[tuple[str, str, str], dict[str, Any]] = {}
    for seq in sorted(want):
        last[want[seq]["key"]] = want[seq]
    have = set()
    for control, sk, sid, site, status, since, *_ in rows:
        rep.count("findings")
        key = (control, sk, sid)
        have.add(key)
        name = f"({control}, {sk}/{sid})"
        w = last.get(key)
        if w is None:
            rep.compare("findings", name, [("row", "present", "no finding.changed entry")])
            continue
        rep.compare("findings", name, [("status", status, w["status"]), ("since", since, w["start"]),
                                       ("site", site, w["site"])])
    for key in sorted(set(last) - have):
        rep.compare("findings", f"({key[0]}, {key[1]}/{key[2]})", [("row", None, "present")])


def verify_derived(tables: DerivedReader, controls: Sequence[Control]) -> DeepReport:
    """Every check above on one consistent snapshot `tables`, in the order of the module's docstring."""
    rep = DeepReport()
    observations, repeats = check_observations(tables, rep)
    check_latest(tables, observations, repeats, rep)
    check_event_days(tables, rep)
    check_exceptions(tables, rep)
    check_attestations(tables, rep)
    want = expected_intervals(tables)
    check_intervals(tables, want, rep)
    rows = tables.finding_rows()
    check_findings_against_ledger(rows, want, rep)
    ledgered_reasons = {w["key"]: w["reason_en"] for _, w in sorted(want.items())}
    check_findings_by_evaluation(tables, rows, observations, controls, rep, last_changes(want), ledgered_reasons,
                                 {num: oid for num, (oid, _) in repeats.items()})
    return rep
