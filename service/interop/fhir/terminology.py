"""The FHIR coding table (rules/fhir.yaml): which code means which field or finding."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
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
    not_male_only: tuple[str, ...]  # findings asked unless the patient is male
    history: frozenset[str]  # findings a resolved Condition still makes present
    questionnaire: str = ""  # canonical URL of the intake Questionnaire answers must name
    also: dict[tuple[str, str], str] = field(default_factory=dict)  # other codings of a finding
    # the pregnancy-status Observation's code, and its answers meaning pregnant / not pregnant
    pregnancy_status: tuple[str, str] = ("", "")
    pregnancy_answers: dict[tuple[str, str], bool] = field(default_factory=dict)

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
        """The finding a coding names, by its own coding, another listed one (``also``) or our
        local code system."""
        if system == self.local and code in self.findings:
            return code
        return next(
            (f for f, c in self.findings.items() if c["system"] == system and c["code"] == code),
            self.also.get((system or "", code or "")),
        )

    def is_pregnancy_status(self, system: str | None, code: str | None) -> bool:
        """Whether a coding is the pregnancy-status Observation's (LOINC 82810-3)."""
        return (system, code) == self.pregnancy_status

    def pregnant_by(self, answers: Iterable[tuple[str | None, str | None]]) -> bool | None:
        """A pregnancy status's answer codings: True if one means pregnant (the safe side), False
        if one means not pregnant, None if none is read (unknown, or a code not listed)."""
        read = [self.pregnancy_answers.get((s or "", c or "")) for s, c in answers]
        return True if True in read else (False if False in read else None)

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

    for finding in [*raw["findings"], *raw["pregnancy_only"], *raw["not_male_only"], *raw["history"]]:
        if finding not in kb.input_findings:
            raise KnowledgeBaseError("fhir.yaml", finding, "unknown input finding")
    for finding in set(raw["pregnancy_only"]) & set(raw["not_male_only"]):
        raise KnowledgeBaseError("fhir.yaml", finding, "listed both as pregnancy_only and as not_male_only")
    findings = {
        f: coding(raw["findings"][f], f)
        if f in raw["findings"]
        else {"system": systems["local"], "code": f, "display": f.replace("_", " ")}
        for f in kb.input_findings
    }
    also: dict[tuple[str, str], str] = {}
    for finding, codings in raw.get("also", {}).items():
        if finding not in kb.input_findings:
            raise KnowledgeBaseError("fhir.yaml", finding, "unknown input finding")
        for entry in codings:
            other = coding(entry, finding)
            key = (other["system"], other["code"])
            if key in also or any((c["system"], c["code"]) == key for c in findings.values()):
                raise KnowledgeBaseError("fhir.yaml", finding, f"code {other['code']} is mapped twice")
            also[key] = finding
    status = raw.get("pregnancy_status", {})
    answers = {
        (c["system"], c["code"]): pregnant
        for pregnant, key in ((True, "pregnant"), (False, "not_pregnant"))
        for c in (coding(entry, "pregnancy_status") for entry in status.get(key, ()))
    }
    status_code = coding(status["code"], "pregnancy_status") if status else {"system": "", "code": ""}
    return Terminology(
        systems=systems,
        fields={name: coding(entry, name) for name, entry in raw["fields"].items()},
        findings=findings,
        pregnancy_only=tuple(raw["pregnancy_only"]),
        not_male_only=tuple(raw["not_male_only"]),
        history=frozenset(raw["history"]),
        also=also,
        pregnancy_status=(status_code["system"], status_code["code"]),
        pregnancy_answers=answers,
    )
