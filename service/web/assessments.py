"""``POST /v1/assessments``: a symptom record in, an assessment out."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response, jsonify, request

from service.reasoning.assessment import Assessment
from service.reasoning.assessor import RECORD_MISMATCH
from service.reasoning.record import Record, missing_values
from service.reasoning.unrecorded import (
    PATHS,
    Bracket,
    Candidates,
    asking_every_question,
    bracket,
    completion_count,
    completions,
    undecided,
    without_care_any_value_contraindicates,
)
from service.validation import InvalidInputError
from service.web.components import components
from service.web.documents import assessment_document
from service.web.json_body import read_json_body
from service.web.languages import in_language, requested_texts
from service.web.observability import note_urgency

bp = Blueprint("assessments", __name__)

_EXPLAIN = {"true": True, "false": False}
# the most values of what a record lacks at which its unknown complaint fields are tried together
_JOINT_COMPLETIONS = 22  # an age and a sex left out: 11 age bands, 2 sexes


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
    bracketed = None
    if missing_values(record):  # an age or week not known: answered for the one that calls for the most care
        assessment, bracketed = assess_unrecorded(record, RECORD_MISMATCH, for_most_care=True)
    else:
        assessment = assess(record)
    if assessment.interview.complete:  # no finding question left: the record's own fields next
        assessment = asking_record_fields(record, assessment, for_most_care=True)
    document = assessment_document(assessment, texts=texts, explain=_EXPLAIN[explain], bracketed=bracketed)
    return in_language(jsonify(document), texts)


def assess(record: Record) -> Assessment:
    """Assess a validated record and note its urgency for the log and the metrics.

    Every door (this API, CDS Hooks, ``$next-question``) comes through here, or through
    :func:`assess_unrecorded` for a record that lacks a value.
    """
    assessment = components().assessor.assess(record)
    note_urgency(assessment.urgency.level)
    return assessment


def assess_unrecorded(
    raw: dict[str, Any], detail: str, *, for_most_care: bool, candidates: Candidates | None = None
) -> tuple[Assessment, Bracket]:
    """A raw record that lacks its age, sex or gestational week, assessed for every value it
    could have (:mod:`service.reasoning.unrecorded`), with the questions of all of them.

    ``for_most_care``: the answer for the value that calls for the most care (a patient, whom
    no clinician is there to ask), else the one that holds whatever the value is (a
    clinician, who can find it out). Its urgency is noted as :func:`assess` notes one.
    """
    assessor = components().assessor
    bracketed = bracket(
        assessor.kb, raw, lambda completed: assessor.record(completed, detail), assessor.assess, candidates
    )
    chosen = bracketed.most_urgent if for_most_care else bracketed.least_urgent
    shown = without_care_any_value_contraindicates(bracketed, asking_every_question(assessor.kb, bracketed, chosen))
    note_urgency(shown.urgency.level)
    return shown, bracketed


def asking_record_fields(
    record: dict[str, Any],
    shown: Assessment,
    *,
    for_most_care: bool,
    candidates: Candidates | None = None,
    detail: str = RECORD_MISMATCH,
) -> Assessment:
    """``shown`` with the complaint's fields ``record`` leaves unknown whose value could raise
    its urgency (:mod:`service.reasoning.record_fields`), assessed as the door assessed
    ``record``: a validated record as it is, one lacking a value for every value it could have
    (``for_most_care`` and ``candidates`` as for :func:`assess_unrecorded`). The probes are
    not noted in the log and the metrics: they are not answers."""
    assessor = components().assessor

    def levels(probed: dict[str, Any]) -> Iterator[str]:
        if undecided(probed, candidates):
            for completed in completions(assessor.kb, probed, candidates):
                yield assessor.assess(assessor.record(completed, detail)).urgency.level
        else:
            yield assessor.assess(probed).urgency.level

    each = tuple(PATHS[name][-1] for name in undecided(record, candidates) if PATHS[name][0] == "complaint")
    # The fields are tried together unless every combination would be assessed at too many
    # values of what the record lacks: a sex left blank (two assessments each) keeps them, a
    # pregnancy recorded with nothing else (168 each: 12 s for the call) does not.
    return assessor.record_fields(
        record,
        shown,
        levels,
        for_most_care=for_most_care,
        jointly=completion_count(assessor.kb, record, candidates) <= _JOINT_COMPLETIONS,
        assessed_each=each,
    )
