"""Reconciliation: the books compared with the venue, and the venue's truth applied.

``reconciler`` holds the :class:`~.reconciler.Reconciler` and the order of its steps; ``known``
(orders the books follow), ``adopt`` (orders the books do not), ``balances``, ``books`` (the
comparisons), ``context`` (what one pass shares), ``overlap`` (accounts side by side: reads
overlap, booking does not) and ``schedule`` (when to reconcile) hold the steps. A docstring
only: importing the schedule does not load the reconciler.
"""
