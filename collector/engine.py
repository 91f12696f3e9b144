"""Incremental evaluation: observations in, findings (with history) out.

The engine keeps the latest observation per (subject, kind, key) in memory, re-evaluates only
the subjects touched by new observations, and sweeps everything periodically so that data
that stops arriving turns findings `unknown`.
"""
from __future__ import annotations

import logging
import math
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from collector.cross_subject import CrossSubject
from collector.held_verdicts import HeldVerdicts, Judged, Rule, held_span
from collector.leadership import Leadership, SoleLeader
from collector.part_recorder import PartRecorder
from collector.store.areas import Fence, LeaseLost
from collector.store.base import FindingChange, Store, Stored, StoredFinding
from collector.store.observation_rows import readable_observations
from collector.store.sqlite import observation_from_body
from rules.evaluate import evaluate_one
from rules.model import Control, Observation
from rules.registry import CheckSpec, load_checks

log = logging.getLogger(__name__)
Subject = tuple[str, str]


RECORD_PART = 10_000  # finding changes recorded in one transaction
ChangeListener = Callable[[Sequence[FindingChange]], None]


class Engine:
    def __init__(self, store: Store, controls: Sequence[Control], *, site: str = "default"):
        self.store = store
        self.site = site
        checks = load_checks()
        self.rules: list[tuple[Control, CheckSpec]] = [
            (c, checks[c.check or "manual_evidence"]) for c in controls]
        self.by_subject_kind: dict[str, list[Rule]] = defaultdict(list)
        for c, spec in self.rules:
            self.by_subject_kind[c.subject].append(Rule(c, spec, spec.params_for(c.params), frozenset(spec.kinds),
                                                           spec.reads, c.freshness_td, c.applies_to == "reporting"))
        self.cross = CrossSubject(self.rules)
        self.reading = {subject_kind: _by_kind_read(rules) for subject_kind, rules in self.by_subject_kind.items()}
        self._lock = threading.RLock()
        self.listeners: list[ChangeListener] = []
        # False while another collector of the store judges (collector/leadership.py): this engine
        # then records nothing, and reads findings from the store
        self.judging = True
        self.fence: Fence | None = None  # the lease term its finding changes are recorded under, if any
        self._load()

    def _load(self) -> None:
        """Start from what the store holds: the latest observations, the subjects, the findings."""
        store = self.store
        self.high_rowid = store.max_observation_rowid()  # read first: what lands meanwhile is read twice, not lost
        self.latest = store.latest_all()
        self.cross.load(self.latest)
        self.sites: dict[Subject, str] = {(k, i): s for k, i, s in store.subjects()}
        self.sites.setdefault(("site", self.site), self.site)
        self.findings: dict[tuple[str, str, str], StoredFinding] = {
            (f.control, f.subject_kind, f.subject_id): f for f in store.current_findings()}
        self.held = HeldVerdicts(self.by_subject_kind)  # what a sweep need not ask again
        self.checks_run = 0  # check calls since loaded: what a round costs, for tests and benchmarks

    # -- leading and following -------------------------------------------------------------------------
    def lead(self, fence: Fence | None) -> None:
        """Take over judging: reload everything from the store (what the previous leader recorded and
        every collector stored), then record under `fence`."""
        with self._lock:
            self._load()
            self.fence, self.judging = fence, True

    def follow(self, own: Sequence[Stored] = ()) -> list[Stored]:
        """Another collector judges: record nothing, and keep the latest observations current from the
        store for the readers of this process (metrics, rooms). `own`: what this process stored (as
        IngestResult.newest gives it) since it last followed; those rows are not read back from the
        store but taken as they are, the store's newest per key among them (see `_followed`). Returns
        those stored after what this look read, for the next."""
        with self._lock:
            self.fence, self.judging = None, False
        since = self.high_rowid
        high, observations = self.store.latest_since(since, {item[2] for item in own if item[2] > since})
        self.high_rowid = high
        noted = observations + _followed(own, since, high, observations)
        if noted:
            self.note(noted)
        return [item for item in own if item[2] > high]

    # -- feeding ------------------------------------------------------------------------------------
    def note(self, observations: Iterable[Observation]) -> dict[Subject, set[str]]:
        """Take new observations into the in-memory view; return each subject to re-evaluate with
        the observation kinds that changed for it (so only the controls reading them run)."""
        dirty: dict[Subject, set[str]] = defaultdict(set)
        # kind -> the subject kinds whose every subject a new latest observation of it concerns
        concerned: dict[str, set[str]] = defaultdict(set)
        with self._lock:
            for o in observations:
                subj = o.subject
                cur = self.latest.setdefault(subj, {})
                prev = cur.get((o.kind, o.key))
                if prev is None or o.as_of >= prev.as_of:  # older than the latest: nobody else reads it
                    cur[(o.kind, o.key)] = o
                    for other in self.cross.replaced(prev, o):  # only those sharing a join key with it
                        dirty[other].add(o.kind)
                    concerned[o.kind].update(self.cross.arrivals(prev, o))
                self.sites.setdefault(subj, o.site)
                dirty[subj].add(o.kind)
            for k, subject_kinds in concerned.items():
                subject_kinds.update(self.cross.everyone(k))
                for s in self.sites if subject_kinds else ():
                    if s[0] in subject_kinds:
                        dirty[s].add(k)
            self.held.release(dirty)  # every change of what checks read comes through here
        return dict(dirty)

    def catch_up(self, known: Collection[int] = ()) -> dict[Subject, set[str]]:
        """Take in what other processes stored since the last look (a command-line import next to
        the service, with the findings it may have recorded). `known`: rowids this process stored and
        noted; rows after the last of them may still be on their way here, so they wait a round."""
        high, observations = self.store.latest_since(self.high_rowid, known, max(known) if known else None)
        self.high_rowid = high
        if not observations:
            return {}
        with self._lock:
            for f in self.store.findings_of({o.subject for o in observations}):
                self.findings[(f.control, f.subject_kind, f.subject_id)] = f
        return self.note(observations)

    def add_subject(self, kind: str, subject_id: str, site: str) -> None:
        with self._lock:
            self.sites.setdefault((kind, subject_id), site)

    def add_stored_subjects(self) -> None:
        """Take in the subjects other processes added without an observation yet (a host enrolled
        through another collector), so that a sweep judges them `unknown` too."""
        stored = self.store.subjects()
        with self._lock:
            for kind, subject_id, site in stored:
                self.sites.setdefault((kind, subject_id), site)

    # -- judging ------------------------------------------------------------------------------------
    def evaluate(self, subjects: Mapping[Subject, set[str]] | Iterable[Subject] | None = None,
                 now: datetime | None = None) -> int:
        """Re-evaluate subjects (all when None; with a mapping, only the controls reading the changed
        kinds); record changes; return how many statuses changed."""
        now = now or datetime.now(UTC)
        # a part at a time, each part's findings taken as current once stored: a round that changes every
        # finding (the first) holds the store's write lock for one part at a time, its transactions stay small
        # enough for the database's cache, and the next part is judged while one is written
        recorder = PartRecorder(self._record_part, now, RECORD_PART, prepare=self.store.encode_findings,
                                switch_s=self.store.record_switch_s)
        try:
            with self._lock:
                if subjects is None:
                    targets: dict[Subject, set[str] | None] = dict.fromkeys(self.sites)
                elif isinstance(subjects, Mapping):
                    targets = {s: set(k) for s, k in subjects.items() if s in self.sites}
                else:
                    targets = {s: None for s in subjects if s in self.sites}
                with recorder:
                    judged = self._judge(targets, now, recorder.add)
                self.held.keep(judged)  # only once recorded: a round that failed to record is judged again
        finally:  # what was recorded is told, even when a later part of the round failed
            self._tell(recorder.recorded)
        return recorder.changed

    def _record_part(self, part: Sequence[FindingChange], now: datetime, encoded: Any) -> int:
        n = self.store.record_findings(part, now, fence=self.fence, encoded=encoded)
        for ch in part:
            f = ch.finding
            self.findings[(f.control, f.subject_kind, f.subject_id)] = f
        return n

    def _tell(self, changes: Sequence[FindingChange]) -> None:
        for listener in self.listeners if changes else ():
            try:
                listener(changes)
            except Exception:  # a broken listener must not stop evaluation
                log.exception("finding listener failed")

    def _judge(self, targets: Mapping[Subject, set[str] | None], now: datetime,
               changed_to: Callable[[FindingChange], None]) -> list[Judged]:
        """Run the controls of `targets` (with kinds: only those reading them) whose verdict may differ from
        the one held; hand each change to `changed_to`; return, per control judged, until when its verdict holds."""
        related: dict[str, dict[str, list[Observation]]] = {}  # check -> what it reads of others, this round
        round_cache: dict[str, Any] = {}
        judged: list[Judged] = []
        held = self.held
        cross = self.cross
        reading: dict[tuple[str, frozenset[str]], Sequence[Rule]] = {}  # the rules reading these kinds, this round
        for subject, changed in targets.items():
            latest = self.latest.get(subject, {})
            present: set[str] | None = None  # the kinds it reported, once a control asks
            rules: Sequence[Rule]
            if changed is None:
                rules = held.due(subject, now)
            else:
                asked = (subject[0], frozenset(changed))
                found = reading.get(asked)
                rules = reading[asked] = self._rules_reading(subject[0], changed) if found is None else found
            holding = held.of(subject)
            for control, spec, params, kinds, _reads, freshness, reporting in rules:
                if holding:
                    span = holding.get(control.id)
                    if span is not None and span[0] <= now <= span[1]:  # same observations as judged, in time
                        continue
                if reporting:
                    present = {k for k, _ in latest} if present is None else present
                    if present.isdisjoint(kinds):
                        continue
                others = None
                if spec.related:
                    others = related.get(spec.name)
                    if others is None:
                        others = related[spec.name] = cross.related(spec.related)
                res = evaluate_one(control, spec, subject, latest, now, others, round_cache, params=params,
                                   freshness=freshness)
                until = res.holds_until
                judged.append((subject, control.id, None if until is None else held_span(res.holds_from, until)))
                change = self._compare(control, subject, res, now)
                if change is not None:
                    changed_to(change)
        self.checks_run += len(judged)
        return judged

    def _rules_reading(self, subject_kind: str, changed: Collection[str]) -> Sequence[Rule]:
        """The rules of a subject kind that read any of the `changed` kinds, in their order: a subject's
        new observations are usually of one kind or a few, read by a few of its many rules."""
        if len(changed) == 1:
            return self.reading.get(subject_kind, {}).get(next(iter(changed)), ())
        return [r for r in self.by_subject_kind.get(subject_kind, ()) if not r.reads.isdisjoint(changed)]

    def _compare(self, control: Control, subject: Subject, res, now: datetime) -> FindingChange | None:
        prev = self.findings.get((control.id, *subject))
        if prev is not None and prev.status == res.status and prev.value == res.value \
                and prev.reason_en == res.reason_en and prev.evidence == res.evidence:
            return None
        changed = prev is None or prev.status != res.status
        finding = StoredFinding(
            control.id, subject[0], subject[1], self.sites.get(subject, self.site), res.status,
            now if changed or prev is None else prev.since, now, res.value, res.reason_zh, res.reason_en,
            res.evidence, control.severity)
        return FindingChange(finding, prev.status if prev else None, changed)

    # -- reading ------------------------------------------------------------------------------------
    def current(self) -> list[StoredFinding]:
        """The current findings: as judged here, or as the store holds them while another collector judges."""
        if not self.judging:
            return self.store.current_findings()
        with self._lock:
            return list(self.findings.values())


