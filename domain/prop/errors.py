"""The ledger's error tree and the stable reason codes of rejected orders.

A rejected order is a business fact (``OrderRejected`` with a reason), not an exception; the
exceptions here are for commands that cannot even be recorded (an unknown account, a client
order id reused with different content, an admin action on a closed account).
"""

from __future__ import annotations

from enum import StrEnum


class RejectReason(StrEnum):
    """Why a safety gate refused an order; stable codes clients may branch on."""

    ACCOUNT_CLOSED = "account_closed"
    ACCOUNT_FROZEN = "account_frozen"
    ASSET_NOT_ALLOWED = "asset_not_allowed"
    SIZE_PRECISION = "size_precision"
    PRICE_PRECISION = "price_precision"
    LEVERAGE_ABOVE_LIMIT = "leverage_above_limit"
    REDUCE_ONLY_WOULD_INCREASE = "reduce_only_would_increase"
    BELOW_MIN_NOTIONAL = "below_min_notional"
    MAX_OPEN_POSITIONS = "max_open_positions"
    POSITION_NOTIONAL_LIMIT = "position_notional_limit"
    INSUFFICIENT_MARGIN = "insufficient_margin"
    NO_MARK = "no_mark"


class LedgerError(Exception):
    """Root of every prop-ledger error."""

    reason = "ledger_error"

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or self.reason)
        self.detail = detail


class AccountNotFound(LedgerError):
    """Raised when an account id names no prop account."""

    reason = "account_not_found"


class OrderConflict(LedgerError):
    """Raised when a client order id is reused with different order content."""

    reason = "client_order_id_conflict"


class AccountNotOpen(LedgerError):
    """Raised when an admin action needs an open account and the account is closed."""

    reason = "account_closed"


class InvalidCommand(LedgerError):
    """Raised when a command's own values are invalid (not a gate: nothing to record)."""

    reason = "invalid_command"
