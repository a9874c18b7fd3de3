"""Market memory: candles, funding, marks, prediction markets, TVL, the asset registry and
the derived feature channels that clones, backtests and mark-to-market read.

No clone owns market data: this module stores it once, stamped with the time each value
became knowable, so no reader can look ahead.
"""
