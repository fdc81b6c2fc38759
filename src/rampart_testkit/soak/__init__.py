"""The soak harness: the whole engine against the exchange simulator on simulated time, with
faults injected at random, reporting lost and duplicated orders, reconciliation accuracy,
latency and memory against the launch plan's criteria."""

from rampart_testkit.soak.config import SoakConfig, parse_duration
from rampart_testkit.soak.harness import Soak, run_soak
from rampart_testkit.soak.stats import SoakStats

__all__ = ["Soak", "SoakConfig", "SoakStats", "parse_duration", "run_soak"]
