"""Reading a Metrics registry in the metrics tests: its exposition parsed into samples, one
series' value summed over the labels asked for, and an order to move the order metrics with."""

from __future__ import annotations

from decimal import Decimal

from prometheus_client.parser import text_string_to_metric_families

from rampart.domain.orders import Order, OrderRole, OrderStatus, OrderType, Side
from rampart.observability.metrics import Metrics


def samples(metrics: Metrics) -> dict[str, list[tuple[dict[str, str], float]]]:
    body, content_type = metrics.render()
    assert content_type.startswith("text/plain")
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(body.decode()):
        for s in family.samples:
            found.setdefault(s.name, []).append((dict(s.labels), s.value))
    return found


def value(metrics: Metrics, name: str, **labels: str) -> float:
    return sum(v for lab, v in samples(metrics).get(name, []) if labels.items() <= lab.items())


def _order(status: OrderStatus, client_id: str = "c1") -> Order:
    return Order(
        client_id=client_id,
        account_id="a1",
        symbol="BTC/USDT",
        side=Side.BUY,
        type=OrderType.LIMIT,
        qty=Decimal(1),
        price=Decimal(100),
        role=OrderRole.ENTRY,
        status=status,
    )
