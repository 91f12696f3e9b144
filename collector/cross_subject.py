"""The engine's cross-subject inputs: what checks read about subjects other than the one they judge.

Holds, per `related` kind, every subject's latest observation that others may read, kept current as
observations arrive instead of gathered again each round; and, for the checks that join on keys
(`related_by`, e.g. the people signed in on a host), an index key -> subjects, so that a change
re-judges only the subjects it can concern instead of every subject of the kind.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

from rules.kinds import readable_by_others
from rules.model import Control, Observation
from rules.registry import CheckSpec, JoinKeys

Subject = tuple[str, str]
Held = tuple[Subject, str]  # (subject, observation key): one latest observation of a kind


class CrossSubject:
    def __init__(self, rules: Sequence[tuple[Control, CheckSpec]]):
        # related kind -> subject kind -> the join keys of every check reading it about that subject kind,
        # or None when one of those checks reads every other subject's observation of it
        self.joins: dict[str, dict[str, list[JoinKeys] | None]] = defaultdict(dict)
        # related kind -> the subject kinds with a check reading only who has one (CheckSpec.presence)
        self.presence: dict[str, set[str]] = defaultdict(set)
        for control, spec in rules:
            for kind in spec.related:
                by_subject, keys = self.joins[kind], spec.related_by.get(kind)
                if kind in spec.presence:  # no content read: no join key concerns anyone
                    by_subject.setdefault(control.subject, [])
                    self.presence[kind].add(control.subject)
                    continue
                joined = by_subject.get(control.subject, [])
                if joined is None or keys is None:
                    by_subject[control.subject] = None
                elif keys not in joined:
                    by_subject[control.subject] = [*joined, keys]
        self.others: dict[str, dict[Held, Observation]] = {k: {} for k in self.joins}
        self.index: dict[JoinKeys, dict[str, set[Held]]] = {}
        self.unkeyed: dict[JoinKeys, set[Held]] = {}  # observations whose keys could not be read: join them all
        self.unsorted: set[str] = set()

    def load(self, latest: Mapping[Subject, Mapping[tuple[str, str], Observation]]) -> None:
        """Start again from the engine's latest observations of every subject."""
        self.others = {k: {} for k in self.joins}
        self.index, self.unkeyed, self.unsorted = {}, {}, set()
        for current in latest.values():
            for o in current.values():
                if o.kind in self.joins:
                    self.replaced(None, o)

    def everyone(self, kind: str) -> list[str]:
        """The subject kinds that any other subject's observation of `kind` concerns."""
        return [sk for sk, keys in self.joins.get(kind, {}).items() if keys is None]

    def arrivals(self, prev: Observation | None, new: Observation) -> set[str]:
        """The subject kinds whose checks read who has an observation of `new`'s kind, when `new` in place of
        `prev` changes that (a first one, or one that others may read where they could not, or back)."""
        kinds = self.presence.get(new.kind)
        if not kinds or (prev is not None and readable_by_others(prev) == readable_by_others(new)):
            return set()
        return kinds

    def replaced(self, prev: Observation | None, new: Observation) -> set[Subject]:
        """Take `new` in place of `prev` (the same subject, kind and key) as the latest; return the
        subjects of joined kinds whose verdicts the change can alter."""
        by_subject = self.joins.get(new.kind)
        if by_subject is None:
            return set()
        held: Held = (new.subject, new.key)
        mine = self.others[new.kind]
        if not readable_by_others(new):
            mine.pop(held, None)
        else:
            if held not in mine:
                self.unsorted.add(new.kind)
            mine[held] = new
        concerned: set[Subject] = set()
        for subject_kind, joins in by_subject.items():
            for keys in joins or ():
                found = self._reindex(keys, held, prev, new)
                concerned.update(s for s, _ in found if s[0] == subject_kind)
        return concerned

    def _reindex(self, keys: JoinKeys, held: Held, prev: Observation | None, new: Observation) -> set[Held]:
        """Move `held` from `prev`'s keys to `new`'s; return what shares a key with either."""
        index, unkeyed = self.index.setdefault(keys, {}), self.unkeyed.setdefault(keys, set())
        found = set(unkeyed)
        for o, add in ((prev, False), (new, True)):
            if o is None:
                continue
            names = _join_keys(keys, o)
            if names is None:  # unreadable keys: it may concern anyone
                found.update(h for bucket in index.values() for h in bucket)
                (unkeyed.add if add else unkeyed.discard)(held)
                continue
            for name in names:
                bucket = index.setdefault(name, set())
                found.update(bucket)
                (bucket.add if add else bucket.discard)(held)
        return found

    def related(self, kinds: Iterable[str]) -> dict[str, list[Observation]]:
        """The latest readable observations of each of `kinds` over every subject, for the checks' `others`:
        by subject, so that what a check lists (and its evidence) does not depend on the order of arrival."""
        for kind in self.unsorted:
            self.others[kind] = dict(sorted(self.others[kind].items(), key=lambda item: item[0]))
        self.unsorted.clear()
        return {k: list(self.others.get(k, {}).values()) for k in kinds}


def _join_keys(keys: JoinKeys, o: Observation) -> set[str] | None:
    try:
        return set(keys(o))
    except Exception:  # noqa: BLE001 - a forged payload's keys: judged as concerning every subject
        return None
