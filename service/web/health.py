"""Probes and metrics for the orchestrator: liveness, readiness, Prometheus."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from service import metrics
from service.web.components import components
from service.web.problems import problem

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz() -> Response:
    """Ready only when the knowledge base is compiled and the engine passes its self-test."""
    assessor = components().assessor
    if not assessor.self_test():
        return problem(503, "Service Unavailable", "The rule engine self-test failed.")
    kb = assessor.kb
    return jsonify({"status": "ready", "knowledge_base": {"version": kb.version, "sha256": kb.sha256}})


@bp.get("/metrics")
def prometheus_metrics() -> Response:
    body, content_type = metrics.render()
    return Response(body, content_type=content_type)
