"""Market data adapters: candle files, data quality, synthetic and replay feeds, downloads.

- ``series``: ``CandleSeries``, the column-oriented candles of one symbol.
- ``loaders``: ``load_candles`` (any supported file, quality rules applied) and
  ``write_candles``; ``formats`` reads, ``writers`` writes, ``quality`` measures.
- ``synthetic``: ``SyntheticFeed``, seeded GARCH candles; ``replay``: ``ReplayFeed``.
- ``download``: ``download_ohlcv`` through ccxt.

Nothing is imported here so that ``rampart.market.synthetic`` does not pull in pandas.
"""
