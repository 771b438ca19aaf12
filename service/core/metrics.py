"""Prometheus metrics through `prometheus_client`, which escapes label values and renders the exposition.

Every label value is bounded: methods and routes come from the routing table, GraphQL operation names from
an allow-list (`GRAPHQL_METRIC_OPERATIONS`), anything else is `other`. Served by several workers, each
process writes its samples to files in PROMETHEUS_MULTIPROC_DIR (`python -m service serve` sets one up), and
whichever worker answers /metrics reports the sum over all of them; a single process keeps them in memory.
"""

import os
from collections.abc import Iterator

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess
from strawberry.extensions import SchemaExtension

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"})
OTHER = "other"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

REQUESTS = Counter("http_requests", "HTTP requests by method, route and status.", ["method", "route", "status"])
LATENCY = Histogram(
    "http_request_duration_seconds", "HTTP request latency by method and route.", ["method", "route"],
    buckets=LATENCY_BUCKETS,
)  # fmt: skip
GRAPHQL_OPERATIONS = Counter("graphql_operations", "GraphQL operations by type and known name.", ["type", "name"])
POOL = Gauge("db_pool_connections", "Database pool connections by state.", ["state"], multiprocess_mode="livesum")


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    method = method if method in _METHODS else OTHER
    REQUESTS.labels(method, route, str(status)).inc()
    LATENCY.labels(method, route).observe(seconds)


def observe_pool(pool) -> None:
    POOL.labels("size").set(pool.size())
    POOL.labels("checked_out").set(pool.checkedout())
    POOL.labels("overflow").set(max(pool.overflow(), 0))


def render() -> bytes:
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


class GraphQLOperationMetrics(SchemaExtension):
    """Counts GraphQL operations by type and name; a name outside `known_names` counts as `other`."""

    def __init__(self, *, known_names: frozenset[str]) -> None:
        self.known_names = known_names

    def on_operation(self) -> Iterator[None]:
        yield
        context = self.execution_context
        # A document that did not parse (too long, bad syntax) has no operation type.
        kind = context.operation_type.value if context.graphql_document is not None else "invalid"
        name = context.operation_name or "anonymous"
        GRAPHQL_OPERATIONS.labels(kind, name if name in self.known_names or name == "anonymous" else OTHER).inc()
