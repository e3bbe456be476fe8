"""Medication → drug class (``rules/medications.yaml``), checked against the knowledge base.

The order-sign service needs to know which of the knowledge base's drug classes a draft
order belongs to before the contraindication rules can speak about it. The table is data,
reviewed like the rules: a class no care item or contraindication rule names, a code mapped
twice or an alternative for an unknown rule refuses the start.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from marshmallow import Schema, ValidationError, fields, validate

from service.knowledge.files import read_knowledge_file
from service.knowledge.model import KnowledgeBase, KnowledgeBaseError, Layer

FILE = "medications.yaml"

_codes = fields.List(fields.String(validate=validate.Length(min=1)), load_default=list)


class _CodesSchema(Schema):
    rxnorm = _codes
    atc = _codes
    snomed = _codes


class _MedicationSchema(Schema):
    id = fields.String(required=True, validate=validate.Length(min=1))
    display = fields.String(required=True, validate=validate.Length(min=1))
    drug_classes = fields.List(fields.String(), required=True)
    codes = fields.Nested(_CodesSchema, load_default=dict)
    text = fields.List(fields.String(validate=validate.Length(min=3)), required=True, validate=validate.Length(min=1))


class _AlternativeSchema(Schema):
    rule = fields.String(required=True)
    medication = fields.String(required=True)


class _TableSchema(Schema):
    systems = fields.Dict(keys=fields.String(validate=validate.OneOf(("rxnorm", "atc", "snomed"))), values=fields.Url())
    medications = fields.List(fields.Nested(_MedicationSchema), required=True, validate=validate.Length(min=1))
    alternatives = fields.List(fields.Nested(_AlternativeSchema), load_default=list)


@dataclass(frozen=True)
class Medication:
    id: str
    display: str
    drug_classes: tuple[str, ...]
    codings: tuple[tuple[str, str], ...]  # (system URI, code), the first is the preferred one
    names: tuple[str, ...]


@dataclass(frozen=True)
class MedicationTable:
    medications: dict[str, Medication]
    alternatives: dict[str, str]  # contraindication rule id -> medication id
    _by_code: dict[tuple[str, str], Medication] = field(repr=False)
    _by_name: tuple[tuple[re.Pattern[str], Medication], ...] = field(repr=False)

    def by_code(self, system: str | None, code: str | None) -> Medication | None:
        return self._by_code.get((system or "", code or ""))

    def by_text(self, text: str | None) -> Medication | None:
        """The medication whose name appears as whole words in ``text`` (longest name first)."""
        return next((m for pattern, m in self._by_name if text and pattern.search(text)), None)


def load_medications(directory: Path, kb: KnowledgeBase) -> MedicationTable:
    try:
        raw = _TableSchema().load(read_knowledge_file(directory, FILE) or {})
    except ValidationError as error:
        raise KnowledgeBaseError(FILE, "file", str(error.messages)) from None
    classes = {c.drug_class for c in kb.care.values() if c.drug_class}
    classes |= {d for r in kb.rules_in(Layer.CONTRAINDICATION) for d in (*r.drug_classes, *r.caution_drug_classes)}
    systems = raw.get("systems", {})
    medications: dict[str, Medication] = {}
    by_code: dict[tuple[str, str], Medication] = {}
    for entry in raw["medications"]:
        if entry["id"] in medications:
            raise KnowledgeBaseError(FILE, entry["id"], "duplicate medication id")
        for drug_class in entry["drug_classes"]:
            if drug_class not in classes:
                raise KnowledgeBaseError(
                    FILE, entry["id"], f"drug class '{drug_class}' is named by no care item or rule"
                )
        codings = []
        for kind, codes in entry["codes"].items():
            if codes and kind not in systems:
                raise KnowledgeBaseError(FILE, entry["id"], f"no system URI for '{kind}' codes")
            codings += [(systems[kind], code) for code in codes]
        medication = Medication(
            id=entry["id"],
            display=entry["display"],
            drug_classes=tuple(entry["drug_classes"]),
            codings=tuple(codings),
            names=tuple(entry["text"]),
        )
        for coding in codings:
            if coding in by_code:
                raise KnowledgeBaseError(FILE, entry["id"], f"code {coding[1]} is also mapped to {by_code[coding].id}")
            by_code[coding] = medication
        medications[medication.id] = medication
    contraindications = {r.id for r in kb.rules_in(Layer.CONTRAINDICATION)}
    alternatives = {}
    for alternative in raw["alternatives"]:
        if alternative["rule"] not in contraindications:
            raise KnowledgeBaseError(FILE, alternative["rule"], "alternative for an unknown contraindication rule")
        if alternative["medication"] not in medications:
            raise KnowledgeBaseError(FILE, alternative["rule"], f"unknown medication '{alternative['medication']}'")
        alternatives[alternative["rule"]] = alternative["medication"]
    names = sorted(((n, m) for m in medications.values() for n in m.names), key=lambda pair: -len(pair[0]))
    return MedicationTable(
        medications=medications,
        alternatives=alternatives,
        _by_code=by_code,
        _by_name=tuple((re.compile(rf"\b{re.escape(n)}\b", re.IGNORECASE), m) for n, m in names),
    )
