"""Lifecycle: auditions (rules, evaluation, runs); later races, careers, the Hall of Fame."""
