"""Prometheus metrics, rendered in the text exposition format by hand: a few counters and histograms."""

import threading
from collections import defaultdict
from collections.abc import Iterator

from strawberry.extensions import SchemaExtension

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, str, str], int] = defaultdict(int)
        self.latency_counts: dict[tuple[str, str], list[int]] = {}
        self.latency_sums: dict[tuple[str, str], float] = defaultdict(float)
        self.graphql_operations: dict[tuple[str, str], int] = defaultdict(int)

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        with self._lock:
            self.requests[(method, route, str(status))] += 1
            counts = self.latency_counts.setdefault((method, route), [0] * (len(LATENCY_BUCKETS) + 1))
            index = next((i for i, bound in enumerate(LATENCY_BUCKETS) if seconds <= bound), len(LATENCY_BUCKETS))
            counts[index] += 1
            self.latency_sums[(method, route)] += seconds

    def observe_graphql(self, operation_type: str, name: str) -> None:
        with self._lock:
            self.graphql_operations[(operation_type, name)] += 1

    def render(self, pool: dict[str, int]) -> str:
        lines = ["# TYPE http_requests_total counter"]
        with self._lock:
            for (method, route, status), value in sorted(self.requests.items()):
                lines.append(f'http_requests_total{{method="{method}",route="{route}",status="{status}"}} {value}')
            lines.append("# TYPE http_request_duration_seconds histogram")
            for (method, route), counts in sorted(self.latency_counts.items()):
                labels = f'method="{method}",route="{route}"'
                cumulative = 0
                for bound, count in zip((*LATENCY_BUCKETS, "+Inf"), counts, strict=True):
                    cumulative += count
                    lines.append(f'http_request_duration_seconds_bucket{{{labels},le="{bound}"}} {cumulative}')
                lines.append(f"http_request_duration_seconds_sum{{{labels}}} {self.latency_sums[(method, route)]:.6f}")
                lines.append(f"http_request_duration_seconds_count{{{labels}}} {cumulative}")
            lines.append("# TYPE graphql_operations_total counter")
            for (kind, name), value in sorted(self.graphql_operations.items()):
                lines.append(f'graphql_operations_total{{type="{kind}",name="{name}"}} {value}')
        lines.append("# TYPE db_pool_connections gauge")
        for state, value in pool.items():
            lines.append(f'db_pool_connections{{state="{state}"}} {value}')
        return "\n".join(lines) + "\n"


METRICS = Metrics()


class GraphQLOperationMetrics(SchemaExtension):
    """Counts GraphQL operations by type and name."""

    def on_operation(self) -> Iterator[None]:
        yield
        context = self.execution_context
        # A document that did not parse (too long, bad syntax) has no operation type.
        kind = context.operation_type.value if context.graphql_document is not None else "invalid"
        METRICS.observe_graphql(kind, (context.operation_name or "anonymous")[:64])
