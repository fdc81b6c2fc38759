"""Research an operator can trust before capital goes in: the parameter search with
walk-forward validation, overfitting figures, lookahead and warm-up checks, and the evidence a
chosen setting carries into launch (docs/operators/research.md)."""
