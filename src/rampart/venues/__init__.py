"""Venues: where orders go. ``paper`` matches in process against the candle stream.

Modules: :mod:`~rampart.venues.pricing` (fees, slippage, intrabar rules),
:mod:`~rampart.venues.book` (orders and sub-account money), :mod:`~rampart.venues.validation`
(acceptance checks), :mod:`~rampart.venues.matching` (the pure matching core, shared with the
exchange simulator), :mod:`~rampart.venues.snapshot` and :mod:`~rampart.venues.paper` (the
Venue port adapter).
"""
