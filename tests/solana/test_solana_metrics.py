"""The Solana metrics: the venue's observer calls land in the service's registry under the
documented names, confirmation latency resolves p50/p95/p99, and the RpcDown rule fires in
Prometheus (promtool) and in the service when every node is down, not while one answers."""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from rampart.clock import SimClock
from rampart.config import ConfigError, load_settings
from rampart.observability.alerts.engine import AlertEngine
from rampart.observability.alerts.overrides import rules_from_settings
from rampart.observability.alerts.rules import default_rules
from rampart.observability.alerts.signals import bucket_quantile
from rampart.observability.export import RULES_FILE, write_export
from rampart.observability.metrics import Metrics
from rampart.observability.notify import CallbackNotifier, Notice
from rampart.observability.solana_metrics import CONFIRM_BUCKETS
from rampart.venues.solana.observe import RPC_OUTCOMES, SWAP_OUTCOMES, SwapObserver

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
RULES = {rule.name: rule for rule in default_rules()}


def value(m: Metrics, name: str, **labels: str) -> float:
    found = m.registry.get_sample_value(name, labels)
    return 0.0 if found is None else found


def test_the_group_is_the_venues_observer_on_the_service_registry() -> None:
    m = Metrics()
    obs: SwapObserver = m.solana
    assert isinstance(obs, SwapObserver)
    assert (
        m.registry.get_sample_value(
            "rampart_solana_swaps_total", {"route": "bags", "outcome": "filled"}
        )
        is None
    )  # no route named until the venue names its own
    m.solana.prepare_routes(["bags", "jupiter"])
    # Every swap series of the venue's routes exists at zero, so Prometheus counts the first.
    for outcome in SWAP_OUTCOMES:
        assert (
            m.registry.get_sample_value(
                "rampart_solana_swaps_total", {"route": "bags", "outcome": outcome}
            )
            == 0.0
        )
    obs.quote("bags", 0.12, True)
    obs.quote("jupiter", 0.3, False)
    obs.swap("bags", "filled", 0.8)
    obs.swap("bags", "slippage", 1.2)
    obs.swap("jupiter", "expired", 60.0)
    obs.slippage("bags", 50, 12.5)
    obs.slippage("bags", 50, -3)
    for outcome in RPC_OUTCOMES:
        obs.rpc_call("rpc-a.example", "getSlot", outcome, 0.02)
    obs.failover("rpc-a.example", "rpc-b.example", "timeout")
    obs.endpoint_health("rpc-a.example", False, 120)
    obs.endpoint_health("rpc-b.example", True, 0)

    assert value(m, "rampart_solana_quote_latency_seconds_count", route="bags") == 1
    assert value(m, "rampart_solana_quotes_total", route="jupiter", outcome="error") == 1
    assert value(m, "rampart_solana_swaps_total", route="bags", outcome="filled") == 1
    assert value(m, "rampart_solana_swaps_total", route="jupiter", outcome="expired") == 1
    # Landed attempts only: an expiry's 60 s is a timeout, not a confirmation time.
    assert value(m, "rampart_solana_confirmation_seconds_count", route="bags") == 2
    assert value(m, "rampart_solana_confirmation_seconds_count", route="jupiter") == 0
    assert value(m, "rampart_solana_confirmation_seconds_sum", route="bags") == pytest.approx(2)
    realised = {"route": "bags", "kind": "realised"}
    assert value(m, "rampart_solana_slippage_bps_count", **realised) == 2
    assert value(m, "rampart_solana_slippage_bps_bucket", **realised, le="0.0") == 1
    quoted = {"route": "bags", "kind": "quoted"}
    assert value(m, "rampart_solana_slippage_bps_bucket", **quoted, le="30.0") == 0
    assert value(m, "rampart_solana_slippage_bps_bucket", **quoted, le="50.0") == 2
    assert value(m, "rampart_solana_rpc_requests_total", endpoint="rpc-a.example") == 6
    for kind in RPC_OUTCOMES[1:]:
        assert value(m, "rampart_solana_rpc_errors_total", endpoint="rpc-a.example", kind=kind)
    assert value(m, "rampart_solana_rpc_errors_total", endpoint="rpc-a.example", kind="ok") == 0
    assert value(m, "rampart_solana_rpc_failovers_total") == 1
    assert value(m, "rampart_solana_rpc_up", endpoint="rpc-a.example") == 0
    assert value(m, "rampart_solana_rpc_up", endpoint="rpc-b.example") == 1
    assert value(m, "rampart_solana_rpc_lag_slots", endpoint="rpc-a.example") == 120


