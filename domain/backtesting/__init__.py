"""The backtesting module: replays of compiled strategies on isolated stores, and their metrics."""
