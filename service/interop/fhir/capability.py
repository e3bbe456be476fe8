"""``GET /fhir/metadata``: the CapabilityStatement of the little FHIR server this service is.

It serves two resources by read (the intake Questionnaire and our CodeSystem), no search, and
one operation: the SDC adaptive form ``Questionnaire/$next-question``; the decision support
for EHRs is CDS Hooks, named in the description.
"""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.capabilitystatement import CapabilityStatement

from service.interop.fhir.canonical import CODE_SYSTEM_ID, QUESTIONNAIRE_ID, fhir_base
from service.interop.fhir.questionnaire import published
from service.knowledge.model import KnowledgeBase

FHIR_VERSION = "4.0.1"
NEXT_QUESTION = "http://hl7.org/fhir/uv/sdc/OperationDefinition/Questionnaire-next-question"


def _read(kind: str, ident: str) -> dict[str, Any]:
    return {
        "type": kind,
        "interaction": [{"code": "read"}],
        "documentation": f"Only {kind}/{ident} is published.",
    }


def _questionnaire() -> dict[str, Any]:
    return {
        **_read("Questionnaire", QUESTIONNAIRE_ID),
        "operation": [
            {
                "name": "next-question",
                "definition": NEXT_QUESTION,
                "documentation": f"The {QUESTIONNAIRE_ID} interview as an SDC adaptive form: the next item, or the "
                "completed response with the assessment in an extension.",
            }
        ],
    }


def build_capability_statement(kb: KnowledgeBase, base: str) -> dict[str, Any]:
    statement = {
        "resourceType": "CapabilityStatement",
        "id": "buttock-pain-cds",
        "url": f"{fhir_base(base)}/metadata",
        "name": "ButtockPainCds",
        "title": "Buttock and hip pain decision support: FHIR capabilities",
        **published(kb),
        "description": "Publishes the intake Questionnaire and the CodeSystem of local codes its answers use, "
        "and runs the intake as an SDC adaptive form (Questionnaire/$next-question). "
        f"Decision support is offered over CDS Hooks 2.0 (discovery at {base}/cds-services: patient-view "
        "triage and order-sign medication safety) and as JSON at /v1/assessments.",
        "kind": "instance",
        "software": {"name": "buttock-pain-cds", "version": kb.version},
        "implementation": {"description": "Buttock and hip pain decision support", "url": fhir_base(base)},
        "fhirVersion": FHIR_VERSION,
        "format": ["application/fhir+json"],
        "rest": [
            {
                "mode": "server",
                "documentation": "Read-only apart from $next-question, which stores nothing; no search, no write.",
                "resource": [_questionnaire(), _read("CodeSystem", CODE_SYSTEM_ID)],
            }
        ],
    }
    return CapabilityStatement.model_validate(statement).model_dump(mode="json", exclude_none=True)
