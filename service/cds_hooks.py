"""HL7 CDS Hooks 2.0 service and the FHIR intake resources.

``GET /cds-services`` (discovery), ``POST /cds-services/buttock-pain-triage`` (cards) and
``.../feedback``; ``GET /fhir/Questionnaire/buttock-pain-intake`` and
``GET /fhir/CodeSystem/buttock-pain``. A hook call is mapped to the contract's record
(service.fhir.intake) and runs the very same evaluation as ``POST /v1/assessments``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from flask import Blueprint, Response, current_app, json, request
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from service import api, metrics
from service.cds_auth import AuthError
from service.fhir.intake import (
    FhirInputError,
    Intake,
    from_observation_or_condition,
    from_patient,
    from_questionnaire_response,
)
from service.fhir.questionnaire import QUESTIONNAIRE_URL
from service.json_body import read_json_body
from service.problems import json_paths, problem
from service.schemas import JsonInteger

bp = Blueprint("cds_hooks", __name__)

SERVICE_ID = "buttock-pain-triage"
HOOK = "patient-view"
FHIR_JSON = "application/fhir+json"
INDICATOR = {"emergency": "critical", "urgent": "warning", "routine": "info", "self_care": "info"}
PREFETCH = {
    "patient": "Patient/{{context.patientId}}",
    "questionnaireResponse": "QuestionnaireResponse?subject={{context.patientId}}"
    f"&questionnaire={QUESTIONNAIRE_URL}&_sort=-authored&_count=1",
    "observations": "Observation?subject={{context.patientId}}&status=final,amended,preliminary",
    "conditions": "Condition?subject={{context.patientId}}",
}


class _Open(Schema):
    class Meta:
        unknown = EXCLUDE  # CDS Hooks is extensible: unknown members are ignored, per the spec


class HookContextSchema(_Open):
    userId = fields.String(required=True)  # noqa: N815 (CDS Hooks field names)
    patientId = fields.String(required=True)  # noqa: N815
    encounterId = fields.String()  # noqa: N815


class FhirAuthorizationSchema(_Open):
    access_token = fields.String(required=True)
    token_type = fields.String(required=True)
    expires_in = JsonInteger(required=True)
    scope = fields.String(required=True)
    subject = fields.String(required=True)


class HookRequestSchema(_Open):
    hook = fields.String(required=True, validate=validate.Equal(HOOK))
    hookInstance = fields.String(required=True, validate=validate.Length(min=1, max=128))  # noqa: N815
    context = fields.Nested(HookContextSchema, required=True)
    prefetch = fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True))
    fhirServer = fields.String()  # noqa: N815
    fhirAuthorization = fields.Nested(FhirAuthorizationSchema)  # noqa: N815


class FeedbackItemSchema(_Open):
    card = fields.String(required=True)
    outcome = fields.String(required=True, validate=validate.OneOf(("accepted", "overridden")))
    outcomeTimestamp = fields.String(required=True)  # noqa: N815
    acceptedSuggestions = fields.List(fields.Dict())  # noqa: N815
    overrideReason = fields.Dict()  # noqa: N815


class FeedbackSchema(_Open):
    feedback = fields.List(fields.Nested(FeedbackItemSchema), required=True, validate=validate.Length(min=1))


class LinkSchema(Schema):
    label = fields.String(required=True)
    url = fields.String(required=True)
    type = fields.String(required=True, validate=validate.OneOf(("absolute", "smart")))


class SourceSchema(Schema):
    label = fields.String(required=True)
    url = fields.String()


class SuggestionSchema(Schema):
    label = fields.String(required=True)
    uuid = fields.String()
    isRecommended = fields.Boolean()  # noqa: N815
    actions = fields.List(fields.Dict())


class CardSchema(Schema):
    uuid = fields.String()
    summary = fields.String(required=True, validate=validate.Length(max=140))
    detail = fields.String()
    indicator = fields.String(required=True, validate=validate.OneOf(("info", "warning", "critical")))
    source = fields.Nested(SourceSchema, required=True)
    suggestions = fields.List(fields.Nested(SuggestionSchema))
    selectionBehavior = fields.String()  # noqa: N815
    links = fields.List(fields.Nested(LinkSchema))
    extension = fields.Dict()


class CardsSchema(Schema):
    cards = fields.List(fields.Nested(CardSchema), required=True)


class DiscoverySchema(Schema):
    services = fields.List(fields.Dict(), required=True)


def _auth_problem(error: AuthError) -> Response:
    response = problem(401, "Unauthorized", str(error))
    response.headers["WWW-Authenticate"] = 'Bearer realm="cds-services"'
    return response


def _authenticate() -> Response | None:
    try:
        current_app.extensions["cds_auth"].verify(request.headers.get("Authorization"), request.base_url)
    except AuthError as error:
        return _auth_problem(error)
    return None


def _json(document: dict[str, Any], mimetype: str = "application/json") -> Response:
    return Response(json.dumps(document), mimetype=mimetype)


@bp.get("/cds-services")
def discovery() -> Response:
    return _json(
        {
            "services": [
                {
                    "hook": HOOK,
                    "id": SERVICE_ID,
                    "title": "Buttock and hip pain triage",
                    "description": "Urgency, red flags, likely causes, care (contraindications removed) and the next "
                    "questions for buttock or hip pain, including in pregnancy.",
                    "prefetch": PREFETCH,
                    "usageRequirements": "Answers best with the buttock-pain-intake QuestionnaireResponse prefetched.",
                }
            ]
        }
    )


@bp.get("/fhir/Questionnaire/buttock-pain-intake")
def questionnaire() -> Response:
    return _json(current_app.extensions["fhir"]["questionnaire"], FHIR_JSON)


@bp.get("/fhir/CodeSystem/buttock-pain")
def code_system() -> Response:
    return _json(current_app.extensions["fhir"]["code_system"], FHIR_JSON)


@bp.post(f"/cds-services/{SERVICE_ID}/feedback")
def feedback() -> Response:
    if (refused := _authenticate()) is not None:
        return refused
    try:
        items = FeedbackSchema().load(read_json_body())["feedback"]
    except ValidationError as error:
        return problem(
            422,
            "Unprocessable Content",
            "The feedback does not match CDS Hooks 2.0.",
            errors=json_paths(error.messages),
        )
    for item in items:
        metrics.CDS_FEEDBACK.labels(item["outcome"]).inc()
    return _json({})


@bp.post(f"/cds-services/{SERVICE_ID}")
def triage() -> Response:
    if (refused := _authenticate()) is not None:
        return refused
    try:
        call = HookRequestSchema().load(read_json_body())
    except ValidationError as error:
        return problem(
            422,
            "Unprocessable Content",
            "The request does not match CDS Hooks 2.0.",
            errors=json_paths(error.messages),
        )
    return _cards(call)


def _cards(call: dict[str, Any]) -> Response:
    """Map the prefetched FHIR data to a record, assess it, and answer with cards."""
    prefetch = call.get("prefetch") or {}
    if not (prefetch.get("patient") or prefetch.get("questionnaireResponse")):
        return problem(
            412,
            "Precondition Failed",
            "Prefetch the Patient or the intake QuestionnaireResponse; this service does not query the FHIR server.",
        )
    try:
        intake = _intake(prefetch)
    except FhirInputError as error:
        return problem(400, "Bad Request", str(error))
    cards = [_unmapped_card(intake)] if intake.unmapped else []
    if intake.missing and intake.missing != ["locations"]:
        return _json({"cards": [_missing_card(intake.missing), *cards]})
    assumed_location = "locations" in intake.missing
    record = intake.record()
    if assumed_location:
        record["complaint"]["locations"] = ["buttock"]  # the complaint this service is called for
    runtime = current_app.extensions["cds"]
    try:
        record = runtime.request_schema.load(record)
    except ValidationError as error:
        return problem(
            422,
            "Unprocessable Content",
            "The data mapped from FHIR does not match the contract.",
            errors=json_paths(error.messages),
        )
    result = api.assess(record)
    cards.insert(0, _summary_card(result, call["context"]["patientId"], assumed_location))
    if result["questions"]:
        cards.insert(1, _questions_card(result))
    return _json({"cards": cards})


def _intake(prefetch: dict[str, Any]) -> Intake:
    terms = current_app.extensions["fhir"]["terminology"]
    intake = Intake()
    if prefetch.get("questionnaireResponse"):
        response = _first_entry(prefetch["questionnaireResponse"], "QuestionnaireResponse")
        if response is not None:
            from_questionnaire_response(response, terms, intake)
    if prefetch.get("patient"):
        from_patient(prefetch["patient"], intake, dt.datetime.now(dt.UTC).date())
    for key in ("observations", "conditions"):
        for resource in _entries(prefetch.get(key)):
            from_observation_or_condition(resource, terms, intake)
    return intake


def _entries(bundle: Any) -> list[Any]:
    if bundle is None:
        return []
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise FhirInputError("prefetched searches must be FHIR Bundles")
    entries = bundle.get("entry") or []
    if not isinstance(entries, list):
        raise FhirInputError("Bundle.entry must be a list")
    return [e.get("resource") for e in entries if isinstance(e, dict) and e.get("resource") is not None]


def _first_entry(value: Any, kind: str) -> dict[str, Any] | None:
    if isinstance(value, dict) and value.get("resourceType") == kind:
        return value
    entries = _entries(value)
    return entries[0] if entries else None


def _source() -> dict[str, str]:
    kb = current_app.extensions["cds"].knowledge_base
    return {
        "label": f"Buttock pain decision support (knowledge base {kb.version})",
        "url": request.host_url.rstrip("/") + "/v1/knowledge-base",
    }


def _card(summary: str, indicator: str, detail: str, **extra: Any) -> dict[str, Any]:
    short = summary if len(summary) <= 140 else summary[:139] + "…"
    return {
        "uuid": str(uuid.uuid4()),
        "summary": short,
        "indicator": indicator,
        "detail": detail,
        "source": _source(),
        **extra,
    }


def _summary_card(result: dict[str, Any], patient_id: str, assumed_location: bool) -> dict[str, Any]:
    urgency = result["urgency"]
    level = urgency["level"]
    top = result["causes"][0]["name"] if result["causes"] else "no leading cause"
    lines = [f"**Urgency: {level.replace('_', ' ')}** — {urgency['advice']}", ""]
    lines += [f"- {r['text']} ({r['rule']}; {', '.join(r['sources'])})" for r in urgency["reasons"]]
    if result["causes"]:
        lines += ["", "**Possible causes**", ""]
        lines += [
            f"{c['rank']}. {c['name']} — {c['confidence']} ({c['score']:.2f}); "
            f"for: {', '.join(c['evidence']['supporting'])}"
            for c in result["causes"]
        ]
    if result["care"]:
        lines += ["", "**Care**", ""]
        lines += [f"- {c['text']}{' *(under a clinician)*' if c['requires_clinician'] else ''}" for c in result["care"]]
    if result["suppressed_care"]:
        lines += ["", "**Not suggested for this patient**", ""]
        lines += [f"- {s['id'].replace('_', ' ')}: {s['reason']}" for s in result["suppressed_care"]]
    if assumed_location:
        lines += [
            "",
            "_Pain location not recorded: assessed as buttock pain. Complete the intake to refine._",
        ]
    lines += ["", f"_{result['disclaimer']}_"]
    extra: dict[str, Any] = {
        "extension": {
            "urgency": level,
            "red_flags": [f["id"] for f in result["red_flags"]],
            "causes": [c["id"] for c in result["causes"]],
            "knowledge_base": result["knowledge_base"],
        }
    }
    specialties = result["referral"]["specialties"]
    if level != "self_care" and specialties:
        extra["suggestions"] = [_referral_suggestion(level, specialties, patient_id)]
    return _card(
        f"{level.replace('_', ' ').capitalize()}: {top}" + _flag_count(result["red_flags"]),
        INDICATOR[level],
        "\n".join(lines),
        **extra,
    )


def _flag_count(red_flags: list[dict[str, Any]]) -> str:
    return f" — {len(red_flags)} red flag(s)" if red_flags else ""


def _referral_suggestion(level: str, specialties: list[str], patient_id: str) -> dict[str, Any]:
    names = ", ".join(s.replace("_", " ") for s in specialties)
    return {
        "label": f"Refer ({level.replace('_', ' ')}): {names}",
        "uuid": str(uuid.uuid4()),
        "isRecommended": level in ("emergency", "urgent"),
        "actions": [
            {
                "type": "create",
                "description": f"Draft a referral to {names}.",
                "resource": {
                    "resourceType": "ServiceRequest",
                    "status": "draft",
                    "intent": "proposal",
                    "priority": {"emergency": "stat", "urgent": "urgent"}.get(level, "routine"),
                    "subject": {"reference": f"Patient/{patient_id}"},
                    "code": {"text": f"Referral: {names}"},
                },
            }
        ],
    }


def _questions_card(result: dict[str, Any]) -> dict[str, Any]:
    lines = [f"- {q['text']} — {q['why']}" for q in result["questions"]]
    return _card(
        f"Ask next: {len(result['questions'])} question(s), red flags first",
        "info",
        "\n".join(lines),
        links=[{"label": "Open the intake questionnaire", "url": QUESTIONNAIRE_URL, "type": "absolute"}],
    )


def _missing_card(missing: list[str]) -> dict[str, Any]:
    return _card(
        f"Cannot assess yet: record the patient's {' and '.join(missing)}",
        "warning",
        "The triage needs the patient's age and sex. Complete the intake questionnaire and call again.",
        links=[{"label": "Open the intake questionnaire", "url": QUESTIONNAIRE_URL, "type": "absolute"}],
    )


def _unmapped_card(intake: Intake) -> dict[str, Any]:
    lines = [f"- {entry}" for entry in intake.unmapped[:50]]
    return _card(
        f"{len(intake.unmapped)} FHIR item(s) were not used",
        "info",
        "These codes have no mapping in this service and did not inform the assessment:\n" + "\n".join(lines),
    )
