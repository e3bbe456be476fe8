"""Liveness and readiness probes for the orchestrator."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

from service.problems import problem

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz() -> Response:
    """Ready only when the knowledge base is compiled and the engine passes its self-test."""
    runtime = current_app.extensions["cds"]
    if not runtime.self_test():
        return problem(503, "Service Unavailable", "The rule engine self-test failed.")
    kb = runtime.knowledge_base
    return jsonify({"status": "ready", "knowledge_base": {"version": kb.version, "sha256": kb.sha256}})
