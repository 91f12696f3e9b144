"""The engine's rules per subject kind, and which of their verdicts still hold.

A verdict holds until an observation it reads changes (the engine releases it when it notes one), and
while the clock stays within the span its check gave (`Result.holds_from`, `holds_until`: until the oldest
observation read turns stale or the clock passes a moment the check compared it with; never, for a check
that read the clock). A sweep then asks only the checks whose verdict does not hold:
on a steady site, those reading the clock.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import NamedTuple

from rules.evaluate import EVER, FOREVER
from rules.model import Control
from rules.registry import CheckSpec, Params

Subject = tuple[str, str]
Span = tuple[datetime, datetime]  # from, until: when a verdict holds
Judged = tuple[Subject, str, Span | None]  # a control's verdict on a subject, and when it holds


class Rule(NamedTuple):
    """A control with its check, as the engine runs it: parameters and kinds resolved once."""

    control: Control
    spec: CheckSpec
    params: Params
    kinds: frozenset[str]
    reads: frozenset[str]  # every kind whose change can alter its verdict (CheckSpec.reads)
    freshness: timedelta  # Control.freshness, parsed once
    reporting: bool  # Control.applies_to == "reporting": judged only on the subjects that reported what it reads


ALWAYS: Span = (EVER, FOREVER)
_NONE_HELD: Mapping[str, Span] = {}


def held_span(start: datetime, end: datetime | None) -> Span | None:
    """When a verdict holds, as HeldVerdicts keeps it (None: it does not); the commonest span shared."""
    if end is None:
        return None
    return ALWAYS if start is EVER and end is FOREVER else (start, end)


class HeldVerdicts:
    def __init__(self, rules: Mapping[str, Sequence[Rule]]):
        self.rules = rules  # subject kind -> its rules
        self.spans: dict[Subject, dict[str, Span]] = {}  # subject -> control id -> when its verdict holds
        # subject -> (when all its held verdicts hold, the rules not held): what a sweep walks instead of every rule
        self._due: dict[Subject, tuple[Span, Sequence[Rule]]] = {}

    def due(self, subject: Subject, now: datetime) -> Sequence[Rule]:
        """The rules of `subject` a sweep at `now` asks (those whose verdict holds may come along: see `of`)."""
        due = self._due.get(subject)
        if due is None:
            held = self.spans.get(subject, {})
            rules = self.rules.get(subject[0], ())
            span = (max((start for start, _ in held.values()), default=EVER),
                    min((end for _, end in held.values()), default=FOREVER))
            due = self._due[subject] = (span, [r for r in rules if r.control.id not in held])
        (start, end), rules = due
        return rules if start <= now <= end else self.rules.get(subject[0], ())

    def of(self, subject: Subject) -> Mapping[str, Span]:
        """Control id -> when its verdict on `subject` holds: a verdict holds at `now` if its span holds `now`."""
        return self.spans.get(subject, _NONE_HELD)

    def keep(self, judged: Iterable[Judged]) -> None:
        """Take in when each verdict just judged holds (None: it does not)."""
        spans, moved = self.spans, set()
        for subject, control_id, span in judged:
            held = spans.get(subject)
            if span is not None:
                if held is None:
                    held = spans[subject] = {}
                held[control_id] = span
                moved.add(subject)
            elif held and held.pop(control_id, None) is not None:
                moved.add(subject)
        for subject in moved:
            self._due.pop(subject, None)

    def release(self, dirty: Mapping[Subject, set[str]]) -> None:
        """Forget the verdicts that the changed kinds of each subject can alter."""
        for subject, kinds in dirty.items():
            held = self.spans.get(subject)
            if not held:
                continue
            for rule in self.rules.get(subject[0], ()):
                if not kinds.isdisjoint(rule.reads) and held.pop(rule.control.id, None) is not None:
                    self._due.pop(subject, None)
