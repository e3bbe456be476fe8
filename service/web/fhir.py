"""The FHIR R4 resources this service publishes: the intake Questionnaire and its CodeSystem."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, json

from service.interop.fhir.questionnaire import CODE_SYSTEM_ID, QUESTIONNAIRE_ID
from service.web.components import components

bp = Blueprint("fhir", __name__)

FHIR_JSON = "application/fhir+json"


def _fhir(resource: dict[str, Any]) -> Response:
    return Response(json.dumps(resource), mimetype=FHIR_JSON)


@bp.get(f"/fhir/Questionnaire/{QUESTIONNAIRE_ID}")
def questionnaire() -> Response:
    return _fhir(components().fhir.questionnaire)


@bp.get(f"/fhir/CodeSystem/{CODE_SYSTEM_ID}")
def code_system() -> Response:
    return _fhir(components().fhir.code_system)
