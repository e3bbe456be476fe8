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
from service.knowledge.translations import Languages
from service.web import schemas
from service.web.components import components
from service.web.examples import Example, load_examples

bp = Blueprint("openapi", __name__, cli_group=None)

TITLE = "Buttock and hip pain decision support"
API_VERSION = "1.1.0"


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


TAGS = [
    {"name": "assessment", "description": "Assess a symptom record: causes, urgency, care, questions."},
    {"name": "knowledge base", "description": "The rules, sources and vocabularies the service reasons with."},
    {"name": "CDS Hooks", "description": "HL7 CDS Hooks 2.0: EHRs call these with a signed JWT."},
    {"name": "FHIR", "description": "FHIR R4 resources for the intake questionnaire and the local codes."},
    {"name": "operations", "description": "Health, readiness, metrics and this document."},
    {"name": "pages", "description": "HTML pages for people: the API documentation and the knowledge base."},
]
PUBLIC: list[dict[str, list[str]]] = []  # no credentials: the assessment API sits behind the gateway
EHR_JWT: list[dict[str, list[str]]] = [{"ehrJwt": []}]


def _localised(response: dict[str, Any]) -> dict[str, Any]:
    """A response worded in the language ``Accept-Language`` chose."""
    return {**response, "headers": {"Content-Language": "ContentLanguage", "Vary": "VaryAcceptLanguage"}}


def _language_components(spec: APISpec, languages: Languages) -> None:
    """``Accept-Language`` (the request) and ``Content-Language`` (the answer), declared once."""
    offered = ", ".join(f"`{c.language}` ({c.name}, answered as `{c.tag}`)" for c in languages)
    spec.components.parameter(
        "AcceptLanguage",
        "header",
        {
            "name": "Accept-Language",
            "required": False,
            "description": f"The patient's language (RFC 9110; q-values respected, `q=0` excludes, `*` is any "
            f"language). Offered: {offered}. A range matches its first subtag (`es-MX` is `es`, `zh-CN`, "
            "`zh-Hans` and `zh-SG` are `zh`). Unsupported, missing or malformed: English. Only patient-facing "
            "text changes; ids, urgency, causes and scores are the same in every language.",
            "schema": {"type": "string"},
            "examples": {"chinese": {"value": "zh-CN,zh;q=0.9,en;q=0.5"}, "spanish": {"value": "es-MX"}},
        },
    )
    spec.components.header(
        "ContentLanguage",
        {
            "description": "The BCP 47 tag of the language the patient-facing text is in.",
            "schema": {"type": "string", "enum": [c.tag for c in languages]},
        },
    )
    spec.components.header(
        "VaryAcceptLanguage",
        {
            "description": "Includes `Accept-Language`: the wording depends on it (beside `Origin`, for CORS).",
            "schema": {"type": "string"},
        },
    )


