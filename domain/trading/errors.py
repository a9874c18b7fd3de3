"""Errors of the trading module, each with a stable ``reason`` the API maps to a problem type."""

from __future__ import annotations


class TradingError(Exception):
    """Root of the trading module's errors."""

    reason = "trading_error"


class BindingConflict(TradingError):
    """The account is already bound on other terms (unbind it first)."""

    reason = "binding_conflict"


class VersionAlreadyTrading(TradingError):
    """The version already trades another account in an overlapping window."""

    reason = "version_already_trading"


class BadWindow(TradingError):
    """A binding or pause window that ends before it starts."""

    reason = "bad_window"


class NotBound(TradingError):
    """The account has no active binding."""

    reason = "not_bound"


class BadUsageRange(TradingError):
    """Raised when a model-usage report's days are reversed or span too long."""

    reason = "bad_usage_range"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class BudgetExhausted(TradingError):
    """Raised when a daily model budget is spent and a model call would exceed it."""

    reason = "budget_exhausted"
