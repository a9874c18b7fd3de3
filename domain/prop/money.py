"""Money for prop accounts: integer micro-USDC, one rounding rule, and balanced postings.

Units. USDC amounts the ledger stores are integers of micro-USDC (:data:`Micros`, 1 USDC =
1,000,000 micros; ARCHITECTURE.md section 4). The perp math (:mod:`domain.prop.positions`,
:mod:`domain.prop.margin`) works in unquantized ``Decimal`` USDC; an amount becomes micros
exactly once, when it is posted, through :func:`charge_micros` or :func:`credit_micros`
(called by the posting builders below), never earlier and never twice.

Rounding rule: *every amount rounds against the account*. Seen from the account, a signed
amount it receives rounds toward minus infinity (it receives at most the exact value, and
pays at least the exact value of a loss); a signed amount it pays rounds toward plus
infinity (fees and paid funding round up in magnitude, received funding down). One rule,
two spellings, because some amounts are naturally signed as receipts (realized PnL) and
others as charges (fees, funding). Why this rule: the house never posts money it did not
compute, so no sequence of fills, however it is split, can extract sub-micro residue from
the venue; the cost to the account is at most one micro per posting, and the same rule
holds for every kind of movement, so audits can recompute it. Amounts a caller states
(a deposit, an adjustment) must already be whole micros (:func:`exact_micros`).

Postings. Every movement is a set of :class:`Posting` legs whose signed amounts sum to zero
per currency (debits equal credits; :func:`balanced`). Sign convention (as in ledger-cli and
beancount): a positive amount flows *into* the account, a negative one flows *out*; an
account's balance is the sum of its postings, and the sum over all accounts is always zero.

Chart of accounts (``<owner>:<name>``, colon-separated, no whitespace):

- ``prop:<id>:collateral``: the prop account's USDC collateral (cross margin pool);
- ``venue:fees``: trading fees collected by the simulated venue (grows positive);
- ``venue:funding``: counterparty of funding payments (funding is peer-to-peer on the real
  venue; here the venue stands in for the other side);
- ``venue:pnl``: counterparty of realized trading PnL (the simulated market the account
  trades against; its balance is minus the accounts' net realized PnL);
- ``admin:adjustments``: deposits, grants and corrections made by operators.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Context, Decimal, localcontext
from typing import TypeAlias

from domain.market.instruments import Rounding

Micros: TypeAlias = int
"""An amount of integer micro-USDC (1 USDC = 1,000,000)."""

USDC = "USDC"
MICROS_DECIMALS = 6
MICROS_PER_USDC = 10**MICROS_DECIMALS

VENUE_FEES = "venue:fees"
VENUE_FUNDING = "venue:funding"
VENUE_PNL = "venue:pnl"
ADMIN_ADJUSTMENTS = "admin:adjustments"

# Wide enough that converting any realistic amount (and its scaled integer) is exact.
_CONTEXT = Context(prec=60)
_ACCOUNT_NAME = re.compile(r"[a-z]+(:[^:\s]+)+")
_CURRENCY = re.compile(r"[A-Z][A-Z0-9]*")


class PropMathError(ValueError):
    """Root of the prop math errors; ``str`` is the offending ``field=value`` pairs."""

    def __init__(self, **fields: object) -> None:
        super().__init__(" ".join(f"{name}={value!r}" for name, value in fields.items()))
        self.fields = fields


class NotADecimal(PropMathError):
    """Raised when money math is handed a float (or another non-Decimal) instead of a Decimal."""


class NotFinite(PropMathError):
    """Raised when an amount, price or size is NaN or infinite."""


class InexactAmount(PropMathError):
    """Raised when a stated USDC amount has more than six decimals."""


class NotMicros(PropMathError):
    """Raised when a posting amount is not a plain ``int`` of micros (a float or bool)."""


class BadAccountName(PropMathError):
    """Raised when an account name does not follow ``<owner>:<name>[:...]``."""


class BadCurrency(PropMathError):
    """Raised when a currency code is not upper-case letters and digits."""


class UnbalancedPostings(PropMathError):
    """Raised when postings do not sum to zero in some currency."""


def require_decimal(name: str, value: object) -> Decimal:
    """Return ``value`` if it is a finite Decimal; reject floats and the rest by name."""
    if not isinstance(value, Decimal):
        raise NotADecimal(**{name: value})
    if not value.is_finite():
        raise NotFinite(**{name: value})
    return value


def to_micros(amount: Decimal, rounding: Rounding) -> Micros:
    """Convert a USDC amount to micros, rounding toward +inf (UP) or -inf (DOWN)."""
    require_decimal("amount", amount)
    mode = ROUND_CEILING if rounding is Rounding.UP else ROUND_FLOOR
    with localcontext(_CONTEXT):
        return int(amount.scaleb(MICROS_DECIMALS).to_integral_value(rounding=mode))


def charge_micros(amount: Decimal) -> Micros:
    """Convert an amount the account pays (negative: receives) against the account: up."""
    return to_micros(amount, Rounding.UP)


def credit_micros(amount: Decimal) -> Micros:
    """Convert an amount the account receives (negative: pays) against the account: down."""
    return to_micros(amount, Rounding.DOWN)


def exact_micros(amount: Decimal) -> Micros:
    """Convert a stated USDC amount that must already be whole micros."""
    micros = to_micros(amount, Rounding.DOWN)
    if micros_to_decimal(micros) != amount:
        raise InexactAmount(amount=amount)
    return micros


def micros_to_decimal(micros: Micros) -> Decimal:
    """Return the exact USDC value of ``micros`` as a Decimal."""
    with localcontext(_CONTEXT):
        return Decimal(_require_micros(micros)).scaleb(-MICROS_DECIMALS)


def format_micros(micros: Micros) -> str:
    """Format micros as a USDC decimal string with exactly six decimals (``"-0.000001"``)."""
    whole, fraction = divmod(abs(_require_micros(micros)), MICROS_PER_USDC)
    sign = "-" if micros < 0 else ""
    return f"{sign}{whole}.{fraction:0{MICROS_DECIMALS}d}"


def collateral_account(prop_id: str) -> str:
    """Name the collateral account of prop account ``prop_id``."""
    return _require_account(f"prop:{prop_id}:collateral")


@dataclass(frozen=True)
class Posting:
    """One leg of a movement: ``amount_micros`` flows into ``account`` (out if negative)."""

    account: str
    currency: str
    amount_micros: Micros

    def __post_init__(self) -> None:
        _require_account(self.account)
        if not _CURRENCY.fullmatch(self.currency):
            raise BadCurrency(currency=self.currency)
        _require_micros(self.amount_micros)


def balanced(postings: Iterable[Posting]) -> bool:
    """Whether the postings sum to zero in every currency (debits equal credits)."""
    return not any(unbalanced_totals(postings).values())


def unbalanced_totals(postings: Iterable[Posting]) -> dict[str, Micros]:
    """Return each currency's non-zero net sum (empty when the postings balance)."""
    totals: defaultdict[str, Micros] = defaultdict(int)
    for posting in postings:
        totals[posting.currency] += posting.amount_micros
    return {currency: total for currency, total in totals.items() if total}


