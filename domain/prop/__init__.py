"""Prop accounts: paper perp accounts on Hyperliquid rules, kept as a double-entry ledger.

This package starts with the pure math the ledger is built on: :mod:`domain.prop.money`
(integer micro-USDC, the rounding rule, postings and the chart of accounts),
:mod:`domain.prop.positions` (netting, fees, funding, fill prices) and
:mod:`domain.prop.margin` (initial and tiered maintenance margin, account value, liquidation
prices); :mod:`domain.prop.perp_math` re-exports the perp side as one import.
"""
