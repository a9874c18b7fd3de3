"""Competition: the Promotion Queue and Arena membership (docs/arena.md)."""