def require_balanced(postings: Iterable[Posting]) -> tuple[Posting, ...]:
    """Return the postings as a tuple, or raise :class:`UnbalancedPostings`."""
    legs = tuple(postings)
    totals = unbalanced_totals(legs)
    if totals:
        raise UnbalancedPostings(totals=totals)
    return legs


def transfer(
    source: str, destination: str, amount_micros: Micros, currency: str = USDC
) -> tuple[Posting, ...]:
    """Move ``amount_micros`` from ``source`` to ``destination`` (nothing if zero)."""
    if _require_micros(amount_micros) == 0:
        return ()
    return (
        Posting(source, currency, -amount_micros),
        Posting(destination, currency, amount_micros),
    )


def fill_postings(collateral: str, realized_pnl: Decimal, fee: Decimal) -> tuple[Posting, ...]:
    """Post a fill: realized PnL from ``venue:pnl`` and the fee to ``venue:fees``.

    This is where a fill's amounts are quantized: the PnL with :func:`credit_micros`, the fee
    with :func:`charge_micros` (a negative fee, a maker rebate, is then received, rounded down).
    """
    return (
        *transfer(VENUE_PNL, collateral, credit_micros(realized_pnl)),
        *transfer(collateral, VENUE_FEES, charge_micros(fee)),
    )


def funding_postings(collateral: str, payment: Decimal) -> tuple[Posting, ...]:
    """Post a funding payment (positive: the account pays ``venue:funding``), quantized here."""
    return transfer(collateral, VENUE_FUNDING, charge_micros(payment))


def adjustment_postings(collateral: str, amount: Decimal) -> tuple[Posting, ...]:
    """Post an operator deposit (negative: withdrawal) of a stated, whole-micro amount."""
    return transfer(ADMIN_ADJUSTMENTS, collateral, exact_micros(amount))


def _require_micros(value: object) -> Micros:
    # bool is an int subclass; a float is the bug this type exists to stop.
    if type(value) is not int:
        raise NotMicros(amount_micros=value)
    return value


def _require_account(name: str) -> str:
    if not _ACCOUNT_NAME.fullmatch(name):
        raise BadAccountName(account=name)
    return name
