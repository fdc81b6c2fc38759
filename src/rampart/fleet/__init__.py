"""The fleet's runtime, past one machine: ``rampart worker`` (``worker*.py``: candles and commands
from NATS JetStream, metrics, notices), the shards it trades (``shard*.py``), the leases it
opens, takes, keeps and catches up on (``lease_*.py``, ``take_phases.py``, ``fenced_venue.py``),
``rampart feed``'s publisher (``feed_*.py``), and what ``rampart serve`` runs besides its API
and bot: the mirror of the shards, the duties under the ops lease, the fleet's alerts and
uptime (``mirror.py``, ``serve_duties.py``, ``alerts.py``, ``uptime.py``).

Dependency rule: an application package, above the rollout, the operator facade and the
notices, below the fronts and the composition root. It imports no ``wiring``, ``cli`` or
``rampart.config``: it reads its settings through :class:`~rampart.fleet.settings.FleetSettings`,
drives each session through the :class:`~rampart.loops.session.EngineSession` port, and gets
what depends on the configured venue kind (a shard's session, the instruments, the exchange's
feed) from the root as :class:`~rampart.fleet.parts.WorkerParts` and
:class:`~rampart.fleet.parts.FeedParts` (``wiring/fleet_parts.py`` builds them)."""
