"""Prometheus metrics. Every series carries a `service` label, so one dashboard serves all services."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter(
    "http_requests_total", "HTTP requests by route template", ["service", "method", "route", "status"]
)
HTTP_DURATION = Histogram(
    "http_request_duration_seconds",
    "HTTP request duration by route template",
    ["service", "method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
OUTBOX_PENDING = Gauge("outbox_pending", "Outbox rows not yet published", ["service"])
OUTBOX_OLDEST_AGE = Gauge("outbox_oldest_pending_age_seconds", "Age of the oldest unpublished outbox row", ["service"])
OUTBOX_PUBLISHED = Counter("outbox_published_total", "Outbox rows published", ["service", "topic"])
OUTBOX_FAILURES = Counter("outbox_publish_failures_total", "Failed publish attempts", ["service"])
CONSUMER_PROCESSED = Counter("consumer_processed_total", "Events applied by a consumer", ["service", "topic", "type"])
CONSUMER_DUPLICATES = Counter(
    "consumer_duplicates_total", "Re-delivered events skipped by a consumer", ["service", "topic"]
)
CONSUMER_FAILED = Counter("consumer_failed_total", "Failed handler attempts", ["service", "topic"])
CONSUMER_DEAD_LETTERED = Counter(
    "consumer_dead_lettered_total", "Events sent to a dead-letter topic", ["service", "topic"]
)
CONSUMER_LAG = Gauge("consumer_lag", "Messages behind the partition end", ["service", "topic", "partition"])