def build_openapi(record_schema: Schema, languages: Languages) -> dict[str, Any]:
    spec = APISpec(
        title=TITLE,
        version=API_VERSION,
        openapi_version="3.1.0",
        plugins=[MarshmallowPlugin(schema_name_resolver=_inline_nested)],
        info={
            "description": "Ranks possible causes of buttock and hip pain (pregnancy included), "
            "sets an urgency level with its reasons, suggests care with contraindicated "
            "items removed, and lists the follow-up questions worth asking. It supports, "
            "and does not replace, a clinician.\n\n"
            "Interactive documentation is served at `/docs`; the knowledge base, for clinical "
            "reviewers, at `/knowledge-base`.",
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
            "contact": {"name": "buttock-pain-cds maintainers (see the README for the clinical safety officer)"},
        },
        servers=[{"url": "/", "description": "The service that serves this document."}],
        tags=TAGS,
    )
    for name, schema in (
        ("AssessmentRequest", record_schema),
        ("Assessment", schemas.AssessmentSchema),
        ("KnowledgeBase", schemas.KnowledgeBaseSchema),
        ("Status", schemas.StatusSchema),
        ("Problem", schemas.ProblemSchema),
    ):
        spec.components.schema(name, schema=schema)
    _language_components(spec, languages)
    examples = load_examples()
    operation = _Operations(spec, examples)

    operation.add(
        "post",
        "/v1/assessments",
        "createAssessment",
        tag="assessment",
        summary="Assess a buttock or hip pain record",
        description="Validates the record strictly (unknown keys and ids, a finding in two of the lists and "
        "pregnancy recorded for sex `male` are all 422) and runs it through the rules; an age or a "
        "gestational week left out is assessed for every value the rules tell apart (`unrecorded`). Returns ranked "
        "causes with the findings for and against each, the urgency with its reasons and red flags, "
        "care with anything contraindicated for this patient removed and listed with the reason, a "
        "referral, and the questions worth asking next (red-flag screens first). A finding in neither "
        "list is unknown, never absent.",
        parameters=[
            {
                "name": "explain",
                "in": "query",
                "required": False,
                "description": "When true, `trace` lists the rules fired in firing order.",
                "schema": {"type": "string", "enum": ["true", "false"], "default": "false"},
            },
            "AcceptLanguage",
        ],
        request="AssessmentRequest",
        responses={"200": _localised({"description": "The assessment.", "content": _json("Assessment")}), **_ERRORS},
    )
    operation.add(
        "get",
        "/v1/knowledge-base",
        "getKnowledgeBase",
        tag="knowledge base",
        summary="The knowledge base: version, sources, findings, causes, care, rules",
        description="Everything a reviewer needs to trace a conclusion: every source, finding (with its "
        "patient-facing question), cause, care item and rule with its conditions, conclusion and "
        "sources, in review order, and the languages patients are answered in with each translation's review "
        "status. The same content as an HTML page: `GET /knowledge-base`.",
        responses={"200": {"description": "The knowledge base.", "content": _json("KnowledgeBase")}},
    )
    operation.add(
        "get",
        "/healthz",
        "liveness",
        tag="operations",
        summary="Liveness: the process answers",
        description="For the orchestrator's liveness probe; never touches the rule engine.",
        responses={"200": {"description": "Alive.", "content": _json("Status")}},
    )
    operation.add(
        "get",
        "/readyz",
        "readiness",
        tag="operations",
        summary="Readiness: knowledge base compiled and engine self-test passed",
        description="For the readiness probe: 200 once the knowledge base is compiled and the engine's "
        "self-test record (`rules/meta.yaml`) fires the rules it should.",
        responses={
            "200": {"description": "Ready.", "content": _json("Status")},
            "503": _problem("Not ready: the engine self-test failed."),
        },
    )
    operation.add(
        "get",
        "/metrics",
        "metrics",
        tag="operations",
        summary="Prometheus metrics for every worker of this instance",
        description="Requests, latency, assessments by urgency, rule-engine time and the knowledge base "
        "in use, summed over all workers. No patient data.",
        responses={
            "200": {
                "description": "Prometheus text exposition format.",
                "content": {"text/plain": {"schema": {"type": "string"}}},
            }
        },
    )
    _cds_hooks_paths(spec, operation)
    operation.add(
        "get",
        "/openapi.json",
        "openapi",
        tag="operations",
        summary="This document",
        description="The OpenAPI 3.1 document, generated from the schemas that validate requests; "
        "`openapi/openapi.yaml` in the repository is the same document.",
        responses={
            "200": {
                "description": "OpenAPI 3.1 document.",
                "content": {"application/json": {"schema": {"type": "object"}}},
            }
        },
    )
    html = {"text/html": {"schema": {"type": "string"}}}
    operation.add(
        "get",
        "/docs",
        "apiDocs",
        tag="pages",
        summary="Interactive API documentation",
        description="Swagger UI for this document, from assets the service itself serves under "
        "`/docs/assets/` (no CDN).",
        responses={"200": {"description": "HTML page.", "content": html}},
    )
    operation.add(
        "get",
        "/knowledge-base",
        "knowledgeBasePage",
        tag="pages",
        summary="The knowledge base as a page for clinical reviewers",
        description="Every rule by layer with its rationale, conditions, conclusion and sources; every "
        "source; the traceability table; the care items with their contraindications; a picture of the "
        "chain with red flags highlighted; searchable. Generated from the knowledge base the service runs.",
        responses={"200": {"description": "HTML page.", "content": html}},
    )
    document = spec.to_dict()
    _document_cross_field_rules(document["components"]["schemas"]["AssessmentRequest"])
    _defaults_in_words(document["components"]["schemas"]["AssessmentRequest"])
    return {"openapi": document.pop("openapi"), **document}


