"""The audition aggregate's process steps and the Lifecycle application, in memory.

Worked example: an audition is submitted (run 1, next step ``attempt``); Economy spends an
attempt, the prop ledger opens an account, Trading binds it and the window opens (``running``,
no step). A verdict ends the run and asks for ``close``; a void then asks for ``refund``; an
abandoned run holding an attempt asks for ``release``. A failed or abandoned audition with
nothing left to drive may be retried: a new run, the old one kept as it ended.

Aggregates here are built under a simulated market clock bound for each test; the Lifecycle
application binds its own clock around each command.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid5

import pytest

from domain.aggregates import clock_in_use
from domain.clock import SimulatedClock
from domain.lifecycle.application import Lifecycle
from domain.lifecycle.audition import (
    Audition,
    AuditionConflict,
    AuditionNotFound,
    AuditionState,
    Run,
    Step,
    StepOutOfOrder,
    account_cause,
    attempt_key,
)
from domain.lifecycle.audition_rules import (
    DEFAULT_AUDITION_RULES,
    AuditionError,
    AuditionRuleBook,
    UnknownAuditionTier,
)

T0 = datetime(2025, 3, 3, 8, tzinfo=UTC)
ENDS_AT = T0 + timedelta(days=30)
VERDICT_AT = T0 + timedelta(days=6)
NS = UUID("0b7e4c1a-6f2d-4e35-9a8b-1c2d3e4f5a6b")
AUDITION_ID = uuid5(NS, "audition")
CLONE_ID = uuid5(NS, "clone")
VERSION_ID = uuid5(NS, "version")
PURCHASE_ID = uuid5(NS, "purchase")
ACCOUNT_ID = uuid5(NS, "account-run-1")
REFUND_ID = uuid5(NS, "refund")
OWNER = "user-1"
INTRUDER = "user-2"
TIER = "builder"
METRICS: dict[str, Any] = {"score": "3.2", "trading_days": 4, "best_day_share": None}


@pytest.fixture(autouse=True)
def market_clock() -> Iterator[SimulatedClock]:
    clock = SimulatedClock(T0)
    with clock_in_use(clock):
        yield clock


# --- builders: one audition per stage of its process ------------------------------------


def submitted() -> Audition:
    return Audition.submit(
        AUDITION_ID,
        user_id=OWNER,
        clone_id=CLONE_ID,
        version_id=VERSION_ID,
        purchase_id=PURCHASE_ID,
        tier=TIER,
        rules=DEFAULT_AUDITION_RULES[TIER],
    )


def attempt_taken() -> Audition:
    audition = submitted()
    audition.take_attempt(1, remaining=1)
    return audition


def account_opened() -> Audition:
    audition = attempt_taken()
    audition.open_account(1, ACCOUNT_ID)
    return audition


def bound() -> Audition:
    audition = account_opened()
    audition.bind(1)
    return audition


def running() -> Audition:
    audition = bound()
    audition.start(1, T0, ENDS_AT)
    return audition


def failed() -> Audition:
    audition = running()
    audition.fail_run(1, VERDICT_AT, "max_loss", "22499.999999", "22500.000000")
    return audition


def failed_closed() -> Audition:
    audition = failed()
    audition.close_run(1)
    return audition


def passed() -> Audition:
    audition = running()
    audition.pass_run(1, VERDICT_AT, METRICS)
    return audition


def passed_closed() -> Audition:
    audition = passed()
    audition.close_run(1)
    return audition


def abandoned_holding_attempt() -> Audition:
    audition = attempt_taken()
    audition.fail_step(1, Step.ACCOUNT, "prop ledger down", final=True)
    return audition


def abandoned_released() -> Audition:
    audition = abandoned_holding_attempt()
    audition.release_attempt(1, remaining=2)
    return audition


def abandoned_before_attempt() -> Audition:
    audition = submitted()
    audition.fail_step(1, Step.ATTEMPT, "NoAttemptsLeft", final=True)
    return audition


def voided_running() -> Audition:
    audition = running()
    audition.void("unhealthy market data", "system:lifecycle")
    return audition


def voided_closed() -> Audition:
    audition = voided_running()
    audition.close_run(1)
    return audition


def refunded() -> Audition:
    audition = voided_closed()
    audition.refunded(REFUND_ID)
    return audition


def voided_before_account() -> Audition:
    audition = attempt_taken()
    audition.void("admin void", "admin:7")
    return audition


def retried() -> Audition:
    audition = failed_closed()
    audition.retry(OWNER)
    return audition


STAGES: dict[str, tuple[Callable[[], Audition], Step | None]] = {
    "submitted": (submitted, Step.ATTEMPT),
    "attempt_taken": (attempt_taken, Step.ACCOUNT),
    "account_opened": (account_opened, Step.BIND),
    "bound": (bound, Step.START),
    "running": (running, None),
    "failed": (failed, Step.CLOSE),
    "failed_closed": (failed_closed, None),
    "passed": (passed, Step.CLOSE),
    "passed_closed": (passed_closed, None),
    "abandoned_holding_attempt": (abandoned_holding_attempt, Step.RELEASE),
    "abandoned_released": (abandoned_released, None),
    "abandoned_before_attempt": (abandoned_before_attempt, None),
    "voided_running": (voided_running, Step.CLOSE),
    "voided_closed": (voided_closed, Step.REFUND),
    "refunded": (refunded, None),
    "voided_before_account": (voided_before_account, Step.REFUND),
    "retried": (retried, Step.ATTEMPT),
}

# Each step's command, on the run given (``refunded`` names no run).
STEP_COMMANDS: dict[Step, Callable[[Audition, int], None]] = {
    Step.ATTEMPT: lambda a, run: a.take_attempt(run, remaining=0),
    Step.ACCOUNT: lambda a, run: a.open_account(run, ACCOUNT_ID),
    Step.BIND: lambda a, run: a.bind(run),
    Step.START: lambda a, run: a.start(run, T0, ENDS_AT),
    Step.CLOSE: lambda a, run: a.close_run(run),
    Step.REFUND: lambda a, run: a.refunded(REFUND_ID),
    Step.RELEASE: lambda a, run: a.release_attempt(run, remaining=1),
}

OUT_OF_ORDER = [
    pytest.param(stage, step, id=f"{stage}-{step.value}")
    for stage, (_build, expected) in STAGES.items()
    for step in Step
    if step is not expected
]
WRONG_RUN = [
    pytest.param(stage, id=stage)
    for stage, (_build, expected) in STAGES.items()
    if expected not in (None, Step.REFUND)
]


def event_names(audition: Audition) -> list[str]:
    return [type(event).__name__ for event in audition.collect_events()]


def fingerprint(audition: Audition) -> tuple[int, int]:
    return audition.version, len(audition.pending_events)


# --- the step machine -------------------------------------------------------------------


def test_submit_freezes_the_tiers_rules_and_starts_run_one_at_the_attempt_step() -> None:
    # Act
    audition = submitted()

    # Assert
    assert audition.id == AUDITION_ID
    assert (audition.user_id, audition.clone_id, audition.version_id) == (
        OWNER,
        CLONE_ID,
        VERSION_ID,
    )
    assert (audition.purchase_id, audition.tier) == (PURCHASE_ID, TIER)
    assert audition.rules == DEFAULT_AUDITION_RULES[TIER]
    assert audition.state is AuditionState.STARTING
    assert audition.runs == [Run(1)]
    assert audition.step is Step.ATTEMPT
    assert audition.created_on == T0
    assert event_names(audition) == ["Submitted"]


def test_a_whole_run_walks_attempt_account_bind_start_then_close_after_the_verdict() -> None:
    # Arrange
    audition = submitted()
    seen = [audition.step]

    # Act
    audition.take_attempt(1, remaining=1)
    seen.append(audition.step)
    audition.open_account(1, ACCOUNT_ID)
    seen.append(audition.step)
    audition.bind(1)
    seen.append(audition.step)
    audition.start(1, T0, ENDS_AT)
    seen.append(audition.step)
    state_while_running = audition.state
    audition.fail_run(1, VERDICT_AT, "daily_loss", "23749.5", "23750.000000")
    seen.append(audition.step)
    audition.close_run(1)
    seen.append(audition.step)

    # Assert
    assert seen == [Step.ATTEMPT, Step.ACCOUNT, Step.BIND, Step.START, None, Step.CLOSE, None]
    assert state_while_running is AuditionState.RUNNING
    assert audition.state is AuditionState.FAILED
    assert audition.run == Run(
        number=1,
        attempt_taken=True,
        account_id=ACCOUNT_ID,
        bound=True,
        started_at=T0,
        ends_at=ENDS_AT,
        outcome={
            "status": "failed",
            "at": VERDICT_AT.isoformat(),
            "rule": "daily_loss",
            "equity": "23749.5",
            "limit": "23750.000000",
        },
        closed=True,
    )
    assert event_names(audition) == [
        "Submitted",
        "AttemptTaken",
        "AccountOpened",
        "AccountBound",
        "RunStarted",
        "AuditionFailed",
        "RunClosed",
    ]


@pytest.mark.parametrize("stage", STAGES)
def test_step_names_the_next_step_of_each_stage(stage: str) -> None:
    # Arrange
    build, expected = STAGES[stage]

    # Act
    audition = build()

    # Assert
    assert audition.step is expected


@pytest.mark.parametrize(("stage", "step"), OUT_OF_ORDER)
def test_a_step_out_of_order_raises_and_records_nothing(stage: str, step: Step) -> None:
    # Arrange
    audition = STAGES[stage][0]()
    before = fingerprint(audition)
    step_before = audition.step

    # Act
    with pytest.raises(StepOutOfOrder) as raised:
        STEP_COMMANDS[step](audition, audition.run.number)

    # Assert
    assert raised.value.reason == "audition_step_out_of_order"
    assert fingerprint(audition) == before
    assert audition.step is step_before


@pytest.mark.parametrize("stage", WRONG_RUN)
def test_the_expected_step_for_another_run_raises_and_records_nothing(stage: str) -> None:
    # Arrange
    build, expected = STAGES[stage]
    audition = build()
    assert expected is not None
    before = fingerprint(audition)

    # Act / Assert
    for other_run in (audition.run.number - 1, audition.run.number + 1):
        with pytest.raises(StepOutOfOrder):
            STEP_COMMANDS[expected](audition, other_run)
    assert fingerprint(audition) == before


def test_a_retried_audition_refuses_steps_for_its_old_run() -> None:
    # Arrange
    audition = retried()
    before = fingerprint(audition)

    # Act / Assert
    with pytest.raises(StepOutOfOrder):
        audition.take_attempt(1, remaining=0)
    assert fingerprint(audition) == before
    audition.take_attempt(2, remaining=0)
    assert audition.step is Step.ACCOUNT


@pytest.mark.parametrize(("stage", "step"), OUT_OF_ORDER)
def test_fail_step_for_a_step_that_is_not_next_raises_and_records_nothing(
    stage: str, step: Step
) -> None:
    # Arrange
    audition = STAGES[stage][0]()
    before = fingerprint(audition)

    # Act
    with pytest.raises(StepOutOfOrder):
        audition.fail_step(audition.run.number, step, "boom")

    # Assert
    assert fingerprint(audition) == before


def test_fail_step_for_another_run_raises_and_records_nothing() -> None:
    # Arrange
    audition = attempt_taken()
    before = fingerprint(audition)

    # Act
    with pytest.raises(StepOutOfOrder):
        audition.fail_step(2, Step.ACCOUNT, "boom")

    # Assert
    assert fingerprint(audition) == before


def test_the_errors_are_audition_errors_with_stable_reasons() -> None:
    assert issubclass(StepOutOfOrder, AuditionError)
    assert issubclass(AuditionConflict, AuditionError)
    assert StepOutOfOrder.reason == "audition_step_out_of_order"
    assert AuditionConflict.reason == "audition_conflict"
    assert AuditionNotFound.reason == "audition_not_found"


def test_attempt_keys_and_account_causes_differ_per_run() -> None:
    assert attempt_key(AUDITION_ID, 1) == f"{AUDITION_ID}#run-1"
    assert attempt_key(AUDITION_ID, 2) == f"{AUDITION_ID}#run-2"
    assert account_cause(AUDITION_ID, 1) != account_cause(AUDITION_ID, 2)


# --- failed steps -----------------------------------------------------------------------


def test_four_failures_in_a_row_are_counted_and_the_audition_keeps_starting() -> None:
    # Arrange
    audition = attempt_taken()

    # Act
    for attempt in range(1, 5):
        audition.fail_step(1, Step.ACCOUNT, f"timeout {attempt}")

    # Assert
    assert audition.state is AuditionState.STARTING
    assert audition.failures == 4
    assert audition.last_error == "account: timeout 4"
    assert audition.step is Step.ACCOUNT
    assert event_names(audition)[-4:] == ["StepFailed"] * 4


def test_the_fifth_failure_in_a_row_abandons_the_audition() -> None:
    # Arrange
    audition = attempt_taken()
    for attempt in range(1, 5):
        audition.fail_step(1, Step.ACCOUNT, f"timeout {attempt}")
    audition.collect_events()

    # Act
    audition.fail_step(1, Step.ACCOUNT, "timeout 5")

    # Assert
    events = audition.collect_events()
    assert [type(e).__name__ for e in events] == ["StepFailed", "Abandoned"]
    assert events[0].failures == 5  # type: ignore[attr-defined]
    assert audition.state is AuditionState.ABANDONED
    assert audition.reason == "account: timeout 5"
    assert audition.step is Step.RELEASE


def test_a_successful_step_resets_the_count_of_failures_in_a_row() -> None:
    # Arrange
    audition = submitted()
    for _ in range(4):
        audition.fail_step(1, Step.ATTEMPT, "economy down")

    # Act
    audition.take_attempt(1, remaining=1)
    for _ in range(4):
        audition.fail_step(1, Step.ACCOUNT, "prop down")
    still_starting = audition.state
    audition.fail_step(1, Step.ACCOUNT, "prop down")

    # Assert
    assert still_starting is AuditionState.STARTING
    assert audition.state is AuditionState.ABANDONED


@pytest.mark.parametrize(
    ("stage", "step"),
    [
        ("submitted", Step.ATTEMPT),
        ("attempt_taken", Step.ACCOUNT),
        ("account_opened", Step.BIND),
        ("bound", Step.START),
    ],
)
def test_each_successful_starting_step_clears_the_failures(stage: str, step: Step) -> None:
    # Arrange
    audition = STAGES[stage][0]()
    for _ in range(4):
        audition.fail_step(1, step, "flaky")

    # Act
    STEP_COMMANDS[step](audition, 1)

    # Assert
    assert (audition.failures, audition.last_error) == (0, None)


def test_a_final_failure_abandons_at_once() -> None:
    # Arrange
    audition = account_opened()

    # Act
    audition.fail_step(1, Step.BIND, "VersionAlreadyTrading", final=True)

    # Assert
    assert audition.failures == 1
    assert audition.state is AuditionState.ABANDONED
    assert audition.reason == "bind: VersionAlreadyTrading"
    assert audition.step is Step.RELEASE
    assert event_names(audition)[-2:] == ["StepFailed", "Abandoned"]


def test_abandoned_before_the_attempt_was_taken_leaves_nothing_to_release() -> None:
    # Act
    audition = abandoned_before_attempt()

    # Assert
    assert audition.state is AuditionState.ABANDONED
    assert audition.run.attempt_taken is False
    assert audition.step is None


def test_failures_after_the_start_never_abandon_even_when_final() -> None:
    # Arrange
    audition = failed()

    # Act
    for _ in range(6):
        audition.fail_step(1, Step.CLOSE, "trading unreachable")
    audition.fail_step(1, Step.CLOSE, "trading unreachable", final=True)

    # Assert
    assert audition.failures == 7
    assert audition.state is AuditionState.FAILED
    assert audition.step is Step.CLOSE
    assert "Abandoned" not in event_names(audition)


def test_a_failed_steps_error_is_kept_to_500_characters() -> None:
    # Arrange
    audition = submitted()

    # Act
    audition.fail_step(1, Step.ATTEMPT, "x" * 2_000)

    # Assert
    assert audition.last_error == "attempt: " + "x" * 500


# --- release after abandon --------------------------------------------------------------


def test_release_after_abandon_gives_the_attempt_back_and_ends_the_process() -> None:
    # Arrange
    audition = abandoned_holding_attempt()

    # Act
    audition.release_attempt(1, remaining=2)

    # Assert
    assert audition.run.attempt_released is True
    assert audition.state is AuditionState.ABANDONED
    assert audition.step is None
    assert event_names(audition)[-1] == "AttemptReleased"


def test_release_twice_raises_and_records_nothing() -> None:
    # Arrange
    audition = abandoned_released()
    before = fingerprint(audition)

    # Act
    with pytest.raises(StepOutOfOrder):
        audition.release_attempt(1, remaining=2)

    # Assert
    assert fingerprint(audition) == before


# --- verdicts ---------------------------------------------------------------------------


def test_pass_run_records_the_outcome_and_the_metrics_then_asks_to_close() -> None:
    # Act
    audition = passed()

    # Assert
    assert audition.state is AuditionState.PASSED
    assert audition.metrics == METRICS
    assert audition.run.outcome == {"status": "passed", "at": VERDICT_AT.isoformat()}
    assert audition.step is Step.CLOSE


@pytest.mark.parametrize("stage", ["submitted", "bound", "failed", "passed", "voided_running"])
@pytest.mark.parametrize("verdict", ["pass", "fail"])
def test_a_verdict_on_a_run_that_is_not_running_is_a_conflict(stage: str, verdict: str) -> None:
    # Arrange
    audition = STAGES[stage][0]()
    before = fingerprint(audition)

    # Act
    with pytest.raises(AuditionConflict):
        if verdict == "pass":
            audition.pass_run(1, VERDICT_AT, METRICS)
        else:
            audition.fail_run(1, VERDICT_AT, "deadline", "25000", None)

    # Assert
    assert fingerprint(audition) == before


def test_a_verdict_for_another_run_is_a_conflict() -> None:
    # Arrange
    audition = running()
    before = fingerprint(audition)

    # Act / Assert
    with pytest.raises(AuditionConflict):
        audition.pass_run(2, VERDICT_AT, METRICS)
    with pytest.raises(AuditionConflict):
        audition.fail_run(2, VERDICT_AT, "deadline", "25000", None)
    assert fingerprint(audition) == before


# --- void, close, refund ----------------------------------------------------------------


def test_a_voided_run_is_closed_then_refunded() -> None:
    # Arrange
    audition = running()

    # Act
    audition.void("unhealthy market data", "system:lifecycle")
    after_void = audition.step
    audition.close_run(1)
    after_close = audition.step
    audition.refunded(REFUND_ID)

    # Assert
    assert (after_void, after_close, audition.step) == (Step.CLOSE, Step.REFUND, None)
    assert audition.state is AuditionState.VOIDED
    assert audition.reason == "unhealthy market data"
    assert audition.run.outcome == {"status": "voided", "reason": "unhealthy market data"}
    assert audition.refund_id == REFUND_ID
    assert event_names(audition)[-3:] == ["AuditionVoided", "RunClosed", "Refunded"]


def test_a_void_before_any_account_goes_straight_to_the_refund() -> None:
    # Act
    audition = voided_before_account()

    # Assert
    assert audition.run.account_id is None
    assert audition.step is Step.REFUND


def test_a_refund_before_the_voided_run_is_closed_raises() -> None:
    # Arrange
    audition = voided_running()
    before = fingerprint(audition)

    # Act
    with pytest.raises(StepOutOfOrder):
        audition.refunded(REFUND_ID)

    # Assert
    assert fingerprint(audition) == before
    assert audition.refund_id is None


@pytest.mark.parametrize("stage", ["passed", "passed_closed", "voided_running", "refunded"])
def test_void_after_a_pass_or_a_void_is_a_conflict(stage: str) -> None:
    # Arrange
    audition = STAGES[stage][0]()
    before = fingerprint(audition)
    state = audition.state

    # Act
    with pytest.raises(AuditionConflict) as raised:
        audition.void("again", "admin:7")

    # Assert
    assert raised.value.reason == "audition_conflict"
    assert fingerprint(audition) == before
    assert audition.state is state


# --- retry ------------------------------------------------------------------------------


def test_retry_after_a_closed_failure_starts_a_new_run_and_keeps_the_old_one() -> None:
    # Arrange
    audition = failed()
    audition.fail_step(1, Step.CLOSE, "trading unreachable")
    audition.fail_step(1, Step.CLOSE, "trading unreachable")
    audition.close_run(1)
    failures_before = (audition.failures, audition.last_error)
    old_run = audition.run
    audition.collect_events()

    # Act
    number = audition.retry(OWNER)

    # Assert
    assert failures_before == (2, "close: trading unreachable")
    assert number == 2
    assert len(audition.runs) == 2
    assert audition.runs[0] is old_run
    assert audition.runs[0].outcome is not None
    assert audition.runs[0].outcome["status"] == "failed"
    assert audition.runs[0].closed is True
    assert audition.run == Run(2)
    assert audition.state is AuditionState.STARTING
    assert audition.step is Step.ATTEMPT
    assert (audition.failures, audition.last_error) == (0, None)
    events = audition.collect_events()
    assert [type(e).__name__ for e in events] == ["RetryRequested"]
    assert events[0].requested_by == OWNER  # type: ignore[attr-defined]


def test_retry_after_a_released_abandon_starts_a_new_run_and_clears_the_failures() -> None:
    # Arrange
    audition = abandoned_released()

    # Act
    number = audition.retry(OWNER)

    # Assert
    assert number == 2
    assert audition.runs[0].attempt_released is True
    assert audition.run == Run(2)
    assert (audition.state, audition.step) == (AuditionState.STARTING, Step.ATTEMPT)
    assert (audition.failures, audition.last_error) == (0, None)


def test_each_retry_numbers_its_run_after_the_last() -> None:
    # Arrange
    audition = retried()
    audition.take_attempt(2, remaining=0)
    audition.fail_step(2, Step.ACCOUNT, "gone", final=True)
    audition.release_attempt(2, remaining=1)

    # Act
    number = audition.retry(OWNER)

    # Assert
    assert number == 3
    assert [run.number for run in audition.runs] == [1, 2, 3]


@pytest.mark.parametrize(
    "stage",
    [
        "submitted",
        "running",
        "failed",
        "passed",
        "passed_closed",
        "abandoned_holding_attempt",
        "voided_running",
        "voided_closed",
        "refunded",
        "retried",
    ],
)
def test_retry_is_a_conflict_unless_failed_or_abandoned_with_nothing_left(stage: str) -> None:
    # Arrange
    audition = STAGES[stage][0]()
    before = fingerprint(audition)
    runs = list(audition.runs)

    # Act
    with pytest.raises(AuditionConflict):
        audition.retry(OWNER)

    # Assert
    assert fingerprint(audition) == before
    assert audition.runs == runs


# --- replay -----------------------------------------------------------------------------


@pytest.mark.parametrize("stage", STAGES)
def test_an_audition_reloaded_from_its_events_has_the_same_state(stage: str) -> None:
    # Arrange
    audition = STAGES[stage][0]()
    lifecycle = Lifecycle(clock=SimulatedClock(T0), rule_book=AuditionRuleBook())
    lifecycle.save(audition)

    # Act
    reloaded = lifecycle.repository.get(AUDITION_ID)

    # Assert
    assert isinstance(reloaded, Audition)
    assert vars(reloaded) == vars(audition)
    assert reloaded.step is audition.step
    assert reloaded.rules == audition.rules


# --- the Lifecycle application ----------------------------------------------------------

LIFECYCLE_AT = T0 + timedelta(hours=1)


@pytest.fixture
def lifecycle() -> Lifecycle:
    return Lifecycle(clock=SimulatedClock(LIFECYCLE_AT), rule_book=AuditionRuleBook())


def submit(
    lifecycle: Lifecycle, *, user_id: str = OWNER, tier: str = TIER
) -> tuple[Audition, bool]:
    return lifecycle.submit(
        AUDITION_ID,
        user_id=user_id,
        clone_id=CLONE_ID,
        version_id=VERSION_ID,
        purchase_id=PURCHASE_ID,
        tier=tier,
    )


def start_run_one(audition: Audition) -> None:
    audition.take_attempt(1, remaining=1)
    audition.open_account(1, ACCOUNT_ID)
    audition.bind(1)
    audition.start(1, T0, ENDS_AT)


def test_lifecycle_submit_records_once_and_answers_a_repeat_with_the_first() -> None:
    # Arrange
    lifecycle = Lifecycle(clock=SimulatedClock(LIFECYCLE_AT), rule_book=AuditionRuleBook())

    # Act
    first, created = submit(lifecycle)
    again, created_again = submit(lifecycle, user_id=INTRUDER, tier="pro")

    # Assert
    assert (created, created_again) == (True, False)
    assert again.id == first.id == AUDITION_ID
    assert again.version == 1
    assert (again.user_id, again.tier) == (OWNER, TIER)
    assert again.rules == AuditionRuleBook().get(TIER)
    stored = lifecycle.audition(AUDITION_ID)
    assert stored.version == 1
    assert stored.created_on == LIFECYCLE_AT


def test_lifecycle_submit_for_an_unknown_tier_records_nothing(lifecycle: Lifecycle) -> None:
    # Act
    with pytest.raises(UnknownAuditionTier):
        submit(lifecycle, tier="platinum")

    # Assert
    assert lifecycle.find(AUDITION_ID) is None


def test_lifecycle_audition_answers_its_owner_and_anyone_without_a_user(
    lifecycle: Lifecycle,
) -> None:
    # Arrange
    submit(lifecycle)

    # Act
    mine = lifecycle.audition(AUDITION_ID, OWNER)
    unscoped = lifecycle.audition(AUDITION_ID)

    # Assert
    assert mine.id == unscoped.id == AUDITION_ID


def test_lifecycle_audition_of_another_user_is_not_found(lifecycle: Lifecycle) -> None:
    # Arrange
    submit(lifecycle)

    # Act
    with pytest.raises(AuditionNotFound) as raised:
        lifecycle.audition(AUDITION_ID, INTRUDER)

    # Assert
    assert raised.value.reason == "audition_not_found"


def test_lifecycle_audition_of_an_unknown_id_is_not_found(lifecycle: Lifecycle) -> None:
    with pytest.raises(AuditionNotFound):
        lifecycle.audition(uuid5(NS, "nobody"), OWNER)


def test_lifecycle_change_saves_what_the_decision_triggered(lifecycle: Lifecycle) -> None:
    # Arrange
    submit(lifecycle)

    # Act
    lifecycle.change(AUDITION_ID, start_run_one)

    # Assert
    stored = lifecycle.audition(AUDITION_ID)
    assert stored.state is AuditionState.RUNNING
    assert stored.version == 5
    assert stored.modified_on == LIFECYCLE_AT


def test_lifecycle_record_outcome_passed_records_the_metrics(lifecycle: Lifecycle) -> None:
    # Arrange
    submit(lifecycle)
    lifecycle.change(AUDITION_ID, start_run_one)

    # Act
    lifecycle.record_outcome(AUDITION_ID, 1, passed=True, at=VERDICT_AT, metrics=METRICS)

    # Assert
    stored = lifecycle.audition(AUDITION_ID)
    assert stored.state is AuditionState.PASSED
    assert stored.metrics == METRICS
    assert stored.run.outcome == {"status": "passed", "at": VERDICT_AT.isoformat()}
    assert stored.step is Step.CLOSE


def test_lifecycle_record_outcome_failed_records_the_broken_rule(lifecycle: Lifecycle) -> None:
    # Arrange
    submit(lifecycle)
    lifecycle.change(AUDITION_ID, start_run_one)

    # Act
    lifecycle.record_outcome(
        AUDITION_ID,
        1,
        passed=False,
        at=VERDICT_AT,
        rule="max_loss",
        equity="22499.999999",
        limit="22500.000000",
    )

    # Assert
    stored = lifecycle.audition(AUDITION_ID)
    assert stored.state is AuditionState.FAILED
    assert stored.metrics is None
    assert stored.run.outcome == {
        "status": "failed",
        "at": VERDICT_AT.isoformat(),
        "rule": "max_loss",
        "equity": "22499.999999",
        "limit": "22500.000000",
    }


def test_lifecycle_record_outcome_on_a_starting_audition_is_a_conflict(
    lifecycle: Lifecycle,
) -> None:
    # Arrange
    submit(lifecycle)

    # Act
    with pytest.raises(AuditionConflict):
        lifecycle.record_outcome(AUDITION_ID, 1, passed=True, at=VERDICT_AT, metrics=METRICS)

    # Assert
    stored = lifecycle.audition(AUDITION_ID)
    assert (stored.version, stored.state) == (1, AuditionState.STARTING)


def test_lifecycle_void_saves_the_void(lifecycle: Lifecycle) -> None:
    # Arrange
    submit(lifecycle)

    # Act
    returned = lifecycle.void(AUDITION_ID, reason="admin void", voided_by="admin:7")

    # Assert
    stored = lifecycle.audition(AUDITION_ID)
    assert returned.state is stored.state is AuditionState.VOIDED
    assert stored.step is Step.REFUND


def test_lifecycle_retry_by_its_owner_starts_run_two(lifecycle: Lifecycle) -> None:
    # Arrange
    submit(lifecycle)
    lifecycle.change(AUDITION_ID, start_run_one)
    lifecycle.record_outcome(
        AUDITION_ID, 1, passed=False, at=VERDICT_AT, rule="deadline", equity="25000", limit=None
    )
    lifecycle.change(AUDITION_ID, lambda a: a.close_run(1))

    # Act
    number = lifecycle.retry(AUDITION_ID, OWNER)

    # Assert
    stored = lifecycle.audition(AUDITION_ID)
    assert number == 2
    assert [run.number for run in stored.runs] == [1, 2]
    assert stored.runs[0].closed is True
    assert stored.step is Step.ATTEMPT


def test_lifecycle_retry_by_another_user_is_not_found_and_changes_nothing(
    lifecycle: Lifecycle,
) -> None:
    # Arrange
    submit(lifecycle)
    lifecycle.change(AUDITION_ID, lambda a: a.fail_step(1, Step.ATTEMPT, "none", final=True))
    version = lifecycle.audition(AUDITION_ID).version

    # Act
    with pytest.raises(AuditionNotFound):
        lifecycle.retry(AUDITION_ID, INTRUDER)

    # Assert
    stored = lifecycle.audition(AUDITION_ID)
    assert stored.version == version
    assert len(stored.runs) == 1
