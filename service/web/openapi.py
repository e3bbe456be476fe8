"""Generate the OpenAPI 3.1 document from the marshmallow schemas that validate requests.

``GET /openapi.json`` serves this document, and ``openapi/openapi.yaml`` is the same
document rendered by ``flask --app service.app openapi`` (``make openapi``); a test fails
when the file and the schemas differ.
"""

from __future__ import annotations

import sys
from typing import Any

import yaml
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, Response, jsonify
from marshmallow import Schema

from service.interop.cds_hooks import schemas as hooks
from service.interop.cds_hooks.discovery import MEDICATION_SERVICE_ID, SERVICE_ID
from service.interop.fhir.canonical import CODE_SYSTEM_ID, QUESTIONNAIRE_ID
from service.web import schemas
from service.web.components import components

bp = Blueprint("openapi", __name__, cli_group=None)

TITLE = "Buttock and hip pain decision support"
API_VERSION = "1.0.0"


def _json(schema: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


_ERRORS = {
    "400": _problem("Malformed JSON, a key given twice in one object, or nesting deeper than 64."),
    "413": _problem("Body larger than the limit (64 KiB by default)."),
    "415": _problem("Body is not application/json."),
    "422": _problem("The body breaks the contract; `errors` is keyed by JSON path."),
}


def _inline_nested(schema: type[Schema]) -> str:
    """Nested schemas are written inline: only the schemas registered below get a name.

    apispec treats a falsy name as "inline"; its annotation asks for ``str``.
    """
    return ""


def build_openapi(record_schema: Schema) -> dict[str, Any]:
    spec = APISpec(
        title=TITLE,
        version=API_VERSION,
        openapi_version="3.1.0",
        plugins=[MarshmallowPlugin(schema_name_resolver=_inline_nested)],
        info={
            "description": "Ranks possible causes of buttock and hip pain (pregnancy included), "
            "sets an urgency level with its reasons, suggests care with contraindicated "
            "items removed, and lists the follow-up questions worth asking. It supports, "
            "and does not replace, a clinician."
        },
    )
    for name, schema in (
        ("AssessmentRequest", record_schema),
        ("Assessment", schemas.AssessmentSchema),
        ("KnowledgeBase", schemas.KnowledgeBaseSchema),
        ("Status", schemas.StatusSchema),
        ("Problem", schemas.ProblemSchema),
    ):
        spec.components.schema(name, schema=schema)

    spec.path(
        "/v1/assessments",
        operations={
            "post": {
                "operationId": "createAssessment",
                "summary": "Assess a buttock or hip pain record",
                "parameters": [
                    {
                        "name": "explain",
                        "in": "query",
                        "required": False,
                        "description": "When true, `trace` lists the rules fired in firing order.",
                        "schema": {"type": "string", "enum": ["true", "false"], "default": "false"},
                    }
                ],
                "requestBody": {"required": True, "content": _json("AssessmentRequest")},
                "responses": {
                    "200": {"description": "The assessment.", "content": _json("Assessment")},
                    **_ERRORS,
                },
            }
        },
    )
    _get(
        spec,
        "/v1/knowledge-base",
        "getKnowledgeBase",
        "The knowledge base: version, sources, findings, causes, care, rules",
        {"200": {"description": "The knowledge base.", "content": _json("KnowledgeBase")}},
    )
    _get(
        spec,
        "/healthz",
        "liveness",
        "Liveness: the process answers",
        {"200": {"description": "Alive.", "content": _json("Status")}},
    )
    _get(
        spec,
        "/readyz",
        "readiness",
        "Readiness: knowledge base compiled and engine self-test passed",
        {
            "200": {"description": "Ready.", "content": _json("Status")},
            "503": _problem("Not ready: the engine self-test failed."),
        },
    )
    _get(
        spec,
        "/metrics",
        "metrics",
        "Prometheus metrics for every worker of this instance",
        {
            "200": {
                "description": "Prometheus text exposition format.",
                "content": {"text/plain": {"schema": {"type": "string"}}},
            }
        },
    )
    _cds_hooks_paths(spec)
    _get(
        spec,
        "/openapi.json",
        "openapi",
        "This document",
        {
            "200": {
                "description": "OpenAPI 3.1 document.",
                "content": {"application/json": {"schema": {"type": "object"}}},
            }
        },
    )
    document = spec.to_dict()
    _document_cross_field_rules(document["components"]["schemas"]["AssessmentRequest"])
    return {"openapi": document.pop("openapi"), **document}


def _get(spec: APISpec, path: str, operation_id: str, summary: str, responses: dict[str, Any]) -> None:
    """A read-only operation: every GET endpoint is declared the same way."""
    spec.path(path, operations={"get": {"operationId": operation_id, "summary": summary, "responses": responses}})


def _cds_hooks_paths(spec: APISpec) -> None:
    """The CDS Hooks 2.0 service and the FHIR intake resources (service.cds_hooks)."""
    for name, schema in (
        ("CdsHookRequest", hooks.HookRequestSchema),
        ("CdsOrderSignRequest", hooks.OrderSignRequestSchema),
        ("CdsCards", hooks.CardsSchema),
        ("CdsFeedback", hooks.FeedbackSchema),
        ("CdsDiscovery", hooks.DiscoverySchema),
    ):
        spec.components.schema(name, schema=schema)
    spec.components.security_scheme(
        "ehrJwt",
        {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "CDS Hooks 2.0: RS384/ES384, signed by an allow-listed EHR (CDS_CLIENTS), "
            "aud = PUBLIC_BASE_URL + the path called, lifetime at most 5 minutes, each jti once.",
        },
    )
    refused = {
        "401": _problem("Missing, invalid, expired or replayed token."),
        "503": _problem("The replay store (REPLAY_STORE) cannot be reached: refused, retry later."),
    }
    fhir = {"application/fhir+json": {"schema": {"type": "object"}}}
    _get(
        spec,
        "/cds-services",
        "cdsDiscovery",
        "CDS Hooks discovery",
        {"200": {"description": "The services offered.", "content": _json("CdsDiscovery")}},
    )
    spec.path(
        f"/cds-services/{SERVICE_ID}",
        operations={
            "post": {
                "operationId": "cdsTriage",
                "summary": "CDS Hooks patient-view: triage cards",
                "security": [{"ehrJwt": []}],
                "requestBody": {"required": True, "content": _json("CdsHookRequest")},
                "responses": {
                    "200": {"description": "Cards.", "content": _json("CdsCards")},
                    **refused,
                    "412": _problem("Neither the Patient nor the intake QuestionnaireResponse was prefetched."),
                    **_ERRORS,
                    "400": _problem(
                        "Malformed JSON, or prefetched FHIR that is malformed, out of range or about another "
                        "patient than context.patientId; the detail names the resource."
                    ),
                },
            }
        },
    )
    spec.path(
        f"/cds-services/{MEDICATION_SERVICE_ID}",
        operations={
            "post": {
                "operationId": "cdsMedicationSafety",
                "summary": "CDS Hooks order-sign: a card per contraindicated draft medication order",
                "security": [{"ehrJwt": []}],
                "requestBody": {"required": True, "content": _json("CdsOrderSignRequest")},
                "responses": {
                    "200": {
                        "description": "Cards; draft orders whose medication is not in the table are listed in "
                        "`extension.unmapped_orders`.",
                        "content": _json("CdsCards"),
                    },
                    **refused,
                    "412": _problem("The Patient was not prefetched."),
                    **_ERRORS,
                },
            }
        },
    )
    for service_id, operation_id in ((SERVICE_ID, "cdsFeedback"), (MEDICATION_SERVICE_ID, "cdsMedicationFeedback")):
        spec.path(
            f"/cds-services/{service_id}/feedback",
            operations={
                "post": {
                    "operationId": operation_id,
                    "summary": "CDS Hooks card feedback (counted, overrides by reason code; never stored)",
                    "security": [{"ehrJwt": []}],
                    "requestBody": {"required": True, "content": _json("CdsFeedback")},
                    "responses": {
                        "200": {"description": "Accepted (no body)."},
                        **refused,
                        **_ERRORS,
                    },
                }
            },
        )
    _get(
        spec,
        "/fhir/metadata",
        "fhirCapabilityStatement",
        "The FHIR R4 CapabilityStatement: what this service serves",
        {"200": {"description": "CapabilityStatement.", "content": fhir}},
    )
    _get(
        spec,
        f"/fhir/Questionnaire/{QUESTIONNAIRE_ID}",
        "intakeQuestionnaire",
        "The FHIR R4 intake Questionnaire",
        {"200": {"description": "Questionnaire.", "content": fhir}},
    )
    _get(
        spec,
        f"/fhir/CodeSystem/{CODE_SYSTEM_ID}",
        "localCodeSystem",
        "The FHIR R4 CodeSystem of this service's local codes",
        {"200": {"description": "CodeSystem.", "content": fhir}},
    )


def _document_cross_field_rules(request: dict[str, Any]) -> None:
    """Describe, in JSON Schema, the rules the schemas check in ``@validates_schema``."""
    request["properties"]["patient"].update(
        {
            "if": {"properties": {"sex": {"const": "male"}}, "required": ["sex"]},
            "then": {"not": {"required": ["pregnancy"]}},
        }
    )
    # Not expressible in JSON Schema for generators (it would need one `not` per finding);
    # stated in words, enforced by the schema, tested in tests/test_api.py.
    request["properties"]["findings"]["description"] += " A finding may not be in both lists."


def render_yaml(document: dict[str, Any]) -> str:
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)


@bp.get("/openapi.json")
def openapi_document() -> Response:
    return jsonify(components().openapi)


@bp.cli.command("openapi")
def print_openapi() -> None:
    """Print the OpenAPI document as YAML (``make openapi`` writes it to openapi/openapi.yaml)."""
    sys.stdout.write(render_yaml(components().openapi))