class _Operations:
    """Declares operations the same way: tag, summary, description, security and the worked example."""

    def __init__(self, spec: APISpec, examples: dict[str, Example]) -> None:
        self.spec = spec
        self.examples = examples

    def add(
        self,
        method: str,
        path: str,
        operation_id: str,
        *,
        tag: str,
        summary: str,
        description: str,
        responses: dict[str, Any],
        request: str | None = None,
        request_media: tuple[str, ...] = ("application/json",),
        parameters: list[dict[str, Any] | str] | None = None,
        security: list[dict[str, list[str]]] = PUBLIC,
    ) -> None:
        operation: dict[str, Any] = {
            "operationId": operation_id,
            "tags": [tag],
            "summary": summary,
            "description": description,
            "security": security,
            **({"parameters": parameters} if parameters else {}),
        }
        example = self.examples[operation_id]
        if request:
            examples = {"example": {"summary": example.summary, "value": example.body}}
            content = {media: {**_json(request)["application/json"], "examples": examples} for media in request_media}
            operation["requestBody"] = {"required": True, "content": content}
        answered = responses[str(example.status)]
        if "content" in answered:  # an answer with no body has nothing to show
            media = next(iter(answered["content"]))
            answered["content"][media]["examples"] = {
                "example": {
                    "summary": example.summary + (" (abridged)" if example.abridged else ""),
                    "value": example.response,
                }
            }
        operation["responses"] = responses
        self.spec.path(path, operations={method: operation})


