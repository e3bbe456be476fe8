"""The knowledge base's files: which there are, and the structure each must have.

Every file is read with a marshmallow schema that refuses unknown keys, so a misspelt key
in a rule fails at start, naming the file and the item, instead of silently dropping a
condition. :mod:`service.knowledge.loader` builds the typed knowledge base from what these
schemas load.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from service import vocabulary as vocab
from service.knowledge.model import KnowledgeBaseError, Layer

RULE_FILES: dict[str, Layer] = {
    "derived.yaml": Layer.DERIVED,
    "evidence.yaml": Layer.EVIDENCE,
    "escalation.yaml": Layer.ESCALATION,
    "contraindications.yaml": Layer.CONTRAINDICATION,
}
KNOWLEDGE_FILES = (
    "meta.yaml",
    "fhir.yaml",
    "sources.yaml",
    "findings.yaml",
    "causes.yaml",
    "urgency.yaml",
    "care.yaml",
    *RULE_FILES,
    "clinician.yaml",
    "medications.yaml",
    "texts.yaml",
    "interview.yaml",
)
TEXTS_FILE = "texts.yaml"  # patient-facing English no rule owns (service.knowledge.translations)
TRANSLATIONS_DIR = "translations"  # one catalogue per language besides English


def translation_files(directory: Path) -> list[str]:
    """The catalogue files, named relative to the rules directory, sorted."""
    return sorted(f"{TRANSLATIONS_DIR}/{p.name}" for p in (directory / TRANSLATIONS_DIR).glob("*.yaml"))


_ids = fields.List(fields.String(), load_default=list)
_id = fields.String(required=True, validate=validate.Length(min=1))


def _one_of(values: Iterable[str]) -> fields.List:
    return fields.List(fields.String(validate=validate.OneOf(tuple(values))), load_default=list)


class _RangeSchema(Schema):
    min = fields.Float(load_default=None)
    max = fields.Float(load_default=None)
    # `unknown` in the file; not the attribute's name, which marshmallow keeps for its own option
    includes_unknown = fields.Boolean(data_key="unknown", load_default=False)


class _PatientSchema(Schema):
    pregnant = fields.Boolean(load_default=None)
    sex = _one_of(vocab.SEXES)
    age = fields.Nested(_RangeSchema, load_default=None)
    gestational_week = fields.Nested(_RangeSchema, load_default=None)


class _ComplaintSchema(Schema):
    locations = _one_of(vocab.LOCATIONS)
    side = _one_of(vocab.SIDES)
    onset = _one_of(vocab.ONSETS)
    course = _one_of(vocab.COURSES)
    severity = fields.Nested(_RangeSchema, load_default=None)
    duration_days = fields.Nested(_RangeSchema, load_default=None)


class _WhenSchema(Schema):
    present = _ids
    absent = _ids
    causes = _ids  # contraindications only: any of these causes is supported
    patient = fields.Nested(_PatientSchema, load_default=dict)
    complaint = fields.Nested(_ComplaintSchema, load_default=dict)


class _DeriveThen(Schema):
    derive = _id


class _EvidenceThen(Schema):
    supports = fields.String()
    against = fields.String()
    weight = fields.Float(required=True, validate=validate.Range(0, 1, min_inclusive=False))

    @validates_schema
    def _exactly_one_direction(self, data: dict, **_: Any) -> None:
        if ("supports" in data) == ("against" in data):
            raise ValidationError("give exactly one of 'supports' or 'against'")


class _EscalationThen(Schema):
    level = fields.String(required=True, validate=validate.OneOf(vocab.URGENCY_LEVELS))
    red_flag = fields.Boolean(load_default=False)
    reason = _id
    refer = _ids
    implicates = _ids


class _SuppressSchema(Schema):
    drug_classes = _ids
    modalities = _ids


class _ContraindicationThen(Schema):
    suppress = fields.Nested(_SuppressSchema, load_default=dict)
    caution = fields.Nested(_SuppressSchema, load_default=dict)
    reason = _id


_THEN: dict[Layer, type[Schema]] = {
    Layer.DERIVED: _DeriveThen,
    Layer.EVIDENCE: _EvidenceThen,
    Layer.ESCALATION: _EscalationThen,
    Layer.CONTRAINDICATION: _ContraindicationThen,
}


def rule_schema(layer: Layer) -> Schema:
    class _RuleSchema(Schema):
        id = _id
        rationale = _id
        when = fields.Nested(_WhenSchema, required=True)
        then = fields.Nested(_THEN[layer], required=True)
        sources = fields.List(fields.String(), required=True, validate=validate.Length(min=1))

    return _RuleSchema()


class _CareWhenSchema(Schema):
    present = _ids


class CareSchema(Schema):
    id = _id
    kind = fields.String(required=True, validate=validate.OneOf(vocab.CARE_KINDS))
    text = _id
    for_causes = fields.List(fields.String(), required=True)
    when = fields.Nested(_CareWhenSchema, load_default=dict)
    drug_class = fields.String(load_default=None)
    modality = fields.String(load_default=None)
    defer_from = fields.String(load_default="emergency", validate=validate.OneOf(("emergency", "urgent", "never")))
    requires_clinician = fields.Boolean(required=True)
    sources = fields.List(fields.String(), required=True, validate=validate.Length(min=1))


class SourceSchema(Schema):
    id = _id
    kind = fields.String(required=True, validate=validate.OneOf(("document", "guideline", "policy")))
    title = _id
    file = fields.String(load_default=None)


class FindingSchema(Schema):
    id = _id
    derived = fields.Boolean(load_default=False)
    group = fields.String(load_default=None)
    question = fields.String(load_default=None)
    description = fields.String(load_default=None)


class _PopulationSchema(Schema):
    requires = _ids


class CauseSchema(Schema):
    id = _id
    name = _id
    description = _id
    population = fields.Nested(_PopulationSchema, load_default=dict)
    specialties = _ids
    sources = fields.List(fields.String(), required=True, validate=validate.Length(min=1))


class LevelSchema(Schema):
    id = fields.String(required=True, validate=validate.OneOf(vocab.URGENCY_LEVELS))
    advice = _id
    advice_when = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict)
    referral = _id
    defers_care = fields.String(load_default=None)


class _ConfidenceSchema(Schema):
    high = fields.Float(required=True, validate=validate.Range(0, 1))
    moderate = fields.Float(required=True, validate=validate.Range(0, 1))


class _ScoringSchema(Schema):
    confidence = fields.Nested(_ConfidenceSchema, required=True)
    max_cause_questions = fields.Integer(required=True, validate=validate.Range(0, 50))


class _SelfTestSchema(Schema):
    record = fields.Dict(required=True)
    expect_rules = fields.List(fields.String(), required=True, validate=validate.Length(min=1))


class _SpanSchema(Schema):
    min = fields.Integer(required=True, validate=validate.Range(*vocab.AGE_RANGE))
    max = fields.Integer(required=True, validate=validate.Range(*vocab.AGE_RANGE))
    sources = fields.List(fields.String(), required=True, validate=validate.Length(min=1))


class _UnrecordedSchema(Schema):
    age_in_pregnancy = fields.Nested(_SpanSchema, required=True)


class MetaSchema(Schema):
    version = _id
    disclaimer = _id
    scoring = fields.Nested(_ScoringSchema, required=True)
    unrecorded = fields.Nested(_UnrecordedSchema, required=True)
    self_test = fields.Nested(_SelfTestSchema, required=True)


class _ScreenWhenSchema(Schema):
    present = _ids
    locations = _one_of(vocab.LOCATIONS)


class ScreenSchema(Schema):
    id = _id
    rationale = _id
    when = fields.Nested(_ScreenWhenSchema, load_default=dict)
    ask = fields.List(fields.String(), required=True, validate=validate.Length(min=1))
    sources = fields.List(fields.String(), required=True, validate=validate.Length(min=1))


class _StopReasonsSchema(Schema):
    urgency_reached = _id
    answered = _id
    unanswered = _id


class _StopSchema(Schema):
    at_level = fields.String(required=True, validate=validate.OneOf(vocab.URGENCY_LEVELS))
    reasons = fields.Nested(_StopReasonsSchema, required=True)


class InterviewSettingsSchema(Schema):
    """``interview.yaml`` apart from its lists (``sources`` and ``screens`` load item by item)."""

    stop = fields.Nested(_StopSchema, required=True)
    asked_after_yes = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict)
    not_asked_when = fields.Dict(
        keys=fields.String(), values=fields.List(fields.String(), validate=validate.Length(min=1)), load_default=dict
    )


def read_knowledge_file(directory: Path, name: str) -> Any:
    """One YAML file of the knowledge base, parsed; a missing or broken file names itself."""
    path = directory / name
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise KnowledgeBaseError(name, "file", "missing") from None
    except yaml.YAMLError as error:
        raise KnowledgeBaseError(name, "file", f"not valid YAML ({error})") from None


def load_list(directory: Path, name: str, key: str, schema: Schema) -> list[dict]:
    """The ``key`` list of a file, each item loaded with ``schema``; an error names the item."""
    document = read_knowledge_file(directory, name)
    if not isinstance(document, dict) or not isinstance(document.get(key), list):
        raise KnowledgeBaseError(name, "file", f"expected a mapping with a '{key}' list")
    items = []
    for index, raw in enumerate(document[key]):
        label = raw.get("id", f"item {index}") if isinstance(raw, dict) else f"item {index}"
        try:
            items.append(schema.load(raw))
        except ValidationError as error:
            raise KnowledgeBaseError(name, str(label), str(error.messages)) from None
    return items
