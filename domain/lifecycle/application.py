"""The lifecycle module's eventsourcing application: auditions, races and strikes.

Lifecycle facts are stamped by the **market clock**: a run starts, breaches and passes in
market time, whatever the service clock says. Every command here loads one audition,
decides, and saves it; the cross-module steps themselves are driven by
``adapters/audition_process.py`` (the auditions worker), which calls the other modules and
then records each result through the methods below.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from domain.application import ClashApplication, FactoryBuilder
from domain.clock import Clock
from domain.lifecycle.audition import Audition, AuditionNotFound
from domain.lifecycle.audition_rules import AuditionRuleBook
from domain.lifecycle.pool_settlement import (
    PoolSettlement,
    pool_settlement_id_for,
    summary_of,
)
from domain.lifecycle.race import Race, RaceNotFound, race_id_for
from domain.lifecycle.race_config import RaceConfig
from domain.lifecycle.race_results import EntrantResult
from domain.lifecycle.strikes import CloneStrikes, strikes_id_for

T = TypeVar("T")


class Lifecycle(ClashApplication):
    """Auditions: submission, process steps, verdicts, retries and voids."""

    name = "lifecycle"

    def __init__(
        self,
        *,
        clock: Clock,
        rule_book: AuditionRuleBook,
        factory_builder: FactoryBuilder | None = None,
    ) -> None:
        super().__init__(clock=clock, factory_builder=factory_builder)
        self.rule_book = rule_book

    def submit(
        self,
        audition_id: UUID,
        *,
        user_id: str,
        clone_id: UUID,
        version_id: UUID,
        purchase_id: UUID,
        tier: str,
    ) -> tuple[Audition, bool]:
        """Record a submission; ``(audition, created)`` (a repeat returns the first one)."""

        def command() -> tuple[Audition, bool]:
            found = self.find(audition_id)
            if found is not None:
                return found, False
            rules = self.rule_book.get(tier)
            audition = Audition.submit(
                audition_id,
                user_id=user_id,
                clone_id=clone_id,
                version_id=version_id,
                purchase_id=purchase_id,
                tier=tier,
                rules=rules,
            )
            self.save(audition)
            return audition, True

        return self.run_command(command)

    def find(self, audition_id: UUID) -> Audition | None:
        """The audition, or ``None``."""
        try:
            found: object = self.repository.get(audition_id)
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, Audition) else None

    def audition(self, audition_id: UUID, user_id: str | None = None) -> Audition:
        """The audition (the caller's when ``user_id`` is given), or AuditionNotFound."""
        found = self.find(audition_id)
        if found is None or (user_id is not None and found.user_id != user_id):
            raise AuditionNotFound(audition=str(audition_id))
        return found

    def change(self, audition_id: UUID, decide: Callable[[Audition], T]) -> T:
        """Load the audition, apply ``decide`` and save what it triggered (retried on races)."""

        def command() -> T:
            audition = self.audition(audition_id)
            result = decide(audition)
            if audition.pending_events:
                self.save(audition)
            return result

        return self.run_command(command)

    def retry(self, audition_id: UUID, user_id: str) -> int:
        """Start the next run of the caller's failed or abandoned audition."""
        self.audition(audition_id, user_id)
        return self.change(audition_id, lambda a: a.retry(user_id))

    def void(self, audition_id: UUID, *, reason: str, voided_by: str) -> Audition:
        """Void the audition (an admin, or the system on unhealthy data)."""

        def decide(audition: Audition) -> Audition:
            audition.void(reason, voided_by)
            return audition

        return self.change(audition_id, decide)

    def record_outcome(
        self, audition_id: UUID, run: int, *, passed: bool, at: datetime, **details: Any
    ) -> None:
        """Record the evaluator's verdict on ``run``."""

        def decide(audition: Audition) -> None:
            if passed:
                audition.pass_run(run, at, details["metrics"])
            else:
                audition.fail_run(run, at, details["rule"], details["equity"], details["limit"])

        self.change(audition_id, decide)

    # --- races ------------------------------------------------------------------------------

    def schedule_race(
        self,
        slot: int,
        *,
        config: RaceConfig,
        candidates: list[str],
        entrants: list[dict[str, Any]],
        opens_at: datetime,
    ) -> tuple[Race, bool]:
        """Schedule the race of ``slot`` once: ``(race, created)``."""

        def command() -> tuple[Race, bool]:
            found = self.find_race(race_id_for(slot))
            if found is not None:
                return found, False
            race = Race.schedule(
                slot, config=config, candidates=candidates, entrants=entrants, opens_at=opens_at
            )
            self.save(race)
            return race, True

        return self.run_command(command)

    def find_race(self, race_id: UUID) -> Race | None:
        """The race, or ``None``."""
        try:
            found: object = self.repository.get(race_id)
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, Race) else None

    def race(self, race_id: UUID) -> Race:
        """The race, or :class:`RaceNotFound`."""
        found = self.find_race(race_id)
        if found is None:
            raise RaceNotFound(race=str(race_id))
        return found

    def change_race(self, race_id: UUID, decide: Callable[[Race], T]) -> T:
        """Load the race, apply ``decide``, save what it triggered (retried on races)."""

        def command() -> T:
            race = self.race(race_id)
            result = decide(race)
            if race.pending_events:
                self.save(race)
            return result

        return self.run_command(command)

    def settle_race(
        self,
        race_id: UUID,
        results: list[EntrantResult],
        settlement: dict[str, Any] | None = None,
    ) -> Race:
        """Record the results, the pool's settlement rows and the strikes in one save."""

        def command() -> Race:
            race = self.race(race_id)
            limit = race.config.strikes_to_retire
            records: dict[UUID, CloneStrikes] = {}
            for result in results:
                if not result.strike:
                    continue
                clone_id = UUID(result.snapshot.clone_id)
                if clone_id not in records:
                    records[clone_id] = self._strikes(clone_id) or CloneStrikes.open(clone_id)
                records[clone_id].strike(race.id, result.dnf or "race result")
            struck_out = [str(c) for c, record in records.items() if record.count >= limit]
            summary = None if settlement is None else summary_of(settlement)
            race.settle([r.to_document() for r in results], struck_out, summary)
            rows = [] if settlement is None else [PoolSettlement.record(race.id, settlement)]
            self.save(race, *records.values(), *rows)
            return race

        return self.run_command(command)

    def pool_settlement(self, race_id: UUID) -> dict[str, Any] | None:
        """A settled race's pool rows (every payment), or ``None``."""
        try:
            found: object = self.repository.get(pool_settlement_id_for(race_id))
        except AggregateNotFoundError:
            return None
        return found.rows if isinstance(found, PoolSettlement) else None

    def strikes(self, clone_id: UUID) -> int:
        """The clone's strikes so far."""
        record = self._strikes(clone_id)
        return 0 if record is None else record.count

    def _strikes(self, clone_id: UUID) -> CloneStrikes | None:
        try:
            found: object = self.repository.get(strikes_id_for(clone_id))
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, CloneStrikes) else None
