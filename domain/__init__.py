"""The pure core: aggregates, events, value types and rules, one subpackage per module.

Nothing here performs IO or reads the wall clock; time arrives through an injected
:class:`domain.clock.Clock`, and persistence only through the eventsourcing library's
injected recorders.
"""