def test_confirmation_buckets_read_quantiles_between_50_ms_and_5_s() -> None:
    # Between 0.05 s and 5 s no bucket is wider than a quarter of its upper bound plus a
    # little, so an interpolated p50/p95/p99 is within that of the truth.
    inside = [b for b in CONFIRM_BUCKETS if 0.05 <= b <= 5]
    assert inside[0] == 0.05 and inside[-1] == 5
    for low, high in itertools.pairwise(inside):
        assert (high - low) / high <= 0.5, (low, high)
    # 100 confirmations: 50 at 0.4 s, 45 at 0.9 s, 4 at 2.2 s, 1 at 4.5 s.
    cumulative: list[tuple[float, float]] = []
    samples = [0.4] * 50 + [0.9] * 45 + [2.2] * 4 + [4.5]
    for bound in (*CONFIRM_BUCKETS, float("inf")):
        cumulative.append((bound, float(sum(1 for s in samples if s <= bound))))
    assert bucket_quantile(0.5, cumulative) == pytest.approx(0.4)
    assert 0.8 < bucket_quantile(0.95, cumulative) <= 1.0
    assert 2.0 < bucket_quantile(0.99, cumulative) <= 2.5


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        message = "promtool is not installed (run scripts/install-ops-tools.sh)"
        if IN_CI:
            pytest.fail(f"{message}; CI must check the Prometheus export.")
        pytest.skip(message)
    return path


def _series(endpoint: str, values: str) -> dict[str, str]:
    return {"series": f'rampart_solana_rpc_up{{endpoint="{endpoint}"}}', "values": values}


def _case(
    name: str, primary: str, backup: str, checks: list[tuple[str, bool]]
) -> dict[str, object]:
    rule = RULES["RpcDown"]
    fired = [{"exp_labels": {"severity": "P1"}, "exp_annotations": {"summary": rule.describe({})}}]
    return {
        "name": name,
        "interval": "1m",
        "input_series": [_series("rpc-a.example", primary), _series("rpc-b.example", backup)],
        "alert_rule_test": [
            {"eval_time": at, "alertname": "RpcDown", "exp_alerts": fired if fires else []}
            for at, fires in checks
        ],
    }


