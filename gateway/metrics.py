"""Prometheus metrics (api.md, Service endpoints). One registry per app, so tests and
several apps in one process do not collide."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector


class ProcessCounters:
    """Counts kept below the app (by the HTTP protocol, one per process): every app's
    registry reports them."""

    head_timeouts = 0  # connections closed for a request head late (gateway.serving)


class _ProcessCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        yield CounterMetricFamily(
            "gateway_http_head_timeouts",
            "Connections closed because a request head was not complete in time (408)",
            value=ProcessCounters.head_timeouts,
        )


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(_ProcessCollector())
        self.received = Counter(
            "gateway_messages_received",
            "Messages accepted (202), by sender schema and kind",
            ["schema", "kind"],
            registry=self.registry,
        )
        self.refused = Counter(
            "gateway_messages_refused",
            "Requests refused, by the check that failed",
            ["reason"],
            registry=self.registry,
        )
        self.deliveries = Counter(
            "gateway_deliveries",
            "Delivery attempts by outcome (delivered, retry, dead)",
            ["outcome"],
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "gateway_delivery_queue_depth", "Pending deliveries", registry=self.registry
        )
        self.tree_size = Gauge(
            "gateway_audit_tree_size",
            "Entries covered by the latest checkpoint",
            registry=self.registry,
        )
        self.checkpoint_age = Gauge(
            "gateway_audit_checkpoint_age_seconds",
            "Seconds since the latest checkpoint was signed",
            registry=self.registry,
        )
        self.latency = Histogram(
            "gateway_request_seconds",
            "Request latency by route",
            ["route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry,
        )
        # The labelled child of each route, looked up once: `labels()` takes a lock and
        # builds a key on every call. Bounded: routes are the app's templates + "unmatched".
        self._latency_by_route: dict[str, Histogram] = {}

    def observe_latency(self, route: str, seconds: float) -> None:
        child = self._latency_by_route.get(route)
        if child is None:
            child = self._latency_by_route[route] = self.latency.labels(route)
        child.observe(seconds)