def _cds_hooks_paths(spec: APISpec, operation: _Operations) -> None:
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
    operation.add(
        "get",
        "/cds-services",
        "cdsDiscovery",
        tag="CDS Hooks",
        summary="CDS Hooks discovery",
        description="The CDS services offered, with their hooks and prefetch templates (the Patient, the "
        "latest intake QuestionnaireResponse, Observations and Conditions).",
        responses={"200": {"description": "The services offered.", "content": _json("CdsDiscovery")}},
    )
    operation.add(
        "post",
        f"/cds-services/{SERVICE_ID}",
        "cdsTriage",
        tag="CDS Hooks",
        summary="CDS Hooks patient-view: triage cards",
        description="Maps the prefetched FHIR resources to a symptom record (pregnancy recorded for a male "
        "patient is refused, as in `POST /v1/assessments`), assesses it exactly as `POST /v1/assessments` "
        "does and answers with cards: the summary (urgency, causes, care, what was removed), a referral "
        "suggestion above self-care, and the questions to ask next. FHIR codes that could not be mapped, "
        "and questionnaire answers of another kind or shape than their item takes, are reported in a card, "
        "never dropped, and the rest assessed.",
        request="CdsHookRequest",
        security=EHR_JWT,
        responses={
            "200": {"description": "Cards.", "content": _json("CdsCards")},
            **refused,
            "412": _problem("Neither the Patient nor the intake QuestionnaireResponse was prefetched."),
            **_ERRORS,
            "400": _problem(
                "Malformed JSON, or prefetched FHIR that is malformed, out of range or about another "
                "patient than context.patientId; the detail names the resource."
            ),
        },
    )
    operation.add(
        "post",
        f"/cds-services/{MEDICATION_SERVICE_ID}",
        "cdsMedicationSafety",
        tag="CDS Hooks",
        summary="CDS Hooks order-sign: a card per contraindicated draft medication order",
        description="Checks each draft MedicationRequest, for every medicine it names (each ingredient of a "
        "combination), against the contraindication rules for this patient (pregnancy, gestational week, "
        "conditions) and answers with a card per order that a rule removes or cautions on, with the rule's "
        "clinical rationale; draft orders holding a medicine that is not in the table (all of it, or an "
        "ingredient of a combination) are listed in `extension.unmapped_orders`. A draft order that cannot be "
        'read (not valid R4, no id) is listed in `extension.unread_orders` and carded "not checked" while '
        "the other orders are checked.",
        request="CdsOrderSignRequest",
        security=EHR_JWT,
        responses={
            "200": {
                "description": "Cards; draft orders holding a medicine that is not in the table are listed in "
                "`extension.unmapped_orders`, draft orders that cannot be read in `extension.unread_orders`.",
                "content": _json("CdsCards"),
            },
            **refused,
            "412": _problem("The Patient was not prefetched."),
            **_ERRORS,
            "400": _problem(
                "Malformed JSON (a key given twice in one object, nesting deeper than 64), context.draftOrders "
                "that is not a FHIR Bundle (or whose entry is not a list), "
                "or prefetched FHIR that is malformed, out of range or about another patient than "
                "context.patientId; the detail names it. A draft order that cannot be read is no 400."
            ),
        },
    )
    for service_id, operation_id in ((SERVICE_ID, "cdsFeedback"), (MEDICATION_SERVICE_ID, "cdsMedicationFeedback")):
        operation.add(
            "post",
            f"/cds-services/{service_id}/feedback",
            operation_id,
            tag="CDS Hooks",
            summary="CDS Hooks card feedback (counted, overrides by reason code; never stored)",
            description="Accepts the EHR's feedback on cards and counts it by outcome and override reason "
            "(`cds_hooks_feedback_total`); nothing is stored or logged. Answers 200 with no body, as CDS "
            "Hooks 2.0 defines it.",
            request="CdsFeedback",
            security=EHR_JWT,
            responses={"200": {"description": "Accepted (no body)."}, **refused, **_ERRORS},
        )
    operation.add(
        "get",
        "/fhir/metadata",
        "fhirCapabilityStatement",
        tag="FHIR",
        summary="The FHIR R4 CapabilityStatement: what this service serves",
        description="The FHIR R4 CapabilityStatement of this service: the Questionnaire and CodeSystem it "
        "serves and the CDS Hooks services beside them.",
        responses={"200": {"description": "CapabilityStatement.", "content": fhir}},
    )
    operation.add(
        "get",
        f"/fhir/Questionnaire/{QUESTIONNAIRE_ID}",
        "intakeQuestionnaire",
        tag="FHIR",
        summary="The FHIR R4 intake Questionnaire",
        description="Every field of the symptom record and every finding (yes / no / unknown), coded in "
        "SNOMED CT where the concept is certain and in the local code system otherwise; pregnancy items "
        "are enabled only once the patient is recorded as pregnant (never for a male patient). Served in the "
        "language `Accept-Language` chooses (`language` says which), with FHIR `translation` extensions "
        "(http://hl7.org/fhir/StructureDefinition/translation) on every text, title and answer label for the "
        "other languages.",
        parameters=["AcceptLanguage"],
        responses={"200": _localised({"description": "Questionnaire.", "content": fhir})},
    )
    spec.components.schema(
        "FhirQuestionnaireResponse",
        component={
            "type": "object",
            "description": "A FHIR R4 QuestionnaireResponse with a contained Questionnaire (SDC adaptive form), "
            "or a Parameters resource holding it as `questionnaire-response`. Its items answer items of the "
            "intake Questionnaire (same link ids and answer codes).",
        },
    )
    operation.add(
        "post",
        "/fhir/Questionnaire/$next-question",
        "nextQuestion",
        tag="FHIR",
        summary="The intake as an SDC adaptive form: the next question, or the completed assessment",
        description="FHIR SDC `Questionnaire/$next-question`. Send the QuestionnaireResponse with its contained "
        "Questionnaire (no items at first) and the answers given so far; the same response comes back with the "
        "next item(s) appended to the contained Questionnaire (first the items about the patient and the "
        "pain, then one question at a time, in the order `POST /v1/assessments` gives `questions`). When the "
        "interview is complete, `status` is `completed` and the extension "
        "`{PUBLIC_BASE_URL}/fhir/StructureDefinition/assessment` carries the urgency, advice, red flags, "
        "ranked causes and why the interview ended. Nothing is stored.",
        request="FhirQuestionnaireResponse",
        request_media=("application/fhir+json", "application/json"),
        parameters=["AcceptLanguage"],
        responses={
            "200": _localised(
                {"description": "The QuestionnaireResponse, with the next item or completed.", "content": fhir}
            ),
            **_ERRORS,
            "400": _problem(
                "Malformed JSON, or FHIR that is not a valid R4 QuestionnaireResponse, references another "
                "Questionnaire, answers items the intake Questionnaire does not have, answers an item with a "
                "value of another kind than the item's (a yes as text, a coding from another system), or is out "
                "of range; the detail names the item and what it takes."
            ),
            "415": _problem("Body is not application/fhir+json or application/json."),
            "422": _problem(
                "The answers make a record that breaks the contract; `errors` is keyed by the item whose "
                "answer gave the value, as a FHIRPath: `QuestionnaireResponse.item.where(linkId='age')`."
            ),
        },
    )
    operation.add(
        "get",
        f"/fhir/CodeSystem/{CODE_SYSTEM_ID}",
        "localCodeSystem",
        tag="FHIR",
        summary="The FHIR R4 CodeSystem of this service's local codes",
        description="The local codes: the contract's finding, location and cause ids.",
        responses={"200": {"description": "CodeSystem.", "content": {**fhir}}},
    )


