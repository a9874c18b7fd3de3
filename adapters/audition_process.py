"""The audition process: drives each step of an audition through the other modules' APIs.

ARCHITECTURE.md section 2: the audition recorded the intent; this process performs the
next step (``Audition.step``) by calling Economy, the prop ledger or Trading, then records
the result on the audition. Each call is idempotent: the attempt is consumed under a key
derived from the audition and run, the prop account's id derives from its cause, a binding
on the same terms is answered as it stands, a refund's id derives from the audition. So a
process that crashed after the call and before the record repeats the call harmlessly.

A failing step is recorded (``StepFailed``, with the error) and tried again on a later
pass; the fifth failure in a row, or a failure that cannot heal (no attempt left, the
version already trading elsewhere, a retired clone), abandons the audition, and the
``release`` step then gives the attempt back to Economy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

import structlog

from domain.clock import Clock
from domain.clones.application import CloneService
from domain.clones.errors import CloneError
from domain.economy.application import Economy
from domain.economy.purchases import NoAttemptsLeft
from domain.lifecycle.application import Lifecycle
from domain.lifecycle.audition import (
    Audition,
    AuditionState,
    Step,
    account_cause,
    attempt_key,
)
from domain.lifecycle.audition_rules import AuditionError
from domain.prop.application import PropLedger
from domain.prop.rules import Purpose, RuleSet
from domain.trading.application import TradingDesk
from domain.trading.errors import BindingConflict, VersionAlreadyTrading

log = structlog.get_logger("adapters.audition_process")

MICROS = Decimal(1_000_000)
LIFECYCLE_ADMIN = "system:lifecycle"
# Failures no later pass can heal: the audition is abandoned at once.
FINAL = (NoAttemptsLeft, VersionAlreadyTrading, BindingConflict, CloneError)


@dataclass
class AuditionProcess:
    """Performs audition steps until none is left or one fails."""

    lifecycle: Lifecycle
    economy: Economy
    prop: PropLedger
    trading: TradingDesk
    clones: CloneService
    market_clock: Clock

    def advance(self, audition_id: UUID) -> Audition:
        """Perform the audition's pending steps in order; return it as it then stands."""
        audition = self.lifecycle.audition(audition_id)
        for _ in range(len(Step) + 1):
            step = audition.step
            if step is None:
                break
            try:
                self._perform(audition, step)
            except Exception as exc:  # recorded on the audition, never lost
                self._failed(audition, step, exc)
                audition = self.lifecycle.audition(audition_id)
                if audition.state is not AuditionState.ABANDONED:
                    return audition  # tried again on a later pass
                continue  # abandoned: give the attempt back now
            audition = self.lifecycle.audition(audition_id)
        return audition

    def _perform(self, audition: Audition, step: Step) -> None:
        run = audition.run.number
        match step:
            case Step.ATTEMPT:
                self.clones.require_eligible(audition.clone_id)
                remaining = self.economy.consume_attempt(
                    audition.clone_id, attempt_key(audition.id, run)
                )
                self._record(audition, lambda a: a.take_attempt(run, remaining))
            case Step.ACCOUNT:
                account_id = self._open_account(audition)
                self._record(audition, lambda a: a.open_account(run, account_id))
            case Step.BIND | Step.START:
                self._bind_and_start(audition)
            case Step.CLOSE:
                self._close(audition)
                self._record(audition, lambda a: a.close_run(run))
            case Step.REFUND:
                refund = self.economy.refund_voided_audition(
                    audition.purchase_id, reason=f"audition_voided: {audition.reason}"
                )
                self._record(audition, lambda a: a.refunded(refund.id))
            case Step.RELEASE:
                remaining = self.economy.release_attempt(
                    audition.clone_id, attempt_key(audition.id, run)
                )
                self._record(audition, lambda a: a.release_attempt(run, remaining))

    def _open_account(self, audition: Audition) -> UUID:
        collateral = audition.rules.starting_collateral * MICROS
        return self.prop.open_account(
            cause=account_cause(audition.id, audition.run.number),
            owner=audition.user_id,
            purpose=Purpose.AUDITION,
            rules=RuleSet(),
            collateral_micros=int(collateral),
        )

    def _bind_and_start(self, audition: Audition) -> None:
        run = audition.run
        if run.account_id is None:
            raise RuntimeError(f"audition={audition.id} run={run.number} has no account")
        account_id = run.account_id
        binding = self.trading.binding(account_id)
        if binding is not None and binding.active:
            starts_at = binding.window.start  # bound by an earlier pass: keep its window
        else:
            starts_at = self.market_clock.now()
        ends_at = audition.rules.deadline_at(starts_at)
        version = self.clones.version(audition.version_id)
        self.trading.bind(
            account_id,
            version,
            audition.version_id,
            purpose="audition",
            starts_at=starts_at,
            ends_at=ends_at,
        )

        def start(a: Audition) -> None:
            if not a.run.bound:
                a.bind(run.number)
            a.start(run.number, starts_at, ends_at)

        try:
            self._record(audition, start)
        except AuditionError:
            # Voided (and closed) while this pass was binding: the binding must not outlive it.
            self.trading.unbind(account_id, reason="audition ended while starting")
            raise

    def _close(self, audition: Audition) -> None:
        account_id = audition.run.account_id
        if account_id is None:
            return
        binding = self.trading.binding(account_id)
        if binding is not None and binding.active:
            self.trading.unbind(account_id, reason=f"audition {audition.state.value}")
        if audition.state is not AuditionState.PASSED:
            account = self.prop.account(account_id)
            if any(p["size"] != 0 for p in account.positions.values()):
                self.prop.close_all(account_id, admin=LIFECYCLE_ADMIN)

    def _record(self, audition: Audition, decide: Callable[[Audition], object]) -> None:
        self.lifecycle.change(audition.id, decide)

    def _failed(self, audition: Audition, step: Step, exc: Exception) -> None:
        error = f"{type(exc).__name__}: {exc}"
        final = isinstance(exc, FINAL)
        log.warning("audition_step_failed", audition=str(audition.id), step=step, error=error)
        run = audition.run.number

        def record(a: Audition) -> None:
            if a.run.number == run and a.step is step:
                a.fail_step(run, step, error, final=final)

        self.lifecycle.change(audition.id, record)
