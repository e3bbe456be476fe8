"""HTTP views: the assessment endpoint and the published knowledge base."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request
from marshmallow import ValidationError

from service import metrics
from service.json_body import read_json_body
from service.knowledge.model import KnowledgeBase
from service.problems import json_paths, problem
from service.runtime import Runtime

bp = Blueprint("api", __name__)

_EXPLAIN = {"true": True, "false": False}


def runtime() -> Runtime:
    return current_app.extensions["cds"]


@bp.post("/v1/assessments")
def create_assessment() -> Response:
    explain = request.args.get("explain", "false")
    if explain not in _EXPLAIN:
        return problem(
            422,
            "Unprocessable Content",
            "The query parameter 'explain' must be true or false.",
            errors={"$query.explain": ["Must be 'true' or 'false'."]},
        )
    try:
        record = runtime().request_schema.load(read_json_body())
    except ValidationError as error:
        return problem(
            422,
            "Unprocessable Content",
            "The symptom record does not match the contract.",
            errors=json_paths(error.messages),
        )
    return jsonify(assess(record, explain=_EXPLAIN[explain]))


def assess(record: dict[str, Any], *, explain: bool = False) -> dict[str, Any]:
    """Assess a validated record and note its urgency for the request log and the metrics.

    Both doors (this API and CDS Hooks) come through here.
    """
    result = runtime().assessor.assess(record, explain=explain)
    g.urgency = result["urgency"]["level"]
    metrics.ASSESSMENTS.labels(g.urgency).inc()
    return result


@bp.get("/v1/knowledge-base")
def knowledge_base() -> Response:
    return jsonify(describe(runtime().knowledge_base))


@bp.get("/metrics")
def prometheus_metrics() -> Response:
    body, content_type = metrics.render()
    return Response(body, content_type=content_type)


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(runtime().openapi)


def describe(kb: KnowledgeBase) -> dict[str, Any]:
    """The knowledge base as published data: everything a reviewer needs to trace a conclusion."""

    def without_none(obj: Any) -> dict[str, Any]:
        return {k: v for k, v in vars(obj).items() if v is not None and v not in ((), {})}

    rules = []
    for rule in kb.rules.values():
        entry = without_none(rule)
        entry["when"] = {k: (vars(v) if hasattr(v, "__dict__") else v) for k, v in without_none(rule.when).items()}
        entry["layer"] = str(rule.layer)
        rules.append(entry)
    return {
        "version": kb.version,
        "sha256": kb.sha256,
        "disclaimer": kb.disclaimer,
        "urgency_levels": [without_none(level) for level in kb.levels.values()],
        "sources": [without_none(source) for source in kb.sources.values()],
        "findings": [without_none(finding) for finding in kb.findings.values()],
        "causes": [without_none(cause) for cause in kb.causes.values()],
        "care": [without_none(item) for item in kb.care.values()],
        "rules": rules,
    }