def test_promtool_rpc_down_fires_only_when_every_node_is_down(tmp_path: Path) -> None:
    tool = promtool()
    write_export(tmp_path, default_rules())
    folder = (tmp_path / RULES_FILE).parent
    tests = [
        # Both up, then both down from minute 2: pending for its 2 minutes, firing at 4.
        _case("both down", "1 1 0x10", "1 1 0x10", [("1m", False), ("3m", False), ("4m", True)]),
        # The primary down for good, the backup up: the pool failed over, no page.
        _case("primary down, backup up", "0x12", "1x12", [("4m", False), ("10m", False)]),
        # The backup down, the primary up: no page either.
        _case("backup down", "1x12", "0x12", [("10m", False)]),
        # Both down, the backup back at minute 5: the alert resolves.
        _case("backup returns", "0x12", "0 0 0 0 0 1x8", [("4m", True), ("5m", False)]),
        # Both lagging (the gauge reads 0 for a lagging node too) fires as well.
        _case("both lagging", "0x12", "0x12", [("1m", False), ("2m", True)]),
    ]
    (folder / "solana.test.yml").write_text(
        yaml.safe_dump({"rule_files": [Path(RULES_FILE).name], "tests": tests}, sort_keys=False)
    )
    done = subprocess.run(
        [tool, "test", "rules", "solana.test.yml"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_service_pages_rpc_down_after_two_minutes_of_every_node_down() -> None:
    clock = SimClock(1_700_000_000_000)
    metrics = Metrics()
    notices: list[Notice] = []

    async def record(notice: Notice) -> None:
        notices.append(notice)

    engine = AlertEngine(
        [RULES["RpcDown"]], metrics, None, clock, CallbackNotifier(record), evaluate_every_s=5
    )

    def step(seconds: int) -> None:
        for _ in range(seconds // 5):
            clock.advance(5_000)
            asyncio.run(engine.evaluate(clock.now_ms()))

    metrics.solana.endpoint_health("rpc-a.example", False, 0)
    metrics.solana.endpoint_health("rpc-b.example", True, 0)
    step(300)
    assert notices == []  # one node answers: the pool fails over, nobody is paged
    metrics.solana.endpoint_health("rpc-b.example", False, 400)
    step(115)
    assert notices == []
    step(10)
    assert [(n.rule, n.kind, n.severity) for n in notices] == [("RpcDown", "firing", "P1")]
    metrics.solana.endpoint_health("rpc-a.example", True, 0)
    step(5)
    assert [n.kind for n in notices] == ["firing", "resolved"]


def _swaps(route: str, values: str) -> dict[str, str]:
    labels = f'outcome="filled",route="{route}"'
    return {"series": f"rampart_solana_swaps_total{{{labels}}}", "values": values}


def test_promtool_bags_share_low_fires_below_the_operators_share_through_resets(
    tmp_path: Path,
) -> None:
    tool = promtool()
    # The rules a Solana service exports with no alert setting: BagsShareLow on at 80 %.
    rules = rules_from_settings(solana_settings())
    rule = next(r for r in rules if r.name == "BagsShareLow")
    assert rule.enabled and rule.threshold == 0.8 and rule.signal.window() == 86_400
    write_export(tmp_path, rules)
    folder = (tmp_path / RULES_FILE).parent
    fired = [{"exp_labels": {"severity": "P2"}, "exp_annotations": {"summary": rule.describe({})}}]

    def case(name: str, bags: str, jupiter: str, checks: list[tuple[str, bool]]) -> object:
        return {
            "name": name,
            "interval": "1h",
            "input_series": [_swaps("bags", bags), _swaps("jupiter", jupiter)],
            "alert_rule_test": [
                {"eval_time": at, "alertname": "BagsShareLow", "exp_alerts": fired if on else []}
                for at, on in checks
            ],
        }

    tests = [
        # 3 bags fills an hour against 1 through Jupiter: 75 %, under 80 %, once 20 swaps
        # are in the day (hour 5) and for its 10 minutes.
        case("share below", "0+3x30", "0+1x30", [("4h", False), ("6h", True), ("24h", True)]),
        # 9 against 1: 90 %, above: quiet all day.
        case("share above", "0+9x30", "0+1x30", [("6h", False), ("24h", False)]),
        # The service restarted at hour 12 (both counters back to 0): still 75 %, still firing.
        case(
            "through a reset",
            "0+3x12 0+3x18",
            "0+1x12 0+1x18",
            [("13h", True), ("20h", True)],
        ),
        # Too few fills in the day (1 an hour, 0 through bags): no verdict before 20 swaps.
        case("few swaps", "0x30", "0+1x30", [("10h", False), ("21h", True)]),
    ]
    (folder / "bags.test.yml").write_text(
        yaml.safe_dump({"rule_files": [Path(RULES_FILE).name], "tests": tests}, sort_keys=False)
    )
    done = subprocess.run(
        [tool, "test", "rules", "bags.test.yml"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def solana_settings(**route: object) -> Any:
    solana = {"rpc_urls": ["http://127.0.0.1:8899/rpc/a"], "jupiter_api_key": "k"}
    return load_settings(venue={"kind": "solana"}, solana={**solana, "route": route})


def _bags_share(settings: Any) -> float | None:
    rule = next(r for r in rules_from_settings(settings) if r.name == "BagsShareLow")
    return rule.threshold if rule.enabled else None


def test_bags_share_low_is_on_at_80_percent_when_the_venue_trades_on_solana() -> None:
    assert _bags_share(solana_settings()) == 0.8  # plan 001: bags.fm > 80 % of trades
    assert _bags_share(solana_settings(bags_share_alert=0.9)) == 0.9
    assert _bags_share(solana_settings(bags_share_alert=0)) is None  # the operator's "off"
    # No Solana venue, no swaps: nothing to watch, unless the operator asks for it.
    assert _bags_share(load_settings()) is None
    assert _bags_share(load_settings(solana={"route": {"bags_share_alert": 0.7}})) == 0.7
    assert not next(r for r in default_rules() if r.name == "BagsShareLow").enabled
    with pytest.raises(ConfigError) as err:
        solana_settings(bags_share_alert=1.5)
    assert "bags_share_alert must be between 0 (off) and 1" in err.value.message
