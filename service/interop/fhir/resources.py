"""The FHIR resources built once at start from the knowledge base and its coding table."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service.interop.fhir.questionnaire import build_code_system, build_questionnaire
from service.interop.fhir.terminology import Terminology, load_terminology
from service.knowledge.model import KnowledgeBase


@dataclass(frozen=True)
class FhirResources:
    terminology: Terminology
    questionnaire: dict[str, Any]
    code_system: dict[str, Any]

    @classmethod
    def build(cls, rules_dir: Path, kb: KnowledgeBase) -> FhirResources:
        terms = load_terminology(rules_dir, kb)
        return cls(
            terminology=terms,
            questionnaire=build_questionnaire(kb, terms),
            code_system=build_code_system(kb, terms),
        )
