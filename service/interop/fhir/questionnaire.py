"""The intake Questionnaire and our local CodeSystem, built from the knowledge base.

Both are published as ``experimental``: the knowledge base behind them has not been
validated prospectively. Their ``version`` is the knowledge base's, and their ``date`` the
month of that release (knowledge-base versions are ``YYYY.MM.n``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from fhir.resources.R4B.codesystem import CodeSystem
from fhir.resources.R4B.questionnaire import Questionnaire

from service import vocabulary as vocab
from service.interop.fhir.canonical import CODE_SYSTEM_ID, QUESTIONNAIRE_ID
from service.interop.fhir.terminology import Coding, Terminology
from service.knowledge.clinician import Specialty
from service.knowledge.model import KnowledgeBase, KnowledgeBaseError

PUBLISHER = "Buttock and hip pain decision support service"
PREGNANT = {"question": "pregnant", "operator": "=", "answerBoolean": True}
_RELEASE = re.compile(r"^(\d{4})\.(0[1-9]|1[0-2])\.")


def release_date(kb: KnowledgeBase) -> str:
    """The FHIR ``date`` (year and month) of the knowledge-base release."""
    match = _RELEASE.match(kb.version)
    if match is None:
        raise KnowledgeBaseError("meta.yaml", "version", "must start with the release year and month, YYYY.MM.")
    return f"{match[1]}-{match[2]}"


def published(kb: KnowledgeBase) -> dict[str, Any]:
    """What every resource we publish says about itself."""
    return {
        "version": kb.version,
        "status": "active",
        "experimental": True,
        "date": release_date(kb),
        "publisher": PUBLISHER,
    }


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
        "url": terms.questionnaire,
        "name": "ButtockPainIntake",
        "title": "Buttock and hip pain intake",
        **published(kb),
        "subjectType": ["Patient"],
        "item": items,
    }
    return Questionnaire.model_validate(questionnaire).model_dump(mode="json", exclude_none=True)


def _concept(code: str, definition: str, display: str | None = None) -> dict[str, str]:
    return {"code": code, "display": display or code.replace("_", " "), "definition": definition}


def build_code_system(kb: KnowledgeBase, terms: Terminology, specialties: Mapping[str, Specialty]) -> dict[str, Any]:
    """Our published local codes: the contract's field values, every finding id and the referral
    specialties SNOMED CT does not name with confidence; each with a definition."""
    values = (
        ("Pain location", vocab.LOCATIONS),
        ("Side of the pain", vocab.SIDES),
        ("Onset of the pain", vocab.ONSETS),
        ("Course of the pain", vocab.COURSES),
    )
    concepts = [_concept(v, f"{what}: {v.replace('_', ' ')}.") for what, group in values for v in group]
    for f in kb.input_findings:
        finding = kb.findings[f]
        concepts.append(_concept(f, finding.question or finding.description or f"Finding: {f.replace('_', ' ')}."))
    concepts += [_concept(name, f"The symptom record's field '{name}'.") for name in terms.fields]
    concepts += [
        _concept(s.id, f"Referral specialty: {s.display}.", s.display) for s in specialties.values() if s.snomed is None
    ]
    code_system = {
        "resourceType": "CodeSystem",
        "id": CODE_SYSTEM_ID,
        "url": terms.local,
        "name": "ButtockPainCodes",
        "title": "Buttock and hip pain decision support codes",
        **published(kb),
        "content": "complete",
        "caseSensitive": True,
        "concept": list({c["code"]: c for c in concepts}.values()),
    }
    return CodeSystem.model_validate(code_system).model_dump(mode="json", exclude_none=True)
