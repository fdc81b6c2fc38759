"""The fleet under overload: the fleet chaos run (:mod:`.fleet_chaos`) with the CPU
oversubscribed 4× by busy loops at normal priority for the whole fault schedule, and one more
fault: one worker's database connection gone silent (open, nothing answered) through a relay
of the run's own (:class:`~rampart_testkit.tcp_relay.TcpRelay`, :meth:`silence`) that the
worker alone reaches PostgreSQL through.

The figures it adds, by fault: after a kill -9 every shard trades again within 10 s (p95); a
stopped worker's (SIGSTOP) shards are claimed within the lease and 2 s; the silent worker's
shards trade on another worker within 30 s. ``bench/scale_overload.py`` runs it; it is not in
CI (minutes of a machine with every core busy)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.engine import make_url

from rampart_testkit.fleet_chaos import FleetChaos
from rampart_testkit.fleet_chaos_checks import percentile
from rampart_testkit.fleet_chaos_infra import CpuLoad
from rampart_testkit.fleet_chaos_plan import CPU, FREEZE, KILL, ChaosShape, Fault
from rampart_testkit.soak.scale_procs import WorkerProcess
from rampart_testkit.tcp_relay import TcpRelay

SILENT = "database silent"
SILENT_GOAL_S = 30.0
LOAD_FACTOR = 4


def overload_schedule(lease_s: float, silent_s: float = 60.0) -> list[Fault]:
    """The CPU 4× from the start to the end, and in it one of each: a kill -9, a SIGSTOP past
    the lease, one worker's database silent."""
    freeze = max(40.0, 2 * lease_s)
    at_kill, at_freeze = 10.0, 60.0
    at_silent = at_freeze + freeze + 40.0
    end = at_silent + silent_s + 30.0
    return [
        Fault(0.0, CPU, end),
        Fault(at_kill, KILL, 10.0),
        Fault(at_freeze, FREEZE, freeze),
        Fault(at_silent, SILENT, silent_s),
    ]


class FleetOverload(FleetChaos):
    def __init__(
        self,
        shape: ChaosShape,
        schedule: list[Fault],
        out_dir: Path,
        say: Callable[[str], None] = print,
        seed: int = 69,
        load_factor: int = LOAD_FACTOR,
    ) -> None:
        super().__init__(shape, schedule, out_dir, say, seed)
        self.load = CpuLoad(factor=load_factor)
        self.load_factor = load_factor
        self.relay: TcpRelay | None = None
        self.quiet_worker = f"w{shape.workers}"
        """The worker that reaches PostgreSQL through the relay (and only it)."""

    def _spawn(self, name: str) -> WorkerProcess:
        if name != self.quiet_worker:
            return super()._spawn(name)
        url = make_url(self._pg().url)
        if self.relay is None:
            self.relay = TcpRelay(url.host or "127.0.0.1", url.port or 5432)
        hop = url.set(host="127.0.0.1", port=self.relay.port)
        data = {**self.data, "store": {**self.data["store"], "url": hop.render_as_string(False)}}
        worker = WorkerProcess(name, data, self.out)
        self.workers[name] = worker
        return worker

    def _inject(self, fault: Fault) -> Callable[[], None] | None:
        if fault.kind == CPU:
            self.injected[f"CPU {self.load_factor}x"] += 1
            self.say(f"CPU {self.load_factor}x for {fault.lasts_s:g} s")
            self.load.start()
            return self.load.stop
        if fault.kind != SILENT:
            undo = super()._inject(fault)
            # The parent names its own load's factor in each label's kind: this run's instead.
            ours = f"CPU {self.load_factor}x"
            self.kinds = {k: v.replace("CPU 2x", ours) for k, v in self.kinds.items()}
            return undo
        relay, victim = self.relay, self.workers.get(self.quiet_worker)
        if relay is None or victim is None or not victim.running:
            return None
        now = time.time()
        held = [s for s, o in self._owners().items() if o == victim.name]
        self.injected[SILENT] += 1
        label = f"{SILENT} {victim.name} #{self.injected[SILENT]}"
        self.kinds[label] = f"{SILENT} under CPU {self.load_factor}x"
        self.waiting.extend((label, now, s) for s in held)
        self.moves.extend((label, now, s) for s in held)
        self.say(f"{label}: it held shards {held}; its database answers nothing")
        relay.silence()
        return relay.speak

    def judged(self) -> list[str]:
        """The issue's three times, each a sentence: met or not, with the figure."""
        f = self.figures
        goals = ((KILL, "trading again", 10.0), (SILENT, "trading on another worker", 30.0))
        out = []
        for kind, what, limit in goals:
            seconds = [s for s, k, *_ in f.moves if k.startswith(kind)]
            out.append(_verdict(f"{what} after a {kind}", seconds, limit))
        claimed = [s for s, k in f.claims if k.startswith(FREEZE)]
        out.append(_verdict(f"claimed after a {FREEZE}", claimed, self.shape.lease_s + 2))
        return out

    def _close(self) -> None:
        try:
            super()._close()
        finally:
            if self.relay is not None:
                self.relay.speak()
                self.relay.cut()


def _verdict(what: str, seconds: list[float], limit: float) -> str:
    if not seconds:
        return f"{what}: no shard moved (not measured)"
    p95 = percentile(seconds, 95)
    word = "MET" if p95 <= limit else "NOT MET"
    return f"{word}: {what} p95 {p95:.1f} s over {len(seconds)} shards (goal <= {limit:g} s)"


__all__ = ["SILENT", "FleetOverload", "overload_schedule"]
