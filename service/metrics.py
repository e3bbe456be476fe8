"""Prometheus metrics, correct across gunicorn workers.

With ``PROMETHEUS_MULTIPROC_DIR`` set (deploy/gunicorn.conf.py sets it), each worker
writes its samples to files there and ``GET /metrics`` aggregates them; without it (tests,
``flask run``) the process registry is used.
"""

from __future__ import annotations

import os
from typing import TypeVar

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as prometheus_multiprocess
from prometheus_client.metrics import MetricWrapperBase

# Label values come from fixed sets, so a client cannot mint series: 300 made-up methods
# once made 307 request counters and a 7.5 MB /metrics page.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER = "other"


def method_label(method: str) -> str:
    """The request method as a label value: a standard method, or ``other``."""
    return method if method in METHODS else OTHER


Metric = TypeVar("Metric", bound=MetricWrapperBase)
_children: dict[tuple[MetricWrapperBase, tuple[str, ...]], MetricWrapperBase] = {}


def labelled(metric: Metric, *values: str) -> Metric:
    """``metric.labels(*values)``, looked up once per process and label set.

    prometheus_client checks and stringifies the values and takes a lock on every
    ``labels()`` call; it always answers with the same child, so a request can use the
    one found before. The values come from fixed sets (above), so this stays small.
    """
    key = (metric, values)
    child = _children.get(key)
    if child is None:
        child = _children[key] = metric.labels(*values)
    return child  # type: ignore[return-value]


REQUESTS = Counter(
    "cds_http_requests_total",
    "HTTP requests by route, method and status.",
    ["route", "method", "status"],
)
LATENCY = Histogram(
    "cds_http_request_duration_seconds",
    "Time to answer an HTTP request.",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
IN_FLIGHT = Gauge(
    "cds_http_requests_in_flight",
    "Requests being answered now.",
    multiprocess_mode="livesum",  # a killed worker's count is dropped with it (gunicorn child_exit)
)
ASSESSMENTS = Counter("cds_assessments_total", "Assessments by urgency level.", ["urgency"])
ENGINE_TIME = Histogram(
    "cds_rule_engine_seconds",
    "Time spent in the rule engine per assessment.",
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1),
)
CDS_FEEDBACK = Counter("cds_hooks_feedback_total", "CDS Hooks card feedback by outcome.", ["outcome"])
CDS_OVERRIDES = Counter(
    "cds_hooks_overrides_total",
    "Overridden CDS Hooks cards by override reason code ('other' outside ours, 'none' when not given).",
    ["reason"],
)
CDS_CARDS = Counter(
    "cds_hooks_cards_total",
    "CDS Hooks cards computed, by service and indicator (also counted in silent rollout, when none is shown).",
    ["service", "indicator"],
)
KNOWLEDGE_BASE = Gauge(
    "cds_knowledge_base_info",
    "Knowledge base in use (value is always 1).",
    ["version", "sha256"],
    multiprocess_mode="livemax",  # a dead worker's sample goes with it (gunicorn child_exit)
)


def render() -> tuple[bytes, str]:
    """The exposition text for every worker of this pod, and its content type."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        prometheus_multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST
