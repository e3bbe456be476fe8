"""The FHIR coding table (rules/fhir.yaml): which code means which field or finding."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from service.interop.fhir.canonical import code_system_url, questionnaire_url
from service.knowledge.model import KnowledgeBase, KnowledgeBaseError

Coding = dict[str, str]


@dataclass(frozen=True)
class Terminology:
    systems: dict[str, str]
    fields: dict[str, Coding]
    findings: dict[str, Coding]  # every input finding: SNOMED CT where known, else local
    pregnancy_only: tuple[str, ...]
    history: frozenset[str]  # findings a resolved Condition still makes present
    questionnaire: str = ""  # canonical URL of the intake Questionnaire answers must name

    @property
    def local(self) -> str:
        return self.systems["local"]

    def served_at(self, base: str) -> Terminology:
        """This table with our own code system and Questionnaire at their canonical URLs under ``base``."""
        local, served = self.local, code_system_url(base)

        def moved(coding: Coding) -> Coding:
            return {**coding, "system": served} if coding["system"] == local else coding

        return replace(
            self,
            systems={**self.systems, "local": served},
            fields={name: moved(c) for name, c in self.fields.items()},
            findings={name: moved(c) for name, c in self.findings.items()},
            questionnaire=questionnaire_url(base),
        )

    def finding_for(self, system: str | None, code: str | None) -> str | None:
        """The finding a coding names, by SNOMED CT or by our local code system."""
        if system == self.local and code in self.findings:
            return code
        return next(
            (f for f, c in self.findings.items() if c["system"] == system and c["code"] == code),
            None,
        )

    def field_is(self, name: str, system: str | None, code: str | None) -> bool:
        coding = self.fields[name]
        return (coding["system"], coding["code"]) == (system, code) or (system, code) == (
            self.local,
            name,
        )


def load_terminology(rules_dir: Path, kb: KnowledgeBase) -> Terminology:
    raw: dict[str, Any] = yaml.safe_load((rules_dir / "fhir.yaml").read_text(encoding="utf-8"))
    systems = raw["systems"]

    def coding(entry: dict[str, str], item: str) -> Coding:
        if entry["system"] not in systems:
            raise KnowledgeBaseError("fhir.yaml", item, f"unknown system '{entry['system']}'")
        return {
            "system": systems[entry["system"]],
            "code": entry["code"],
            "display": entry["display"],
        }

    for finding in [*raw["findings"], *raw["pregnancy_only"], *raw["history"]]:
        if finding not in kb.input_findings:
            raise KnowledgeBaseError("fhir.yaml", finding, "unknown input finding")
    findings = {
        f: coding(raw["findings"][f], f)
        if f in raw["findings"]
        else {"system": systems["local"], "code": f, "display": f.replace("_", " ")}
        for f in kb.input_findings
    }
    return Terminology(
        systems=systems,
        fields={name: coding(entry, name) for name, entry in raw["fields"].items()},
        findings=findings,
        pregnancy_only=tuple(raw["pregnancy_only"]),
        history=frozenset(raw["history"]),
    )
