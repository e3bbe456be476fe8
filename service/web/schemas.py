"""The responses the web layer promises: documented in OpenAPI, checked in the contract tests.

These schemas describe; they never run on the request path (the assessment is written by
:mod:`service.web.documents`). The contract tests validate real responses against the
OpenAPI document generated from them.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from service import vocabulary as vocab
from service.knowledge.translations import REVIEW_STATUSES


def _choice(values: tuple[str, ...], **kwargs: Any) -> fields.String:
    return fields.String(validate=validate.OneOf(values), **kwargs)


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


class CautionSchema(SourcedTextSchema):
    rule = fields.String(required=True)


class CareSchema(Schema):
    id = fields.String(required=True)
    kind = _choice(vocab.CARE_KINDS, required=True)
    text = fields.String(required=True)
    for_causes = fields.List(fields.String(), required=True)
    requires_clinician = fields.Boolean(required=True)
    rule = fields.String(required=True)
    sources = fields.List(fields.String(), required=True)
    cautions = fields.List(
        fields.Nested(CautionSchema),
        required=True,
        metadata={"description": "Warnings from rules that keep the item on offer for this patient."},
    )


class SuppressedCareSchema(Schema):
    """Care removed for this patient: contraindicated, or held back until an urgent or
    emergency assessment (then ``rules`` are the escalation rules that set the urgency)."""

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


class RecordFieldSchema(Schema):
    field = fields.String(
        required=True,
        metadata={"description": "The field left out or `unknown`, as a path into the record (`complaint.onset`)."},
    )
    could_be = _choice(
        vocab.URGENCY_LEVELS,
        required=True,
        metadata={"description": "The most urgent level a value of it could give, with the rest of the record."},
    )


class InterviewSchema(Schema):
    """Where the interview stands, for apps that ask the questions one at a time."""

    complete = fields.Boolean(
        required=True,
        metadata={
            "description": "True when no red flag is left that answers could still reveal (findings in "
            "`not_known` are not asked again), no question the interview screens that fit this patient "
            "list could change the urgency or the leading cause, and no field in `record_fields` is left (or "
            "the urgency already calls for emergency care); `questions` and `record_fields` are then empty."
        },
    )
    asked_enough_reason = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "Why the interview is complete (patient-facing); null while it is not."},
    )
    screens = fields.List(
        fields.String(),
        required=True,
        metadata={
            "description": "The interview screens (rules/interview.yaml) that apply to this patient, "
            "in the priority order that ordered `questions`."
        },
    )
    record_fields = fields.List(
        fields.Nested(RecordFieldSchema),
        required=True,
        metadata={
            "description": "The complaint's fields (onset, severity, course, side, duration_days) the record "
            "leaves out or `unknown` whose value, alone or with the others, could raise the urgency, the most "
            "urgent first: ask them, put the answer in `complaint` (or, when the patient cannot say, the "
            "field's name in `complaint.not_known`) and send again. The urgency is not raised for them (the "
            "rules read an unknown onset as not sudden, an unknown severity as not severe, an unknown course as "
            "not getting worse, an unknown side as not one-sided, an unknown duration as new); while one is "
            "listed the interview is not complete. Filled once no finding question is left (each is worked out "
            "by assessing the record with every value the rules tell apart, alone and together); empty until "
            "then."
        },
    )


class TraceStepSchema(Schema):
    rule = fields.String(required=True)
    layer = fields.String(required=True)


class KnowledgeBaseVersionSchema(Schema):
    version = fields.String(required=True)
    sha256 = fields.String(required=True)


class UnrecordedSchema(Schema):
    """What a record left out, and how far the answer could move once it is known."""

    fields_ = fields.List(
        fields.String(),
        data_key="fields",
        required=True,
        metadata={"description": "The fields left out, as paths into the record (`patient.age`)."},
    )
    least_urgent = fields.String(
        required=True,
        validate=validate.OneOf(vocab.URGENCY_LEVELS),
        metadata={"description": "The urgency for the values that call for the least care."},
    )
    most_urgent = fields.String(
        required=True,
        validate=validate.OneOf(vocab.URGENCY_LEVELS),
        metadata={"description": "The urgency for the values that call for the most care: the one given."},
    )


class AssessmentSchema(Schema):
    assessment_id = fields.String(required=True)
    knowledge_base = fields.Nested(KnowledgeBaseVersionSchema, required=True)
    urgency = fields.Nested(UrgencySchema, required=True)
    red_flags = fields.List(fields.Nested(RedFlagSchema), required=True)
    causes = fields.List(fields.Nested(CauseSchema), required=True)
    care = fields.List(fields.Nested(CareSchema), required=True)
    suppressed_care = fields.List(fields.Nested(SuppressedCareSchema), required=True)
    referral = fields.Nested(ReferralSchema, required=True)
    questions = fields.List(
        fields.Nested(QuestionSchema),
        required=True,
        metadata={
            "description": "Unknown findings whose answer could raise the urgency or change the leading "
            "cause, the most important first: ask the first, add the answer to `findings`, send again."
        },
    )
    interview = fields.Nested(InterviewSchema, required=True)
    disclaimer = fields.String(required=True)
    trace = fields.List(
        fields.Nested(TraceStepSchema),
        required=True,
        metadata={"description": "Rules fired in firing order; filled with ?explain=true."},
    )
    unrecorded = fields.Nested(
        UnrecordedSchema,
        metadata={
            "description": "Present only when the record left out the age or the gestational week: it was "
            "assessed for every value the rules tell apart, and this answer is the one that calls for the most "
            "care; its questions are those of every value. Record the value and send again for a certain answer."
        },
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


class ReviewSchema(Schema):
    status = fields.String(
        required=True,
        validate=validate.OneOf(REVIEW_STATUSES),
        metadata={"description": "`reviewed` once an independent reviewer has checked the meaning."},
    )
    reviewer = fields.String()
    date = fields.String(metadata={"description": "ISO date of the review."})
    notes = fields.String()
    unreviewed = fields.List(
        fields.String(), metadata={"description": "Texts (keys) translated since the review, awaiting the next one."}
    )


class LanguageSchema(Schema):
    language = fields.String(required=True, metadata={"description": "What `Accept-Language` asks for."})
    tag = fields.String(required=True, metadata={"description": "The BCP 47 tag answers carry in `Content-Language`."})
    name = fields.String(required=True)
    translator = fields.String(required=True)
    review = fields.Nested(ReviewSchema, required=True)


class KnowledgeBaseSchema(KnowledgeBaseVersionSchema):
    disclaimer = fields.String(required=True)
    urgency_levels = fields.List(fields.Dict(), required=True)
    sources = fields.List(fields.Dict(), required=True)
    findings = fields.List(fields.Dict(), required=True)
    causes = fields.List(fields.Dict(), required=True)
    care = fields.List(fields.Dict(), required=True)
    rules = fields.List(fields.Dict(), required=True)
    languages = fields.List(
        fields.Nested(LanguageSchema),
        required=True,
        metadata={"description": "The languages patients are answered in (English, the source, first)."},
    )
    interview = fields.Dict(
        required=True,
        metadata={
            "description": "rules/interview.yaml: the screens that order the follow-up questions "
            "(file order is priority), the urgency that ends the interview and the reasons given."
        },
    )
