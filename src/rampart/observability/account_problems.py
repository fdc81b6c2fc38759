"""Accounts that need a person: what InvestorProblem (P2) reads, per account and cause.

An account halted or closing only for a breaker, a position-loss kill or an unexplained venue
report, or one that broke an invariant, is a problem: ``rampart_account_problem{account,
cause}`` is 1 for it, so the page names the account and why. A losing-streak cooldown is
ordinary trading that ends by itself: it is shown (``rampart_accounts_cooling_down``), never
paged (not InvestorProblem's "halted by a breaker").
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Gauge

from rampart.risk.restrictions import COOLDOWN

INVARIANT = "invariant"
UNKNOWN = "unknown"


class AccountProblems:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.count = Gauge(
            "rampart_account_problems",
            "Accounts halted or closing only (a breaker, a position-loss kill, an unexplained "
            "venue report), or with a broken invariant; a losing-streak cooldown is not one.",
            registry=registry,
        )
        self.each = Gauge(
            "rampart_account_problem",
            "1 per account counted in rampart_account_problems, labelled with its cause "
            "(daily_loss, max_drawdown, kill_on_position_loss, venue_report, invariant, ...).",
            ["account", "cause"],
            registry=registry,
        )
        self.cooling_down = Gauge(
            "rampart_accounts_cooling_down",
            "Accounts in a losing-streak cooldown (closes only, resumes by itself): shown, "
            "not paged.",
            registry=registry,
        )
        self._restricted: dict[str, str] = {}
        """Account → what restricts it (its cause), for every account not ACTIVE."""
        self._violations: set[str] = set()
        self._shown: dict[str, str] = {}
        """What ``rampart_account_problem`` holds now: account → cause."""

    def restricted(self, account: str, cause: str | None) -> None:
        """The account's new restriction (None: ACTIVE again, its violation forgiven too)."""
        if cause is None:
            self._restricted.pop(account, None)
            self._violations.discard(account)
        else:
            self._restricted[account] = cause
        self._set()

    def violated(self, account: str) -> None:
        self._violations.add(account)
        self._set()

    def resumed(self, account: str) -> None:
        """An operator resumed the account: a broken invariant was looked at."""
        self._violations.discard(account)
        self._set()

    def sample(self, restricted: dict[str, str], accounts: Iterable[str]) -> None:
        """The state from the engines themselves: ``restricted`` maps each account not ACTIVE
        to its cause; violations of accounts no longer traded are dropped."""
        self._restricted = dict(restricted)
        self._violations &= set(accounts)
        self._set()

    def _set(self) -> None:
        problems = {
            a: cause or UNKNOWN for a, cause in self._restricted.items() if cause != COOLDOWN
        }
        problems.update({a: INVARIANT for a in self._violations if a not in problems})
        for account, cause in self._shown.items():
            if problems.get(account) != cause:
                self.each.remove(account, cause)
        for account, cause in problems.items():
            self.each.labels(account=account, cause=cause).set(1)
        self._shown = problems
        self.count.set(len(problems))
        self.cooling_down.set(sum(1 for c in self._restricted.values() if c == COOLDOWN))
