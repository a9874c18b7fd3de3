"""The audition reconciliation: Economy's attempts and refunds against Lifecycle's auditions.

Folds both logs from the start (never a read model) and checks:

- every audition attempt Economy consumed and did not release was consumed for a run of
  an audition Lifecycle recorded (the key is ``<audition id>#run-<n>``, ``n`` at most the
  audition's runs); an earlier run's attempt was recorded as taken (the current run's may
  be held a moment before Lifecycle records it: a process between the two calls); and no
  attempt is held under a run whose release Lifecycle recorded;
- every voided audition has exactly one refund in Economy (``voided_refund_id_for``), and
  every such refund belongs to a voided audition; a voided audition whose refund step is
  still pending is reported as such.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from domain.application import ClashApplication
from domain.economy.purchases import AuditionAttempts, Refund, voided_refund_id_for
from domain.lifecycle.audition import Audition

PAGE = 1000
Found = list[tuple[str, tuple[str, ...], str]]


@dataclass
class _Facts:
    submitted: set[str] = field(default_factory=set)
    runs: dict[str, int] = field(default_factory=dict)
    taken: set[str] = field(default_factory=set)  # attempt keys Lifecycle recorded
    released: set[str] = field(default_factory=set)  # attempt keys Lifecycle gave back
    voided: set[str] = field(default_factory=set)
    consumed: dict[str, int] = field(default_factory=dict)  # attempt key -> times held
    refunds: set[UUID] = field(default_factory=set)


def audit_auditions(
    economy: ClashApplication, lifecycle: ClashApplication
) -> tuple[Found, dict[str, int]]:
    """Return the breaches ``(kind, ids, detail)`` and how many facts each check covered."""
    facts = _Facts()
    for event in _events(lifecycle):
        _fold_lifecycle(facts, event)
    for event in _events(economy):
        _fold_economy(facts, event)
    breaches = _attempts(facts) + _void_refunds(facts)
    held = sum(1 for count in facts.consumed.values() if count > 0)
    checked = {"auditions": len(facts.submitted), "attempts_held": held}
    checked["voided_auditions"] = len(facts.voided)
    return breaches, checked


def _events(application: ClashApplication) -> Iterator[Any]:
    position = 0
    while batch := application.recorder.select_notifications(
        start=position, limit=PAGE, inclusive_of_start=False
    ):
        for notification in batch:
            yield application.mapper.to_domain_event(notification)
        position = batch[-1].id


def _fold_lifecycle(facts: _Facts, event: Any) -> None:
    audition = str(event.originator_id)
    if isinstance(event, Audition.Submitted):
        facts.submitted.add(audition)
        facts.runs[audition] = 1
    elif isinstance(event, Audition.RetryRequested):
        facts.runs[audition] = event.run
    elif isinstance(event, Audition.AttemptTaken):
        facts.taken.add(f"{audition}#run-{event.run}")
    elif isinstance(event, Audition.AttemptReleased):
        facts.released.add(f"{audition}#run-{event.run}")
    elif isinstance(event, Audition.AuditionVoided):
        facts.voided.add(audition)


def _fold_economy(facts: _Facts, event: Any) -> None:
    if isinstance(event, AuditionAttempts.AttemptConsumed):
        facts.consumed[event.audition_id] = facts.consumed.get(event.audition_id, 0) + 1
    elif isinstance(event, AuditionAttempts.AttemptReleased):
        facts.consumed[event.audition_id] = facts.consumed.get(event.audition_id, 0) - 1
    elif isinstance(event, Refund.Opened):
        facts.refunds.add(event.originator_id)


def _attempts(facts: _Facts) -> Found:
    breaches: Found = []
    for key, count in sorted(facts.consumed.items()):
        if count <= 0:
            continue
        audition, _, run = key.partition("#run-")
        known = audition in facts.submitted and run.isdigit()
        if not known or int(run) > facts.runs.get(audition, 0):
            detail = "an attempt is held by no run of a recorded audition"
            breaches.append(("attempt_audition", (key,), detail))
        elif key in facts.released:
            detail = "an attempt is held under a run whose release the audition recorded"
            breaches.append(("attempt_audition", (key,), detail))
        elif key not in facts.taken and int(run) < facts.runs[audition]:
            detail = "an earlier run's attempt is held but the audition never recorded taking it"
            breaches.append(("attempt_audition", (key,), detail))
    return breaches


def _void_refunds(facts: _Facts) -> Found:
    breaches: Found = []
    expected = {voided_refund_id_for(UUID(a)): a for a in facts.voided}
    for refund_id, audition in sorted(expected.items(), key=lambda pair: pair[1]):
        if refund_id not in facts.refunds:
            detail = "a voided audition has no refund (yet: its refund step is pending)"
            breaches.append(("voided_audition_refunds", (audition,), detail))
    known = {voided_refund_id_for(UUID(a)) for a in facts.submitted}
    for refund_id in sorted(facts.refunds & known):
        if refund_id not in expected:
            detail = "a refund of an audition that was never voided"
            breaches.append(("voided_audition_refunds", (str(refund_id),), detail))
    return breaches
