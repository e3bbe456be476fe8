"""marshmallow schemas: the request we accept and the response we promise.

They are built from the knowledge base (the finding vocabulary is knowledge, not code) and
are the single source of the OpenAPI document (:mod:`service.openapi`), so validation and
documentation cannot drift apart. Validation is strict: unknown keys, booleans posing as
numbers, numeric strings and non-finite numbers are all rejected, because a silently
dropped or coerced field could hide a red flag.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from service import vocabulary as vocab

MAX_ID_ECHO = 64  # longest submitted id an error message will repeat back


class JsonInteger(fields.Integer):
    """A JSON integer: no booleans, no strings, no fractions."""

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValidationError("Must be an integer.")
        if isinstance(value, float) and not value.is_integer():  # also rejects NaN and infinity
            raise ValidationError("Must be an integer.")
        return int(value)


class JsonNumber(fields.Float):
    """A finite JSON number: no booleans, no strings, no NaN or infinity."""

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ValidationError("Must be a finite number.")
        return value


class VocabularyId:
    """Validates an id against a vocabulary, naming the offending id (shortened) in the error."""

    def __init__(self, what: str, allowed: Iterable[str]) -> None:
        self.what = what
        self.allowed = frozenset(allowed)

    def __call__(self, value: str) -> str:
        if value not in self.allowed:
            shown = value if len(value) <= MAX_ID_ECHO else value[:MAX_ID_ECHO] + "…"
            raise ValidationError(f"Unknown {self.what} id '{shown}'.")
        return value


def _choice(values: tuple[str, ...], **kwargs: Any) -> fields.String:
    return fields.String(validate=validate.OneOf(values), **kwargs)


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


class PregnancySchema(Schema):
    gestational_week = JsonInteger(required=True, validate=validate.Range(*vocab.GESTATIONAL_WEEK_RANGE))


class PatientSchema(Schema):
    age = JsonInteger(
        required=True,
        validate=validate.Range(*vocab.AGE_RANGE),
        metadata={"description": "Age in whole years."},
    )
    sex = _choice(vocab.SEXES, required=True)
    pregnancy = fields.Nested(PregnancySchema, metadata={"description": "Present only when the patient is pregnant."})

    @validates_schema(skip_on_field_errors=False)  # report every problem in one answer
    def _pregnancy_needs_a_possible_sex(self, data: dict, **_: Any) -> None:
        if data.get("pregnancy") is not None and data.get("sex") == "male":
            raise ValidationError("Pregnancy cannot be recorded for sex 'male'.", "pregnancy")


class ComplaintSchema(Schema):
    locations = fields.List(_choice(vocab.LOCATIONS), required=True, validate=validate.Length(min=1))
    side = _choice(vocab.SIDES, load_default="unknown")
    onset = _choice(vocab.ONSETS, load_default="unknown")
    duration_days = JsonNumber(validate=validate.Range(min=0), metadata={"description": "Days since onset."})
    severity = JsonNumber(
        validate=validate.Range(*vocab.SEVERITY_RANGE),
        metadata={"description": "0-10 numeric rating scale."},
    )
    course = _choice(vocab.COURSES, load_default="unknown")

    @post_load
    def _drop_repeats(self, data: dict, **_: Any) -> dict:
        data["locations"] = _unique(data["locations"])
        return data


def build_request_schema(finding_ids: Iterable[str]) -> type[Schema]:
    """The assessment request schema for this knowledge base's finding vocabulary."""
    vocabulary = tuple(finding_ids)
    finding = fields.String(validate=VocabularyId("finding", vocabulary), metadata={"enum": list(vocabulary)})

    class FindingsSchema(Schema):
        present = fields.List(finding, load_default=list)
        absent = fields.List(finding, load_default=list)

        @validates_schema(skip_on_field_errors=False)
        def _not_both(self, data: dict, **_: Any) -> None:
            both = sorted(set(data.get("present") or ()) & set(data.get("absent") or ()))
            if both:
                raise ValidationError(f"Findings cannot be both present and absent: {both}.", "present")

        @post_load
        def _drop_repeats(self, data: dict, **_: Any) -> dict:
            return {key: _unique(values) for key, values in data.items()}

    class AssessmentRequestSchema(Schema):
        patient = fields.Nested(PatientSchema, required=True)
        complaint = fields.Nested(ComplaintSchema, required=True)
        findings = fields.Nested(
            FindingsSchema,
            load_default=lambda: {"present": [], "absent": []},
            metadata={"description": "A finding in neither list is unknown, never absent."},
        )

    return AssessmentRequestSchema


