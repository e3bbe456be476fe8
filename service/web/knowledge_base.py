"""``GET /v1/knowledge-base``: the knowledge base as published data, for review and tracing."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from service.knowledge.publish import describe
from service.web.components import components

bp = Blueprint("knowledge_base", __name__)


@bp.get("/v1/knowledge-base")
def knowledge_base() -> Response:
    parts = components()
    return jsonify(describe(parts.assessor.kb, parts.languages))
