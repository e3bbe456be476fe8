"""The FHIR resources built from the knowledge base and its coding table, per public base URL.

Canonical URLs live under the base URL EHRs reach the service at, so the resources are built
for a base URL the first time it is asked for, then reused (a few bases at most: the public
one, and the host of a direct FHIR read when ``PUBLIC_BASE_URL`` is unset).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from service.interop.fhir.capability import build_capability_statement
from service.interop.fhir.questionnaire import build_code_system, build_questionnaire
from service.interop.fhir.terminology import Terminology, load_terminology
from service.knowledge.clinician import Specialty
from service.knowledge.model import KnowledgeBase
from service.knowledge.translations import Languages

_BASES_KEPT = 8


@dataclass(frozen=True)
class PublishedFhir:
    """What is served under one base URL."""

    terminology: Terminology
    questionnaires: dict[str, dict[str, Any]]  # by language: each with translations into the others
    code_system: dict[str, Any]
    capability_statement: dict[str, Any]


class FhirResources:
    def __init__(
        self, kb: KnowledgeBase, terminology: Terminology, specialties: Mapping[str, Specialty], languages: Languages
    ) -> None:
        self._kb = kb
        self._terminology = terminology
        self._specialties = specialties
        self._languages = languages
        self.at = lru_cache(maxsize=_BASES_KEPT)(self._publish)

    @classmethod
    def build(
        cls, rules_dir: Path, kb: KnowledgeBase, specialties: Mapping[str, Specialty], languages: Languages
    ) -> FhirResources:
        resources = cls(kb, load_terminology(rules_dir, kb), specialties, languages)
        resources.at("http://localhost")  # refuse to start unless the resources are valid R4
        return resources

    def _publish(self, base: str) -> PublishedFhir:
        terms = self._terminology.served_at(base)
        return PublishedFhir(
            terminology=terms,
            questionnaires={
                texts.language: build_questionnaire(self._kb, terms, texts, self._languages.besides(texts))
                for texts in self._languages
            },
            code_system=build_code_system(self._kb, terms, self._specialties),
            capability_statement=build_capability_statement(self._kb, base),
        )
