"""``POST /v1/assessments``: a symptom record in, an assessment out."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from service.reasoning.assessment import Assessment
from service.reasoning.record import Record
from service.validation import InvalidInputError
from service.web.components import components
from service.web.documents import assessment_document
from service.web.json_body import read_json_body
from service.web.languages import in_language, requested_texts
from service.web.observability import note_urgency

bp = Blueprint("assessments", __name__)

_EXPLAIN = {"true": True, "false": False}


@bp.post("/v1/assessments")
def create_assessment() -> Response:
    # Most requests have no query string; parsing an empty one into request.args cost about 10 µs.
    explain = request.args.get("explain", "false") if request.query_string else "false"
    if explain not in _EXPLAIN:
        raise InvalidInputError(
            "The query parameter 'explain' must be true or false.", {"$query.explain": ["Must be 'true' or 'false'."]}
        )
    record = components().assessor.record(read_json_body())
    texts = requested_texts()
    return in_language(jsonify(assessment_document(assess(record), texts=texts, explain=_EXPLAIN[explain])), texts)


def assess(record: Record) -> Assessment:
    """Assess a validated record and note its urgency for the log and the metrics.

    Both doors (this API and CDS Hooks) come through here.
    """
    assessment = components().assessor.assess(record)
    note_urgency(assessment.urgency.level)
    return assessment
