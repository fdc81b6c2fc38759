"""Machine learning over candles: features, bracket labels, walk-forward training, artifacts
and the model registry. An adapter: the ML agent sees only a model-serving port."""