def _followed(own: Iterable[Stored], since: int, upto: int, read: Sequence[Observation]) -> list[Observation]:
    """The observations of this process's own rows numbered after `since` up to `upto` that the store's
    `latest` held when `read` was read past them: per key the newest (as of, then number: the store's
    own rule), unless a row of another process took the key's place (it is in `read`). What a follower
    reading every row back would note, without reading or rebuilding its own rows."""
    newest: dict[tuple[str, str, str, str], Stored] = {}
    for item in own:
        if since < item[2] <= upto:
            held = newest.get(item[0])
            if held is None or (item[1], item[2]) > (held[1], held[2]):
                newest[item[0]] = item
    for o in read:
        newest.pop((o.subject_kind, o.subject_id, o.kind, o.key), None)
    return readable_observations((body, received_at) for _, _, _, body, received_at in newest.values())


def _by_kind_read(rules: Sequence[Rule]) -> dict[str, list[Rule]]:
    """Observation kind -> the rules reading it, in their order."""
    out: dict[str, list[Rule]] = defaultdict(list)
    for rule in rules:
        for kind in rule.reads:
            out[kind].append(rule)
    return dict(out)


class EngineWorker(threading.Thread):
    """Evaluates dirty subjects as they arrive, sweeps for staleness, checkpoints the ledger: while this
    collector leads (`leadership`; the only collector of a store always does). A follower only keeps
    its engine's latest observations current, and takes over from the store when it comes to lead."""

    def __init__(self, engine: Engine, *, sweep_s: float = 60.0, checkpoint_s: float = 10.0,
                 coalesce_s: float = 0.5, leadership: Leadership | None = None):
        super().__init__(name="clausewatch-engine", daemon=True)
        self.engine = engine
        self.leadership: Leadership = leadership or SoleLeader()
        self.sweep_s, self.checkpoint_s = sweep_s, checkpoint_s
        # Under a stream of batches, wait this long to fold several into one evaluation round.
        self.coalesce_s = coalesce_s
        self._pending: list[Observation] = []
        self._encoded: dict[tuple[str, str, str, str], Stored] = {}
        self._noted: set[int] = set()  # rowids submitted since the engine last caught up with the store
        self._own: list[Stored] = []  # a follower's own rows since it last followed: not read back from the store
        self._cv = threading.Condition()
        self.stopping = threading.Event()
        self._term: int | None = None  # the lease term of the last round judged
        self._last_sweep = self._last_cp = self._round_s = 0.0
        self._last_cp_seq = -1

    def submit(self, observations: Sequence[Observation]) -> None:
        """Queue new observations; the worker folds them in, so ingest never waits on evaluation. A
        follower drops them: the leader reads them from the store."""
        if not self.engine.judging:
            return
        with self._cv:
            self._pending.extend(observations)
            self._cv.notify()

    def submit_encoded(self, stored: Sequence[Stored]) -> None:
        """`submit` for observations as the store encoded them (IngestResult.newest): only the
        newest per key of a round is decoded, here, off the request's path. A follower keeps them
        for its next look at the store, which need not read them back."""
        if not self.engine.judging:
            with self._cv:
                self._own += stored
            return
        with self._cv:
            for item in stored:
                held = self._encoded.get(item[0])
                if held is None or item[1] >= held[1]:
                    self._encoded[item[0]] = item
                self._noted.add(item[2])
            self._cv.notify()

    def stop(self) -> None:
        self.stopping.set()
        with self._cv:
            self._cv.notify()

    def leading(self) -> bool:
        """Whether this collector judges now: it holds the lead, and its engine has taken over."""
        return self.engine.judging and self.leadership.leading()

    def run(self) -> None:
        while not self.stopping.is_set():
            with self._cv:
                if not (self._pending or self._encoded):
                    self._cv.wait(timeout=1.0)
            try:
                if self._in_charge():
                    self._round()
                else:
                    self._follow()
            except LeaseLost as e:  # another collector took over while this one was judging: follow it
                log.warning("%s: following the collector that leads now", e)
                if self._term is not None:
                    self.leadership.lost(self._term)
            except Exception:
                log.exception("evaluation failed")
                self.stopping.wait(1.0)
        if self.leadership.leading():
            self.engine.store.seal_batches()  # a clean stop leaves no batch waiting for its seal
            if self.engine.store.ledger_head() != self._last_cp_seq:
                self.engine.store.checkpoint()

    def _in_charge(self) -> bool:
        """Whether this collector leads; on coming to lead, the engine reloads from the store and the
        first round is a full sweep (what the previous leader left unjudged is judged now)."""
        term = self.leadership.term()
        if term is None:
            return False
        fence = self.leadership.fence_of(term)
        if not self.engine.judging or self.engine.fence != fence:
            with self._cv:
                self._pending, self._encoded, self._noted, self._own = [], {}, set(), []  # all in the store, read next
            self.engine.lead(fence)
            self._last_sweep = -math.inf
        self._term = term
        return True

    def _follow(self) -> None:
        with self._cv:
            self._pending, self._encoded, self._noted = [], {}, set()  # the leader reads them from the store
            own, self._own = self._own, []
        self._term = None
        later = self.engine.follow(own)
        with self._cv:
            self._own[:0] = later

    def _round(self) -> None:
        """One evaluation round: new observations (this process's and, from the store, every other's), a
        full sweep when one is due, and a signed checkpoint when the ledger moved."""
        if self._pending or self._encoded:
            # a round that took long (many subjects) waits longer before the next, so that
            # evaluation never takes more than about a third of the time from ingest
            self.stopping.wait(max(self.coalesce_s, 2 * self._round_s))
        with self._cv:
            pending, self._pending = self._pending, []
            encoded, self._encoded = self._encoded, {}
            noted = set(self._noted)
        pending += [observation_from_body(body, recv) for _, _, _, body, recv in encoded.values()]
        started = time.monotonic()
        dirty = self.engine.note(pending) if pending else {}
        for subject, kinds in self.engine.catch_up(noted).items():
            dirty.setdefault(subject, set()).update(kinds)
        with self._cv:
            self._noted = {r for r in self._noted if r > self.engine.high_rowid}
        mono = time.monotonic()
        if mono - self._last_sweep >= self.sweep_s:
            self.engine.add_stored_subjects()
            self.engine.evaluate(None)
            self._last_sweep = mono
        elif dirty:
            self.engine.evaluate(dirty)
        self._round_s = time.monotonic() - started
        self.engine.store.seal_batches(due=True)  # the batches stored since the last seal, once the oldest is due
        if mono - self._last_cp >= self.checkpoint_s and self.engine.store.ledger_head() != self._last_cp_seq:
            self.engine.store.checkpoint()
            self._last_cp, self._last_cp_seq = mono, self.engine.store.ledger_head()
