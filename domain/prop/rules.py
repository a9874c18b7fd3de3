"""What a prop account is for and what it may do: purpose and rule set.

The rule set is fixed when the account opens (recorded on ``Opened``), so a later change of
configuration never alters a running audition or race.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any


class Purpose(StrEnum):
    """Why the account exists."""

    SANDBOX = "sandbox"
    AUDITION = "audition"
    ARENA = "arena"
    RACE = "race"


@dataclass(frozen=True)
class RuleSet:
    """Limits an account trades under, on top of each instrument's own."""

    allowed_assets: tuple[str, ...] = ("BTC", "ETH", "SOL")
    max_leverage: int = 10
    max_position_notional_micros: Mapping[str, int] = field(default_factory=dict)
    max_open_positions: int = 3
    slippage_bps: Decimal = Decimal("5")

    def to_document(self) -> dict[str, Any]:
        """The rule set as stored on the ``Opened`` event."""
        return {
            "allowed_assets": list(self.allowed_assets),
            "max_leverage": self.max_leverage,
            "max_position_notional_micros": dict(self.max_position_notional_micros),
            "max_open_positions": self.max_open_positions,
            "slippage_bps": self.slippage_bps,
        }

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> RuleSet:
        """Rebuild from the stored document."""
        return cls(
            allowed_assets=tuple(document["allowed_assets"]),
            max_leverage=int(document["max_leverage"]),
            max_position_notional_micros={
                k: int(v) for k, v in document["max_position_notional_micros"].items()
            },
            max_open_positions=int(document["max_open_positions"]),
            slippage_bps=Decimal(document["slippage_bps"]),
        )
