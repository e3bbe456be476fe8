"""The FHIR R4 resources this service publishes: the intake Questionnaire, its CodeSystem and
the CapabilityStatement, with canonical URLs under the public base URL; and the intake as an
SDC adaptive form (``POST /fhir/Questionnaire/$next-question``)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, json

from service.interop.fhir.adaptive import next_response, read_form
from service.interop.fhir.canonical import CODE_SYSTEM_ID, QUESTIONNAIRE_ID, fhir_base
from service.interop.fhir.resources import PublishedFhir
from service.reasoning.assessment import Assessment
from service.reasoning.assessor import RECORD_MISMATCH
from service.reasoning.record import missing_values
from service.web.assessments import asking_record_fields, assess, assess_unrecorded
from service.web.base_url import public_base_url
from service.web.components import components
from service.web.json_body import read_json_body
from service.web.languages import in_language, requested_texts

bp = Blueprint("fhir", __name__)

FHIR_JSON = "application/fhir+json"


def _fhir(resource: dict[str, Any]) -> Response:
    return Response(json.dumps(resource), mimetype=FHIR_JSON)


def _published() -> PublishedFhir:
    return components().fhir.at(public_base_url())


@bp.get("/fhir/metadata")
def capability_statement() -> Response:
    return _fhir(_published().capability_statement)


@bp.get(f"/fhir/Questionnaire/{QUESTIONNAIRE_ID}")
def questionnaire() -> Response:
    texts = requested_texts()
    return in_language(_fhir(_published().questionnaires[texts.language]), texts)


@bp.get(f"/fhir/CodeSystem/{CODE_SYSTEM_ID}")
def code_system() -> Response:
    return _fhir(_published().code_system)


@bp.post("/fhir/Questionnaire/$next-question")
def next_question() -> Response:
    """The next item of the adaptive intake, or the completed response with the assessment."""
    published = _published()
    form = read_form(read_json_body(), published.terminology)

    def assessed(record: dict[str, Any]) -> Assessment:
        if "locations" in record["complaint"] and missing_values(record):
            # A patient who does not know her week (or her age, or does not say her sex) is
            # answered for the value that calls for the most care (bleeding is an emergency from
            # week 24), and asked what each value needs. Where it hurts the patient is there to
            # say: left unanswered, the record is refused (422), as by POST /v1/assessments.
            shown = assess_unrecorded(record, RECORD_MISMATCH, for_most_care=True)[0]
            probed = record
        else:
            probed = components().assessor.record(record)
            shown = assess(probed)
        if shown.interview.complete:  # no finding question left: the pain's own unknown fields next
            return asking_record_fields(probed, shown, for_most_care=True)
        return shown

    texts = requested_texts()
    questionnaire = published.questionnaires[texts.language]
    return in_language(_fhir(next_response(form, questionnaire, assessed, fhir_base(public_base_url()), texts)), texts)