def _document_cross_field_rules(request: dict[str, Any]) -> None:
    """Describe, in JSON Schema and in words, the rules the schemas check in ``@validates_schema``.

    Generated clients keep only what the document says, so each rule is stated where a
    developer reads the field, not only in the prose of the operation.
    """
    patient = request["properties"]["patient"]
    male_not_pregnant = "Pregnancy may not be recorded for sex `male` (422)."
    patient.update(
        {
            "description": male_not_pregnant,
            "if": {"properties": {"sex": {"const": "male"}}, "required": ["sex"]},
            "then": {"not": {"required": ["pregnancy"]}},
        }
    )
    patient["properties"]["sex"]["description"] = male_not_pregnant
    patient["properties"]["pregnancy"]["description"] += " " + male_not_pregnant
    # Not expressible in JSON Schema for generators (it would need one `not` per finding);
    # stated in words, enforced by the schema, tested in tests/test_api.py; the schemathesis
    # hooks (schemathesis.toml) keep generated records clear of it.
    request["properties"]["findings"]["description"] += " A finding may be in only one of the lists (422)."


def _defaults_in_words(schema: dict[str, Any]) -> None:
    """Move request defaults into the descriptions.

    The service fills an omitted field with its default, but client generators read ``default``
    as "always present" (openapi-typescript makes such fields required), which would force
    callers to send what they do not know. So the request states its defaults in words.
    """
    for field in schema.get("properties", {}).values():
        if "default" in field:
            said = f"Omitted: `{field.pop('default')}`."
            field["description"] = f"{field['description']} {said}" if "description" in field else said
        if field.get("type") == "object":
            _defaults_in_words(field)


def render_yaml(document: dict[str, Any]) -> str:
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)


@bp.get("/openapi.json")
def openapi_document() -> Response:
    return jsonify(components().openapi)


@bp.cli.command("openapi")
def print_openapi() -> None:
    """Print the OpenAPI document as YAML (``make openapi`` writes it to openapi/openapi.yaml)."""
    sys.stdout.write(render_yaml(components().openapi))
