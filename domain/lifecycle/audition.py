"""The audition aggregate: one paid audition of a clone version, its runs and its process.

Why an aggregate of its own: submitting an audition spans three other modules (spend an
attempt in Economy, open a prop account in the ledger, bind it in Trading). ARCHITECTURE.md
section 2 makes that a process: the audition records the intent first (``Submitted``), then
the auditions worker drives each step through the other modules' APIs and records each
step's result here. Every step is idempotent because what it creates elsewhere has an id
derived from the audition and the run (:func:`attempt_key`, the prop account's cause), so a
retried step finds its earlier effect instead of repeating it.

The audition id is the one its fee quote reserved, so one purchase pays for one audition.
Each run is one prop account judged by the rules frozen at submission; a retry starts a new
run on a new account, and the old run is kept. States:

- ``starting``: the current run's steps are not all done (``step`` says which is next);
- ``running``: the evaluation window is open;
- ``passed`` / ``failed``: the current run ended (``AuditionPassed`` carries the metrics
  the Promotion Queue ranks by; a failed audition may be retried);
- ``voided``: ended by an admin or by unhealthy market data; Economy refunds the fee;
- ``abandoned``: a step failed for good; the attempt it held is given back by an explicit
  ``AttemptReleased`` event.

After an outcome the run is *closed* (trading unbound, positions closed) as a step too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar
from uuid import UUID

from domain.aggregates import ClashAggregate
from domain.lifecycle.audition_rules import AuditionError, AuditionRules

MAX_STEP_FAILURES = 5


class AuditionState(StrEnum):
    """Where an audition stands."""

    STARTING = "starting"
    RUNNING = "running"
    PASSED = "passed"
    FAILED = "failed"
    VOIDED = "voided"
    ABANDONED = "abandoned"


class Step(StrEnum):
    """The process steps, in the order a run needs them."""

    ATTEMPT = "attempt"
    ACCOUNT = "account"
    BIND = "bind"
    START = "start"
    CLOSE = "close"
    REFUND = "refund"
    RELEASE = "release"


class AuditionNotFound(AuditionError):
    """Raised when an audition id names no audition of the caller."""

    reason = "audition_not_found"


class AuditionConflict(AuditionError):
    """Raised when a command does not fit the audition's state (retry a running one...)."""

    reason = "audition_conflict"


class RetriesUsed(AuditionError):
    """Raised when an audition already ran every attempt its purchase paid for."""

    reason = "audition_retries_used"


class PurchaseMismatch(AuditionError):
    """Raised when a purchase paid for another clone or version than the one submitted."""

    reason = "audition_purchase_mismatch"


class StepOutOfOrder(AuditionError):
    """Raised when a process step is recorded for another run or out of its order."""

    reason = "audition_step_out_of_order"


def attempt_key(audition_id: UUID, run: int) -> str:
    """The key a run's audition attempt is consumed under in Economy."""
    return f"{audition_id}#run-{run}"


def account_cause(audition_id: UUID, run: int) -> str:
    """The cause a run's prop account is opened for (its id derives from it)."""
    return f"audition:{audition_id}:run:{run}"


@dataclass
class Run:
    """One run: an attempt, a prop account and an evaluation window."""

    number: int
    attempt_taken: bool = False
    account_id: UUID | None = None
    bound: bool = False
    started_at: datetime | None = None
    ends_at: datetime | None = None
    outcome: dict[str, Any] | None = None
    closed: bool = False
    attempt_released: bool = False

    def to_document(self) -> dict[str, Any]:
        """The run as JSON-ready data."""
        return {
            "run": self.number,
            "accountId": None if self.account_id is None else str(self.account_id),
            "startedAt": None if self.started_at is None else self.started_at.isoformat(),
            "endsAt": None if self.ends_at is None else self.ends_at.isoformat(),
            "outcome": self.outcome,
            "closed": self.closed,
        }


