"""An exchange simulator serving Binance's spot REST API on 127.0.0.1, backed by the paper
venue's matching core, with faults switchable at run time."""

from rampart_testkit.simulator.client import ccxt_client, point_at_simulator
from rampart_testkit.simulator.exchange import SimExchange
from rampart_testkit.simulator.faults import KINDS as FAULT_KINDS
from rampart_testkit.simulator.faults import FaultSet
from rampart_testkit.simulator.runner import SimulatorHandle, build_exchange, serve, start_simulator

__all__ = [
    "FAULT_KINDS",
    "FaultSet",
    "SimExchange",
    "SimulatorHandle",
    "build_exchange",
    "ccxt_client",
    "point_at_simulator",
    "serve",
    "start_simulator",
]
