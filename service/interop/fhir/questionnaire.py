"""The intake Questionnaire and our local CodeSystem, built from the knowledge base."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.codesystem import CodeSystem
from fhir.resources.R4B.questionnaire import Questionnaire

from service import vocabulary as vocab
from service.interop.fhir.terminology import Coding, Terminology
from service.knowledge.model import KnowledgeBase

QUESTIONNAIRE_ID = "buttock-pain-intake"
CODE_SYSTEM_ID = "buttock-pain"
BASE = "https://cds.example.invalid/fhir"
QUESTIONNAIRE_URL = f"{BASE}/Questionnaire/{QUESTIONNAIRE_ID}"
PREGNANT = {"question": "pregnant", "operator": "=", "answerBoolean": True}


def _choice(link_id: str, text: str, options: list[Coding], **extra: Any) -> dict[str, Any]:
    return {
        "linkId": link_id,
        "text": text,
        "type": "choice",
        "answerOption": [{"valueCoding": option} for option in options],
        **extra,
    }


def _local(terms: Terminology, values: tuple[str, ...]) -> list[Coding]:
    return [{"system": terms.local, "code": value, "display": value.replace("_", " ")} for value in values]


def answer_options(terms: Terminology) -> list[Coding]:
    return [
        {"system": terms.systems["yes_no"], "code": "Y", "display": "Yes"},
        {"system": terms.systems["yes_no"], "code": "N", "display": "No"},
        {"system": terms.systems["null_flavor"], "code": "UNK", "display": "Unknown / not asked"},
    ]


def build_questionnaire(kb: KnowledgeBase, terms: Terminology) -> dict[str, Any]:
    """Every contract field and every input finding (yes / no / unknown), validated as R4."""
    fields = terms.fields
    findings = [
        _choice(
            f,
            kb.findings[f].question or f,
            answer_options(terms),
            code=[terms.findings[f]],
            **({"enableWhen": [PREGNANT]} if f in terms.pregnancy_only else {}),
        )
        for f in kb.input_findings
    ]
    items = [
        {
            "linkId": "age",
            "text": "Age in whole years",
            "type": "integer",
            "required": True,
            "code": [fields["age"]],
        },
        _choice(
            "sex",
            "Sex",
            [{"system": terms.systems["gender"], "code": s} for s in vocab.SEXES],
            required=True,
        ),
        {
            "linkId": "pregnant",
            "text": "Is the patient pregnant?",
            "type": "boolean",
            "code": [fields["pregnant"]],
        },
        {
            "linkId": "gestational_week",
            "text": "Gestational week (1-44)",
            "type": "integer",
            "required": True,
            "code": [fields["gestational_week"]],
            "enableWhen": [PREGNANT],
        },
        _choice(
            "locations",
            "Where is the pain?",
            _local(terms, vocab.LOCATIONS),
            required=True,
            repeats=True,
        ),
        _choice("side", "Which side?", _local(terms, vocab.SIDES)),
        _choice("onset", "How did it start?", _local(terms, vocab.ONSETS)),
        {"linkId": "duration_days", "text": "For how many days?", "type": "decimal"},
        {
            "linkId": "severity",
            "text": "How bad is the pain, 0-10?",
            "type": "integer",
            "code": [fields["severity"]],
        },
        _choice("course", "How is it changing?", _local(terms, vocab.COURSES)),
        {"linkId": "findings", "text": "Findings", "type": "group", "item": findings},
    ]
    questionnaire = {
        "resourceType": "Questionnaire",
        "id": QUESTIONNAIRE_ID,
        "url": QUESTIONNAIRE_URL,
        "version": kb.version,
        "name": "ButtockPainIntake",
        "title": "Buttock and hip pain intake",
        "status": "active",
        "subjectType": ["Patient"],
        "item": items,
    }
    return Questionnaire.model_validate(questionnaire).model_dump(mode="json", exclude_none=True)


def build_code_system(kb: KnowledgeBase, terms: Terminology) -> dict[str, Any]:
    """Our published local codes: the contract's field values and every finding id."""
    concepts = [
        {"code": value, "display": value.replace("_", " ")}
        for value in dict.fromkeys((*vocab.LOCATIONS, *vocab.SIDES, *vocab.ONSETS, *vocab.COURSES))
    ]
    concepts += [
        {"code": f, "display": f.replace("_", " "), "definition": kb.findings[f].question or ""}
        for f in kb.input_findings
    ]
    concepts += [{"code": name, "display": name.replace("_", " ")} for name in terms.fields]
    code_system = {
        "resourceType": "CodeSystem",
        "id": CODE_SYSTEM_ID,
        "url": terms.local,
        "version": kb.version,
        "name": "ButtockPainCodes",
        "status": "active",
        "content": "complete",
        "caseSensitive": True,
        "concept": list({c["code"]: c for c in concepts}.values()),
    }
    return CodeSystem.model_validate(code_system).model_dump(mode="json", exclude_none=True)