class Audition(ClashAggregate):
    """A paid audition of one clone version."""

    TOPIC: ClassVar[str] = "lifecycle.Audition"

    class Event(ClashAggregate.Event):
        TOPIC = "lifecycle.Audition.Event"

    class Created(Event, ClashAggregate.Created):
        TOPIC = "lifecycle.Audition.Created"

    class Submitted(Created):
        TOPIC = "lifecycle.Audition.Submitted"
        user_id: str
        clone_id: UUID
        version_id: UUID
        purchase_id: UUID
        tier: str
        rules: dict[str, Any]

    class RetryRequested(Event):
        TOPIC = "lifecycle.Audition.RetryRequested"
        run: int
        requested_by: str

        def apply(self, aggregate: Audition) -> None:
            aggregate.runs.append(Run(self.run))
            aggregate.state = AuditionState.STARTING
            aggregate.failures, aggregate.last_error = 0, None

    class AttemptTaken(Event):
        TOPIC = "lifecycle.Audition.AttemptTaken"
        run: int
        remaining: int

        def apply(self, aggregate: Audition) -> None:
            aggregate.run.attempt_taken = True
            aggregate.failures, aggregate.last_error = 0, None

    class AccountOpened(Event):
        TOPIC = "lifecycle.Audition.AccountOpened"
        run: int
        account_id: UUID

        def apply(self, aggregate: Audition) -> None:
            aggregate.run.account_id = self.account_id
            aggregate.failures, aggregate.last_error = 0, None

    class AccountBound(Event):
        TOPIC = "lifecycle.Audition.AccountBound"
        run: int

        def apply(self, aggregate: Audition) -> None:
            aggregate.run.bound = True
            aggregate.failures, aggregate.last_error = 0, None

    class RunStarted(Event):
        TOPIC = "lifecycle.Audition.RunStarted"
        run: int
        started_at: datetime
        ends_at: datetime | None

        def apply(self, aggregate: Audition) -> None:
            aggregate.run.started_at, aggregate.run.ends_at = self.started_at, self.ends_at
            aggregate.state = AuditionState.RUNNING
            aggregate.failures, aggregate.last_error = 0, None

    class StepFailed(Event):
        TOPIC = "lifecycle.Audition.StepFailed"
        run: int
        step: str
        error: str
        failures: int

        def apply(self, aggregate: Audition) -> None:
            aggregate.failures, aggregate.last_error = self.failures, f"{self.step}: {self.error}"

    class Abandoned(Event):
        TOPIC = "lifecycle.Audition.Abandoned"
        run: int
        step: str
        reason: str

        def apply(self, aggregate: Audition) -> None:
            aggregate.state = AuditionState.ABANDONED
            aggregate.reason = f"{self.step}: {self.reason}"

    class AttemptReleased(Event):
        TOPIC = "lifecycle.Audition.AttemptReleased"
        run: int
        remaining: int

        def apply(self, aggregate: Audition) -> None:
            aggregate.run.attempt_released = True

    class AuditionPassed(Event):
        TOPIC = "lifecycle.Audition.AuditionPassed"
        run: int
        at: datetime
        metrics: dict[str, Any]

        def apply(self, aggregate: Audition) -> None:
            aggregate.state = AuditionState.PASSED
            aggregate.run.outcome = {"status": "passed", "at": self.at.isoformat()}
            aggregate.metrics = self.metrics

    class AuditionFailed(Event):
        TOPIC = "lifecycle.Audition.AuditionFailed"
        run: int
        at: datetime
        rule: str
        equity: str
        limit: str | None

        def apply(self, aggregate: Audition) -> None:
            aggregate.state = AuditionState.FAILED
            aggregate.run.outcome = {
                "status": "failed",
                "at": self.at.isoformat(),
                "rule": self.rule,
                "equity": self.equity,
                "limit": self.limit,
            }

    class AuditionVoided(Event):
        TOPIC = "lifecycle.Audition.AuditionVoided"
        run: int
        reason: str
        voided_by: str

        def apply(self, aggregate: Audition) -> None:
            aggregate.state = AuditionState.VOIDED
            aggregate.reason = self.reason
            verdict = aggregate.run.outcome  # a failed run's verdict is kept beside the void
            aggregate.run.outcome = {"status": "voided", "reason": self.reason}
            if verdict is not None:
                aggregate.run.outcome["verdict"] = verdict

    class RunClosed(Event):
        TOPIC = "lifecycle.Audition.RunClosed"
        run: int

        def apply(self, aggregate: Audition) -> None:
            aggregate.run.closed = True

    class Refunded(Event):
        TOPIC = "lifecycle.Audition.Refunded"
        refund_id: UUID

        def apply(self, aggregate: Audition) -> None:
            aggregate.refund_id = self.refund_id

    def __init__(
        self,
        *,
        user_id: str,
        clone_id: UUID,
        version_id: UUID,
        purchase_id: UUID,
        tier: str,
        rules: dict[str, Any],
    ) -> None:
        self.user_id, self.clone_id, self.version_id = user_id, clone_id, version_id
        self.purchase_id, self.tier, self.rules_document = purchase_id, tier, rules
        self.state = AuditionState.STARTING
        self.runs: list[Run] = [Run(1)]
        self.failures = 0
        self.last_error: str | None = None
        self.reason: str | None = None
        self.metrics: dict[str, Any] | None = None
        self.refund_id: UUID | None = None

    @classmethod
    def submit(
        cls,
        audition_id: UUID,
        *,
        user_id: str,
        clone_id: UUID,
        version_id: UUID,
        purchase_id: UUID,
        tier: str,
        rules: AuditionRules,
    ) -> Audition:
        """Record the submission (the first run's steps follow)."""
        return cls._create(
            cls.Submitted,
            id=audition_id,
            user_id=user_id,
            clone_id=clone_id,
            version_id=version_id,
            purchase_id=purchase_id,
            tier=tier,
            rules=rules.to_document(),
        )

    @property
    def rules(self) -> AuditionRules:
        """The rules frozen at submission."""
        return AuditionRules.from_document(self.rules_document)

    @property
    def run(self) -> Run:
        """The current run."""
        return self.runs[-1]

    @property
    def step(self) -> Step | None:
        """The next process step, or ``None`` when nothing is left to drive."""
        run = self.run
        if self.state is AuditionState.STARTING:
            if not run.attempt_taken:
                return Step.ATTEMPT
            if run.account_id is None:
                return Step.ACCOUNT
            return Step.START if run.bound else Step.BIND
        if self.state is AuditionState.ABANDONED:
            return Step.RELEASE if run.attempt_taken and not run.attempt_released else None
        ended = self.state in (AuditionState.PASSED, AuditionState.FAILED, AuditionState.VOIDED)
        if ended and run.account_id is not None and not run.closed:
            return Step.CLOSE
        if self.state is AuditionState.VOIDED and self.refund_id is None:
            return Step.REFUND
        return None

    # --- commands ----------------------------------------------------------------------

    def take_attempt(self, run: int, remaining: int) -> None:
        """Record that Economy spent one attempt on ``run``."""
        self._expect(run, Step.ATTEMPT)
        self.trigger_event(self.AttemptTaken, run=run, remaining=remaining)

    def open_account(self, run: int, account_id: UUID) -> None:
        """Record the run's prop account."""
        self._expect(run, Step.ACCOUNT)
        self.trigger_event(self.AccountOpened, run=run, account_id=account_id)

    def bind(self, run: int) -> None:
        """Record that Trading bound the run's account to the version."""
        self._expect(run, Step.BIND)
        self.trigger_event(self.AccountBound, run=run)

    def start(self, run: int, started_at: datetime, ends_at: datetime | None) -> None:
        """Open the evaluation window."""
        self._expect(run, Step.START)
        self.trigger_event(self.RunStarted, run=run, started_at=started_at, ends_at=ends_at)

    def fail_step(self, run: int, step: Step, error: str, *, final: bool = False) -> None:
        """Record a failed step; the fifth failure in a row (or a ``final`` one) abandons."""
        if run != self.run.number or self.step is not step:
            raise StepOutOfOrder(run=run, step=step)
        failures = self.failures + 1
        self.trigger_event(
            self.StepFailed, run=run, step=step.value, error=error[:500], failures=failures
        )
        abandon = final or failures >= MAX_STEP_FAILURES
        if abandon and self.state is AuditionState.STARTING:
            self.trigger_event(self.Abandoned, run=run, step=step.value, reason=error[:500])

    def release_attempt(self, run: int, remaining: int) -> None:
        """Record that Economy took back the attempt the abandoned run held."""
        self._expect(run, Step.RELEASE)
        self.trigger_event(self.AttemptReleased, run=run, remaining=remaining)

    def pass_run(self, run: int, at: datetime, metrics: dict[str, Any]) -> None:
        """The running run met every rule."""
        self._require_running(run)
        self.trigger_event(self.AuditionPassed, run=run, at=at, metrics=metrics)

    def fail_run(self, run: int, at: datetime, rule: str, equity: str, limit: str | None) -> None:
        """The running run broke ``rule`` at ``at``."""
        self._require_running(run)
        self.trigger_event(
            self.AuditionFailed, run=run, at=at, rule=rule, equity=equity, limit=limit
        )

    def void(self, reason: str, voided_by: str) -> None:
        """End the audition without a verdict; its fee is refunded."""
        if self.state in (AuditionState.VOIDED, AuditionState.PASSED):
            raise AuditionConflict(audition=self.id, state=self.state.value)
        self.trigger_event(
            self.AuditionVoided, run=self.run.number, reason=reason, voided_by=voided_by
        )

    def close_run(self, run: int) -> None:
        """Record that the ended run's account stopped trading."""
        self._expect(run, Step.CLOSE)
        self.trigger_event(self.RunClosed, run=run)

    def refunded(self, refund_id: UUID) -> None:
        """Record the refund Economy made for the voided audition."""
        if self.step is not Step.REFUND:
            raise StepOutOfOrder(step=Step.REFUND, state=self.state.value)
        self.trigger_event(self.Refunded, refund_id=refund_id)

    @property
    def attempts_used(self) -> int:
        """Runs that hold an attempt (an abandoned run's released attempt is not held)."""
        return sum(1 for r in self.runs if r.attempt_taken and not r.attempt_released)

    def require_retryable(self) -> None:
        """Raise unless a retry may start: the run ended and a paid attempt is left."""
        retryable = self.state in (AuditionState.FAILED, AuditionState.ABANDONED)
        if not retryable or self.step is not None:
            raise AuditionConflict(audition=self.id, state=self.state.value)
        if self.attempts_used >= self.rules.attempts:
            raise RetriesUsed(audition=self.id, attempts=self.rules.attempts)

    def retry(self, requested_by: str) -> int:
        """Start a new run after a failed or abandoned one; return its number.

        The purchase paid for ``rules.attempts`` runs (1 plus the tier's retries); attempts
        another purchase granted the clone are that purchase's auditions', never this one's.
        """
        self.require_retryable()
        number = self.run.number + 1
        self.trigger_event(self.RetryRequested, run=number, requested_by=requested_by)
        return number

    def _expect(self, run: int, step: Step) -> None:
        if run != self.run.number or self.step is not step:
            raise StepOutOfOrder(run=run, step=step, expected=self.step)

    def _require_running(self, run: int) -> None:
        if run != self.run.number or self.state is not AuditionState.RUNNING:
            raise AuditionConflict(audition=self.id, run=run, state=self.state.value)