# --- responses (documented, and checked against real responses in the contract tests) -----


class SourcedTextSchema(Schema):
    text = fields.String(required=True)
    sources = fields.List(fields.String(), required=True)


class ReasonSchema(SourcedTextSchema):
    rule = fields.String(required=True)
    level = _choice(vocab.URGENCY_LEVELS, required=True)


class UrgencySchema(Schema):
    level = _choice(vocab.URGENCY_LEVELS, required=True)
    advice = fields.String(required=True)
    reasons = fields.List(fields.Nested(ReasonSchema), required=True)


class RedFlagSchema(SourcedTextSchema):
    id = fields.String(required=True)


class EvidenceSchema(Schema):
    supporting = fields.List(fields.String(), required=True)
    against = fields.List(fields.String(), required=True)


class CauseSchema(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    rank = fields.Integer(required=True, validate=validate.Range(min=1))
    score = fields.Float(required=True, validate=validate.Range(0, 1))
    confidence = _choice(vocab.CONFIDENCES, required=True)
    evidence = fields.Nested(EvidenceSchema, required=True)
    rules = fields.List(fields.String(), required=True)
    sources = fields.List(fields.String(), required=True)


class CareSchema(Schema):
    id = fields.String(required=True)
    kind = _choice(vocab.CARE_KINDS, required=True)
    text = fields.String(required=True)
    for_causes = fields.List(fields.String(), required=True)
    requires_clinician = fields.Boolean(required=True)
    rule = fields.String(required=True)
    sources = fields.List(fields.String(), required=True)


class SuppressedCareSchema(Schema):
    id = fields.String(required=True)
    reason = fields.String(required=True)
    rules = fields.List(fields.String(), required=True)
    sources = fields.List(fields.String(), required=True)


class ReferralSchema(Schema):
    specialties = fields.List(fields.String(), required=True)
    text = fields.String(required=True)


class QuestionSchema(Schema):
    finding = fields.String(required=True)
    text = fields.String(required=True)
    why = fields.String(required=True)
    rules = fields.List(fields.String(), required=True)


class TraceStepSchema(Schema):
    rule = fields.String(required=True)
    layer = fields.String(required=True)


class KnowledgeBaseVersionSchema(Schema):
    version = fields.String(required=True)
    sha256 = fields.String(required=True)


class AssessmentSchema(Schema):
    assessment_id = fields.String(required=True)
    knowledge_base = fields.Nested(KnowledgeBaseVersionSchema, required=True)
    urgency = fields.Nested(UrgencySchema, required=True)
    red_flags = fields.List(fields.Nested(RedFlagSchema), required=True)
    causes = fields.List(fields.Nested(CauseSchema), required=True)
    care = fields.List(fields.Nested(CareSchema), required=True)
    suppressed_care = fields.List(fields.Nested(SuppressedCareSchema), required=True)
    referral = fields.Nested(ReferralSchema, required=True)
    questions = fields.List(fields.Nested(QuestionSchema), required=True)
    disclaimer = fields.String(required=True)
    trace = fields.List(
        fields.Nested(TraceStepSchema),
        required=True,
        metadata={"description": "Rules fired in firing order; filled with ?explain=true."},
    )


class ProblemSchema(Schema):
    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    request_id = fields.String(metadata={"description": "The X-Request-ID of the request."})
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "422 only: messages keyed by JSON path."},
    )


class StatusSchema(Schema):
    status = fields.String(required=True)
    knowledge_base = fields.Nested(KnowledgeBaseVersionSchema)


class KnowledgeBaseSchema(KnowledgeBaseVersionSchema):
    disclaimer = fields.String(required=True)
    urgency_levels = fields.List(fields.Dict(), required=True)
    sources = fields.List(fields.Dict(), required=True)
    findings = fields.List(fields.Dict(), required=True)
    causes = fields.List(fields.Dict(), required=True)
    care = fields.List(fields.Dict(), required=True)
    rules = fields.List(fields.Dict(), required=True)
