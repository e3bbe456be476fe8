"""HL7 CDS Hooks 2.0 over HTTP: discovery, the triage service and card feedback.

A hook call's prefetched FHIR data is mapped to the contract's record
(:mod:`service.interop.cds_hooks.prefetch`) and runs the very same assessment as
``POST /v1/assessments``; every hook call must carry an EHR's signed JWT whose audience is
``PUBLIC_BASE_URL`` + the path called (request headers never decide it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, Response, current_app, json, request

from service import metrics
from service.interop.cds_hooks.cards import CardWriter
from service.interop.cds_hooks.discovery import SERVICE_ID, discovery
from service.interop.cds_hooks.prefetch import has_patient_data, read_prefetch
from service.interop.cds_hooks.schemas import FeedbackSchema, HookRequestSchema
from service.validation import validated
from service.web.assessments import assess
from service.web.components import components
from service.web.json_body import read_json_body
from service.web.problems import problem

bp = Blueprint("cds_hooks", __name__)

ASSUMED_LOCATION = "buttock"  # the complaint this service is called for


def authenticated(view: Callable[[], Response]) -> Callable[[], Response]:
    """Refuse the call (401) unless it carries a valid JWT from an allow-listed EHR."""

    @wraps(view)
    def checked() -> Response:
        components().token_verifier.verify(request.headers.get("Authorization"), request.path)
        return view()

    return checked


def _json(document: dict[str, Any]) -> Response:
    return Response(json.dumps(document), mimetype="application/json")


@bp.get("/cds-services")
def cds_discovery() -> Response:
    return _json(discovery())


@bp.post(f"/cds-services/{SERVICE_ID}/feedback")
@authenticated
def feedback() -> Response:
    items = validated(FeedbackSchema(), read_json_body(), "The feedback does not match CDS Hooks 2.0.")["feedback"]
    for item in items:
        metrics.CDS_FEEDBACK.labels(item["outcome"]).inc()
    return _json({})


@bp.post(f"/cds-services/{SERVICE_ID}")
@authenticated
def triage() -> Response:
    call = validated(HookRequestSchema(), read_json_body(), "The request does not match CDS Hooks 2.0.")
    prefetch = call.get("prefetch") or {}
    if not has_patient_data(prefetch):
        return problem(
            412,
            "Precondition Failed",
            "Prefetch the Patient or the intake QuestionnaireResponse; this service does not query the FHIR server.",
        )
    parts = components()
    patient_id = call["context"]["patientId"]
    intake = read_prefetch(prefetch, parts.fhir.terminology, dt.datetime.now(dt.UTC).date(), patient_id)
    writer = CardWriter(_source())
    if intake.missing and intake.missing != ["locations"]:
        cards = [writer.missing(intake.missing), *([writer.unmapped(intake)] if intake.unmapped else [])]
        return _json({"cards": cards})
    assumed_location = "locations" in intake.missing
    raw = intake.record()
    if assumed_location:
        raw["complaint"]["locations"] = [ASSUMED_LOCATION]
    record = parts.assessor.record(raw, "The data mapped from FHIR does not match the contract.")
    cards = writer.cards(assess(record), intake, patient_id, assumed_location)
    return _json({"cards": cards})


def _source() -> dict[str, str]:
    kb = components().assessor.kb
    return {
        "label": f"Buttock pain decision support (knowledge base {kb.version})",
        "url": current_app.config["PUBLIC_BASE_URL"].rstrip("/") + "/v1/knowledge-base",
    }
