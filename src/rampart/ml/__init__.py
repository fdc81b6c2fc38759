"""Machine learning over candles: features, bracket labels, walk-forward training, artifacts
and the model registry (issue 8). An adapter: the ML agent sees only a model-serving port."""
