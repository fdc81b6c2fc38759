"""The areas of round 4's money and safety code, of the bracket, of a
position's protection, of the investor's own cash flows and of the fills
on candles, for ``scripts/mutate.py``.

Kept apart so that ``mutate.py`` (the run and its score, the first eight areas) stays one job:
it imports :class:`Area` from here and adds these areas to its own. Each lists the files mutmut
mutates and the test files that may kill their mutants: the area's own tests and the pin tests
of round 4 (``test_pin_*.py``), each checked by hand to fail under its mutant. The tests that
start a whole service are left out (they run in ``make test``); so are files whose tests are
mostly elsewhere (``store/leases.py`` stays in the ``fencing`` area)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Area:
    mutate: tuple[str, ...]
    tests: tuple[str, ...]
    about: str
    postgres: bool = False
    """Keep ``RAMPART_TEST_PG_URL`` for the run: the area's code (leases, fencing) is
    PostgreSQL-only, its tests skipped on SQLite."""
    pytest_args: tuple[str, ...] = ()
    """Added to every pytest run of the area (the stats, the clean run, each mutant)."""
    timeout_multiplier: float | None = None
    """mutmut's ``timeout_multiplier`` (default 15) for the area. A mutant's CPU limit is
    ``(its tests' call time + 1 s) x multiplier x 2``; the call time leaves out fixtures, so an
    area whose tests spend their time in setup (a fresh PostgreSQL schema per test) needs a
    larger one, or a mutant that survives is cut off and counted as timed out."""
    shared_data: bool = False
    """The snapshot sees the real candles of ``shared/data`` (a link beside it, nothing
    copied): without it the tests that read them skip there, and kill nothing."""


ROUND_4: dict[str, Area] = {
    "market": Area(
        (
            "src/rampart/market/price_guard.py",
            "src/rampart/market/price_state.py",
            "src/rampart/market/second_reading.py",
        ),
        (
            "tests/market/test_price_guard.py",
            "tests/market/test_price_guard_dex.py",
            "tests/market/test_guard_median.py",
            "tests/market/test_second_reading.py",
            "tests/market/test_pin_guard_open.py",
            "tests/market/test_pin_second_reading_both.py",
            "tests/market/test_guard_ticks.py",
            "tests/market/test_guard_held_state.py",
            "tests/market/test_guard_edges.py",
            "tests/market/test_second_reading_answers.py",
            "tests/trading/test_quarantine_session.py",
        ),
        "the market-data guard: impossible candles, the move band, quarantine, second readings",
        shared_data=True,
    ),
    "anomaly": Area(
        (
            "src/rampart/risk/anomalies.py",
            "src/rampart/observability/anomaly_watch.py",
            "src/rampart/observability/alerts/database.py",
        ),
        (
            "tests/risk/test_anomalies.py",
            "tests/risk/test_pin_anomaly_ends.py",
            "tests/ops/test_anomaly_alerts.py",
            "tests/ops/test_pin_fleet_database_down.py",
            "tests/ops/test_database_slow_not_down.py",
            "tests/ops/test_launch_alerts.py",
            "tests/ops/test_anomaly_parts.py",
        ),
        "anomalies (fills off the band, PnL jumps, spikes) held and resolved, DatabaseDown",
    ),
    "shards": Area(
        ("src/rampart/domain/shards.py",),
        (
            "tests/domain/test_shards.py",
            "tests/domain/test_pin_shard_give_back.py",
            "tests/domain/test_shard_plan_edges.py",
            "tests/scale/test_take_sequence.py",
        ),
        # The plan is pure: its lease rounds on PostgreSQL (tests/scale/test_leases_rounds.py)
        # are the fencing area's, and this one needs no database.
        "shard plans: the fair share, takes after a grace, giving back, blue-green eligibility",
    ),
    "adoption": Area(
        ("src/rampart/trading/reconcile/adopt.py",),
        (
            "tests/trading/test_reconcile_adopt.py",
            "tests/trading/test_reconcile_adopt_by_hand.py",
            "tests/trading/test_reconcile_adopt_pages.py",
        ),
        "reconciliation's adoption of orders found on the venue, read a page at a time",
    ),
    "inbox": Area(
        (
            "src/rampart/telegram/durable.py",
            "src/rampart/telegram/pacer.py",
            "src/rampart/telegram/bot_api.py",
            "src/rampart/notices/command_book.py",
        ),
        (
            "tests/telegram/test_pin_inbox_keys.py",
            "tests/telegram/test_pin_resume_replied.py",
            "tests/telegram/test_pacer.py",
            "tests/telegram/test_pacer_lanes.py",
            "tests/telegram/test_pacer_retry.py",
            "tests/telegram/test_pacer_queue.py",
            "tests/telegram/test_pacer_stop.py",
            "tests/telegram/test_pacer_edges.py",
            "tests/telegram/test_durable_steps.py",
            "tests/telegram/test_durable_answers.py",
            "tests/telegram/test_durable_resume_replies.py",
            "tests/telegram/test_fetched_kept.py",
            "tests/store/test_bot_inbox.py",
            "tests/store/test_bot_inbox_rows.py",
        ),
        "the bot's durable inbox (commands and replies across a crash) and its pacer",
    ),
    "plugins": Area(
        ("src/rampart/agents/plugins.py",),
        (
            "tests/agents/test_plugins.py",
            "tests/agents/test_pin_api_version.py",
            "tests/agents/test_plugin_checks.py",
            "tests/agents/test_plugin_probe.py",
            "tests/agents/test_custom_agent_runs.py",
            "tests/agents/test_boundary_faults.py",
        ),
        "custom agents: loading, the protocol and API version checks, the probe",
    ),
    "lookahead": Area(
        ("src/rampart/research/lookahead.py", "src/rampart/research/future_shift.py"),
        (
            "tests/research/test_checks.py",
            "tests/research/test_agent_reads.py",
            "tests/research/test_pin_lookahead_quiet.py",
            # The moved market runs in the sandbox's child process, where mutmut's stats see
            # no test reach it: these two files run it in this process.
            "tests/research/test_future_shift.py",
            "tests/research/test_lookahead_moved.py",
            "tests/research/test_lookahead_sentence.py",
        ),
        "check-lookahead: signals and quiet candles on cut data, the moved market",
        shared_data=True,
    ),
    "redaction": Area(
        ("src/rampart/observability/logging.py",),
        (
            "tests/security/test_redaction.py",
            "tests/security/test_pin_redaction_paths.py",
            "tests/security/test_log_setup.py",
            "tests/ops/test_redaction_paths.py",
        ),
        "secrets masked in logs: by shape, by place, by the settings' own text",
    ),
}

ISSUE_73: dict[str, Area] = {
    # The goal is 90 % for this area of its own; the rest of protection is reached
    # through the accounts area's tests/trading.
    "bracket": Area(
        ("src/rampart/trading/bracket.py",),
        (
            "tests/trading/test_bracket_machine_props.py",
            "tests/trading/test_bracket_book.py",
            "tests/trading/test_bracket_restart.py",
            "tests/trading/test_bracket_lifecycle_props.py",
            "tests/trading/test_bracket_locked_coins.py",
            "tests/trading/test_bracket_unconfirmed_cancels.py",
            "tests/trading/test_account_snapshot.py",
            "tests/trading/test_protection_ensure.py",
            "tests/trading/test_protection_placing.py",
            "tests/trading/test_protection_retry_spent.py",
            "tests/trading/test_guard.py",
        ),
        "a position's bracket: its states and their table, guarded, refusals, the checkpoint",
    ),
}

ISSUE_84: dict[str, Area] = {
    # The fill model of every run on candles: a market order at the next open, the entry's
    # stop matched on the rest of its bar, the replay's end of data at the last close.
    "fills": Area(
        # matching.py's own rules (the next open, the end of data) are in the venues area.
        ("src/rampart/venues/entry_bar.py", "src/rampart/agents/roi.py"),
        (
            "tests/venues/test_next_open.py",
            "tests/venues/test_orders.py",
            "tests/venues/test_partial.py",
            "tests/venues/test_market_buy_terms.py",
            "tests/venues/test_affordable_remainder.py",
            "tests/venues/test_validation.py",
            "tests/venues/test_end_of_data.py",
            "tests/trading/test_next_open_engine.py",
            "tests/agents/test_roi.py",
        ),
        "fills on candles: the entry's stop on its own bar; a port's stoploss and minimal_roi",
    ),
    "inputs": Area(
        (
            "src/rampart/research/cut_inputs.py",
            "src/rampart/research/carried_state.py",
            "src/rampart/research/carriers.py",
            "src/rampart/agents/spans.py",
        ),
        (
            "tests/research/test_cut_inputs.py",
            "tests/research/test_carried_state.py",
            "tests/research/test_carriers.py",
            "tests/research/test_input_spans.py",
            "tests/research/test_lookahead_inputs.py",
            "tests/ops/test_daily_review.py",
            "tests/research/test_cut_inputs_units.py",
            "tests/research/test_carriers_units.py",
            "tests/agents/test_spans_units.py",
        ),
        "declared inputs cut at each candle, state kept between runs, what carried the future, "
        "the spans inputs state",
        shared_data=True,
    ),
    "grid": Area(
        (
            "src/rampart/research/grid.py",
            "src/rampart/research/trial_table.py",
            "src/rampart/research/rounds.py",
        ),
        ("tests/research/test_grid.py",),
        "optimize --grid: every setting traded once per fold, resumed, failed trials say why",
        shared_data=True,
    ),
}

ISSUE_82: dict[str, Area] = {
    # No coin without a stop: what each position's protection is, said in words, and a refused
    # pair re-sized from the account's balance or the market's rules read again.
    "protection": Area(
        ("src/rampart/trading/protection_state.py", "src/rampart/trading/refit.py"),
        (
            "tests/trading/test_protection_state.py",
            "tests/trading/test_protection_state_props.py",
            "tests/trading/test_protection_state_reads.py",
            "tests/trading/test_protection_refit.py",
            "tests/trading/test_protection_refit_rules.py",
            "tests/trading/test_target_part_fill.py",
            "tests/exchange/test_engine_sim_unprotected.py",
            "tests/ops/test_position_unprotected.py",
            "tests/chaos/test_clean_stop.py",
            "tests/trading/test_reconcile_trade_window.py",
        ),
        "a position's protection in words; a refused pair re-sized and placed again",
    ),
    # The stops' own paths: a fresh holder's buys wait until its held coins are covered, a sell
    # refused for lack of free coins re-sized and sent again, a clean stop's last pass.
    "stops": Area(
        (
            "src/rampart/trading/cover_first.py",
            "src/rampart/trading/exits.py",
            "src/rampart/trading/reconcile/last_pass.py",
        ),
        (
            "tests/trading/test_cover_first.py",
            "tests/trading/test_exit_resend.py",
            "tests/trading/test_last_pass_units.py",
            "tests/chaos/test_exit_refused_funds.py",
            "tests/chaos/test_clean_stop.py",
        ),
        "entries wait for held coins' cover; a refused sell re-sized; a clean stop's last pass",
    ),
}

ISSUE_83: dict[str, Area] = {
    # An investor's own money moves are not the strategy's result; what shaped a run's figures.
    "cash_flows": Area(
        ("src/rampart/risk/cash_flows.py", "src/rampart/trading/shaping.py"),
        ("tests/risk/test_cash_flows.py", "tests/trading/test_run_shaping.py"),
        "deposits, withdrawals and hand trades kept out of the breakers; a run's shaping",
    ),
}

__all__ = ["ISSUE_73", "ISSUE_82", "ISSUE_83", "ISSUE_84", "ROUND_4", "Area"]
