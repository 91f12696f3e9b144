"""The engine's rules per subject kind, and which of their verdicts still hold.

A verdict holds until an observation it reads changes (the engine releases it when it notes one) or until
the moment its check said it stops holding (`Result.holds_until`: the oldest observation read turns stale;
never, for a check that read the clock). A sweep then asks only the checks whose verdict does not hold:
on a steady site, those reading the clock.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import NamedTuple

from rules.evaluate import FOREVER
from rules.model import Control
from rules.registry import CheckSpec, Params

Subject = tuple[str, str]


class Rule(NamedTuple):
    """A control with its check, as the engine runs it: parameters and kinds resolved once."""

    control: Control
    spec: CheckSpec
    params: Params
    kinds: frozenset[str]
    reads: frozenset[str]  # every kind whose change can alter its verdict (CheckSpec.reads)


class HeldVerdicts:
    def __init__(self, rules: Mapping[str, Sequence[Rule]]):
        self.rules = rules  # subject kind -> its rules
        self.until: dict[Subject, dict[str, datetime]] = {}  # subject -> control id -> until when it holds
        # subject -> (the soonest moment one of its held verdicts stops holding, the rules not held): what a
        # sweep walks instead of every rule
        self._due: dict[Subject, tuple[datetime, Sequence[Rule]]] = {}

    def due(self, subject: Subject, now: datetime) -> Sequence[Rule]:
        """The rules of `subject` a sweep at `now` asks (those whose verdict holds may come along: see `holds`)."""
        due = self._due.get(subject)
        if due is None:
            held = self.until.get(subject, {})
            rules = self.rules.get(subject[0], ())
            due = self._due[subject] = (min(held.values(), default=FOREVER),
                                        [r for r in rules if r.control.id not in held])
        return due[1] if now <= due[0] else self.rules.get(subject[0], ())

    def holds(self, subject: Subject, control_id: str, now: datetime) -> bool:
        until = self.until.get(subject, {}).get(control_id)
        return until is not None and now <= until

    def keep(self, judged: Iterable[tuple[Subject, str, datetime | None]]) -> None:
        """Take in until when each verdict just judged holds (None: it does not)."""
        for subject, control_id, until in judged:
            held = self.until.get(subject)
            if until is not None:
                if held is None:
                    held = self.until[subject] = {}
                held[control_id] = until
                self._due.pop(subject, None)
            elif held and held.pop(control_id, None) is not None:
                self._due.pop(subject, None)

    def release(self, dirty: Mapping[Subject, set[str]]) -> None:
        """Forget the verdicts that the changed kinds of each subject can alter."""
        for subject, kinds in dirty.items():
            held = self.until.get(subject)
            if not held:
                continue
            for rule in self.rules.get(subject[0], ()):
                if not kinds.isdisjoint(rule.reads) and held.pop(rule.control.id, None) is not None:
                    self._due.pop(subject, None)
