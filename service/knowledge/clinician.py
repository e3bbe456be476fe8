"""Clinician wording for the EHR (``rules/clinician.yaml``), checked against the knowledge base.

The assessment speaks to patients; a card in the EHR speaks to the clinician who ordered the
check. Every urgency level and every escalation rule must have clinician wording, so a new
red flag cannot reach a clinician in patient wording or with no wording at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from marshmallow import Schema, ValidationError, fields, validate

from service.knowledge.files import read_knowledge_file
from service.knowledge.model import KnowledgeBase, KnowledgeBaseError, Layer

FILE = "clinician.yaml"

Coding = dict[str, str]

_text = fields.String(validate=validate.Length(min=1))


class _CodeSchema(Schema):
    code = fields.String(required=True, validate=validate.Length(min=1))
    display = fields.String(required=True, validate=validate.Length(min=1))


class _OverrideReasonsSchema(Schema):
    system = fields.Url(required=True)
    codes = fields.List(fields.Nested(_CodeSchema), required=True, validate=validate.Length(min=1))


class _SpecialtySchema(Schema):
    snomed = fields.String(load_default=None, validate=validate.Regexp(r"^[0-9]{6,18}$"))
    display = fields.String(required=True, validate=validate.Length(min=1))


class _ClinicianSchema(Schema):
    levels = fields.Dict(keys=fields.String(), values=_text, required=True)
    reasons = fields.Dict(keys=fields.String(), values=_text, required=True)
    override_reasons = fields.Nested(_OverrideReasonsSchema, required=True)
    specialties = fields.Dict(keys=fields.String(), values=fields.Nested(_SpecialtySchema), required=True)
    disclaimer = fields.String(required=True, validate=validate.Length(min=1))


@dataclass(frozen=True)
class Specialty:
    id: str
    display: str
    snomed: str | None  # SNOMED CT practice setting; None: coded in our own code system


@dataclass(frozen=True)
class ClinicianTexts:
    levels: dict[str, str]  # urgency level id -> clinician wording
    reasons: dict[str, str]  # escalation rule id -> clinician wording
    override_reasons: tuple[Coding, ...]  # FHIR Codings offered when a card is overridden
    specialties: dict[str, Specialty]
    disclaimer: str

    def level(self, level: str) -> str:
        return self.levels[level]

    def reason(self, rule: str) -> str:
        return self.reasons[rule]


def load_clinician_texts(directory: Path, kb: KnowledgeBase) -> ClinicianTexts:
    """Read ``clinician.yaml``; refuse a missing, unknown or extra level or rule id."""
    try:
        raw = _ClinicianSchema().load(read_knowledge_file(directory, FILE) or {})
    except ValidationError as error:
        raise KnowledgeBaseError(FILE, "file", str(error.messages)) from None
    _same_ids(raw["levels"], kb.levels, "levels", "urgency level")
    escalations = {r.id: r for r in kb.rules_in(Layer.ESCALATION)}
    _same_ids(raw["reasons"], escalations, "reasons", "escalation rule")
    referred = {s for r in kb.rules.values() for s in r.refer} | {s for c in kb.causes.values() for s in c.specialties}
    _same_ids(raw["specialties"], dict.fromkeys(referred), "specialties", "referral specialty")
    system = raw["override_reasons"]["system"]
    return ClinicianTexts(
        levels=raw["levels"],
        reasons=raw["reasons"],
        override_reasons=tuple(
            {"system": system, "code": c["code"], "display": c["display"]} for c in raw["override_reasons"]["codes"]
        ),
        specialties={
            key: Specialty(key, value["display"], value["snomed"]) for key, value in raw["specialties"].items()
        },
        disclaimer=raw["disclaimer"],
    )


def _same_ids(given: Mapping[str, object], known: Mapping[str, object], section: str, what: str) -> None:
    for missing in sorted(known.keys() - given.keys()):
        raise KnowledgeBaseError(FILE, f"{section}.{missing}", f"no clinician wording for this {what}")
    for unknown in sorted(given.keys() - known.keys()):
        raise KnowledgeBaseError(FILE, f"{section}.{unknown}", f"not a known {what}")
