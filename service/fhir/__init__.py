"""FHIR R4 intake: the Questionnaire we publish and the mapping from FHIR data to a record."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from service.fhir.questionnaire import build_code_system, build_questionnaire
from service.fhir.terminology import load_terminology
from service.knowledge.model import KnowledgeBase


def fhir_resources(rules_dir: Path, kb: KnowledgeBase) -> dict[str, Any]:
    """Built once at start: the coding table, the Questionnaire and the CodeSystem."""
    terms = load_terminology(rules_dir, kb)
    return {
        "terminology": terms,
        "questionnaire": build_questionnaire(kb, terms),
        "code_system": build_code_system(kb, terms),
    }
