"""The FHIR R4 resources this service publishes: the intake Questionnaire, its CodeSystem and
the CapabilityStatement, with canonical URLs under the public base URL."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, json

from service.interop.fhir.canonical import CODE_SYSTEM_ID, QUESTIONNAIRE_ID
from service.interop.fhir.resources import PublishedFhir
from service.web.base_url import public_base_url
from service.web.components import components
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
