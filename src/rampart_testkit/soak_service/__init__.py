"""``rampart soak --service``: the service an operator runs (``rampart run`` with its API, alert
engine, scheduler and backups) as a process of its own against ``rampart simulator`` as
another, killed with SIGKILL and started again, then judged on what it left behind: its
database, its API, its backups and the simulator's own record of trades."""
