"""No front reaches the store through a helper module, as far as it goes.

An import walk from every module of the API (with the panel) and the bot, in-function imports
included and type-checking-only ones left out, not walking through the facade
(``rampart.operator``, the one way in): which modules outside the fronts lead it to
``rampart.store``. ``STILL_THROUGH`` is what is left; it may only shrink (the test fails both on a
new way and on one removed without crossing it off). What the fronts need of a helper that also
stores things is split from it (``security.token_kinds``, ``security.keypairs``,
``security.secrets`` apart from ``security.credential_store``; ``notices.stage_notices``;
``rollout.ramp_step``), re-exported by ``rampart.operator.names`` (an incident's status, a
registry's refusal, the revenue report's span) or a facade method (``Operator.backups``)."""

from __future__ import annotations

from collections import deque

from tests.import_graph import imports, modules

FRONTS = ("rampart.api", "rampart.telegram")
FACADE = "rampart.operator"
STILL_THROUGH: frozenset[str] = frozenset()
"""The first module past the fronts on some import path to the store: none is left. The
rollout's desk (its controller, deploys and drills read the store) was the last: the
composition root serves it on the facade (``rampart.rollout.desk.serve_desk``) and the fronts
ask ``operator.rollout_desk()``, naming the desk only for types."""


def _first_hops_to_the_store() -> set[str]:
    known = modules()
    graph = {name: imports(name, path, known, packages=True) for name, path in known.items()}
    hops = set()
    for front in (m for m in known if m.startswith(FRONTS)):
        came_from: dict[str, str | None] = {front: None}
        queue = deque([front])
        while queue:
            here = queue.popleft()
            for there in graph[here]:
                if there in came_from or there.startswith(FACADE):
                    continue
                came_from[there] = here
                if not there.startswith("rampart.store"):
                    queue.append(there)
                    continue
                path: list[str] = []
                step: str | None = there
                while step is not None:
                    path.append(step)
                    step = came_from[step]
                hops.add(next(m for m in reversed(path) if not m.startswith(FRONTS)))
    return hops


def test_the_fronts_reach_the_store_only_through_the_helpers_still_listed() -> None:
    assert _first_hops_to_the_store() == STILL_THROUGH
    assert not any(m.startswith("rampart.security") for m in STILL_THROUGH)
