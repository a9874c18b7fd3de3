"""The trading module's application: the bind/unbind API other modules call.

Auditions, the Arena and races bind the prop accounts they open to a pinned clone version
for a market-time window; the trading worker then drives exactly the bound accounts. Every
method is idempotent so a process step that is retried after a crash does nothing twice.
Events are stamped with the market clock (trading time, not service time).
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from domain.application import ClashApplication
from domain.trading.binding import (
    AccountBinding,
    VersionSchedule,
    Window,
    binding_id_for,
    schedule_id_for,
)
from domain.trading.errors import BadWindow, BindingConflict, NotBound, VersionAlreadyTrading
from domain.trading.spec import StrategySpec


class PublishedVersion(Protocol):
    """What trading reads of a published clone version."""

    @property
    def clone_id(self) -> UUID:
        """The clone the version belongs to."""
        ...

    @property
    def owner(self) -> str:
        """The user who owns the clone (whose model calls a tick's are)."""
        ...

    @property
    def content_hash(self) -> str:
        """The compiled spec's hash."""
        ...

    @property
    def spec(self) -> StrategySpec:
        """The compiled strategy."""
        ...


class VersionCatalog(Protocol):
    """Where published versions come from (the clones module)."""

    def version(self, version_id: UUID) -> PublishedVersion:
        """The version, or raise the clones module's not-found error."""
        ...


class TradingDesk(ClashApplication):
    """Account bindings (the decisions themselves are rows, see ``adapters.decision_store``)."""

    name = "trading"

    def bind(
        self,
        account_id: UUID,
        version: PublishedVersion,
        version_id: UUID,
        *,
        purpose: str,
        starts_at: datetime,
        ends_at: datetime | None = None,
        allow_concurrent: bool = False,
    ) -> AccountBinding:
        """Bind ``account_id`` to ``version_id`` for ``[starts_at, ends_at)`` (idempotent)."""
        window = Window(starts_at, ends_at)
        if ends_at is not None and ends_at <= starts_at:
            raise BadWindow(f"window={window.to_document()} ends before it starts")

        def command() -> AccountBinding:
            binding = self._binding(account_id) or AccountBinding.register(account_id)
            if binding.active:
                same = binding.version_id == version_id and binding.window == window
                same = same and binding.terms["allow_concurrent"] == allow_concurrent
                if same and binding.terms["purpose"] == purpose:
                    return binding
                raise BindingConflict(f"account={account_id} is bound to {binding.version_id}")
            schedule = self._schedule(version_id) or VersionSchedule.start(version_id)
            clashes = [] if allow_concurrent else schedule.conflicts(account_id, window)
            if clashes:
                raise VersionAlreadyTrading(f"version={version_id} trades accounts={clashes}")
            binding.trigger_event(
                AccountBinding.Bound,
                version_id=version_id,
                clone_id=version.clone_id,
                content_hash=version.content_hash,
                purpose=purpose,
                window=window.to_document(),
                allow_concurrent=allow_concurrent,
            )
            schedule.trigger_event(
                VersionSchedule.Claimed,
                account_id=account_id,
                window=window.to_document(),
                allow_concurrent=allow_concurrent,
            )
            self.save(binding, schedule)
            return binding

        return self.run_command(command)

    def pause(self, account_id: UUID, *, start: datetime, end: datetime, reason: str) -> None:
        """Stop the account trading in ``[start, end)`` (a race pauses the Arena binding)."""
        if end <= start:
            raise BadWindow(f"pause [{start}, {end}) ends before it starts")
        window = Window(start, end)

        def command() -> None:
            binding = self._binding(account_id)
            if binding is None or not binding.active:
                raise NotBound(f"account={account_id}")
            if window in binding.paused_windows():
                return
            schedule = self._schedule(binding.version_id) or VersionSchedule.start(
                binding.version_id
            )
            binding.trigger_event(AccountBinding.Paused, window=window.to_document(), reason=reason)
            schedule.trigger_event(
                VersionSchedule.Yielded, account_id=account_id, window=window.to_document()
            )
            self.save(binding, schedule)

        self.run_command(command)

    def resume(self, account_id: UUID, *, start: datetime, end: datetime, reason: str) -> bool:
        """Lift the pause ``[start, end)`` (a cancelled race); False when there was none.

        Call it after the account that traded in the pause was unbound: the version's claim
        on the window comes back to this account.
        """
        window = Window(start, end)

        def command() -> bool:
            binding = self._binding(account_id)
            if binding is None or window not in binding.paused_windows():
                return False
            schedule = self._schedule(binding.version_id)
            document = window.to_document()
            binding.trigger_event(AccountBinding.Resumed, window=document, reason=reason)
            if schedule is not None and str(account_id) in schedule.claims:
                schedule.trigger_event(
                    VersionSchedule.Reclaimed, account_id=account_id, window=document
                )
                self.save(binding, schedule)
            else:
                self.save(binding)
            return True

        return self.run_command(command)

    def unbind(self, account_id: UUID, *, reason: str) -> bool:
        """End the account's binding; False when it was not bound (idempotent)."""

        def command() -> bool:
            binding = self._binding(account_id)
            if binding is None or not binding.active:
                return False
            schedule = self._schedule(binding.version_id)
            binding.trigger_event(AccountBinding.Unbound, reason=reason)
            if schedule is not None and str(account_id) in schedule.claims:
                schedule.trigger_event(VersionSchedule.Released, account_id=account_id)
                self.save(binding, schedule)
            else:
                self.save(binding)
            return True

        return self.run_command(command)

    def binding(self, account_id: UUID) -> AccountBinding | None:
        """The account's binding aggregate, if it was ever bound."""
        return self._binding(account_id)

    def _binding(self, account_id: UUID) -> AccountBinding | None:
        try:
            found: AccountBinding = self.repository.get(binding_id_for(account_id))
        except AggregateNotFoundError:
            return None
        return found

    def _schedule(self, version_id: UUID) -> VersionSchedule | None:
        try:
            found: VersionSchedule = self.repository.get(schedule_id_for(version_id))
        except AggregateNotFoundError:
            return None
        return found
