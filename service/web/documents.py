"""An :class:`~service.reasoning.assessment.Assessment` as the contract's JSON document.

The assessment holds ids; every patient-facing text is looked up here in the language the
client asked for, so two answers in two languages differ in their words and nothing else.
"""

from __future__ import annotations

import uuid
from typing import Any

from service.knowledge.translations import Catalogue
from service.reasoning.assessment import Assessment, SuppressedCare
from service.reasoning.unrecorded import PATHS, Bracket

Document = dict[str, Any]


def assessment_document(
    a: Assessment, *, texts: Catalogue, explain: bool, bracketed: Bracket | None = None
) -> Document:
    """``bracketed``: the record lacked values, and ``a`` is one of its assessments for every
    value they could have (reported in ``unrecorded``)."""
    urgency = a.urgency
    document = {
        "assessment_id": str(uuid.uuid4()),
        "knowledge_base": {"version": a.knowledge_base_version, "sha256": a.knowledge_base_sha256},
        "urgency": {
            "level": urgency.level,
            "advice": texts.advice(urgency.level, urgency.advice_when),
            "reasons": [
                {"rule": r.rule, "level": r.level, "text": texts.reason(r.rule), "sources": list(r.sources)}
                for r in urgency.reasons
            ],
        },
        "red_flags": [
            {"id": r.rule, "text": texts.reason(r.rule), "sources": list(r.sources)} for r in urgency.red_flags
        ],
        "causes": [
            {
                "id": c.id,
                "name": texts.cause(c.id),
                "rank": c.rank,
                "score": c.score,
                "confidence": c.confidence,
                "evidence": {"supporting": list(c.supporting), "against": list(c.against)},
                "rules": list(c.rules),
                "sources": list(c.sources),
            }
            for c in a.causes
        ],
        "care": [
            {
                "id": c.id,
                "kind": c.kind,
                "text": texts.care(c.id),
                "for_causes": list(c.for_causes),
                "requires_clinician": c.requires_clinician,
                "rule": c.rule,
                "sources": list(c.sources),
                "cautions": [
                    {"rule": w.rule, "text": texts.reason(w.rule), "sources": list(w.sources)} for w in c.cautions
                ],
            }
            for c in a.care
        ],
        "suppressed_care": [
            {"id": s.id, "reason": _suppressed_reason(s, texts), "rules": list(s.rules), "sources": list(s.sources)}
            for s in a.suppressed_care
        ],
        "referral": {"specialties": list(a.referral.specialties), "text": texts.referral(urgency.level)},
        "questions": [
            {
                "finding": q.finding,
                "text": texts.question(q.finding),
                "why": texts.why(q.rules[0]),
                "rules": list(q.rules),
            }
            for q in a.questions
        ],
        "interview": {
            "complete": a.interview.complete,
            "asked_enough_reason": texts.stop_reason(a.interview.stop_reason) if a.interview.stop_reason else None,
            "screens": list(a.interview.screens),
            "record_fields": [{"field": f.field, "could_be": f.could_be} for f in a.interview.record_fields],
        },
        "disclaimer": texts.disclaimer,
        "trace": [{"rule": step.rule, "layer": str(step.layer)} for step in a.trace] if explain else [],
    }
    if bracketed is not None:
        document["unrecorded"] = {
            "fields": [".".join(PATHS[name]) for name in bracketed.missing],
            "least_urgent": bracketed.least_urgent.urgency.level,
            "most_urgent": bracketed.most_urgent.urgency.level,
        }
    return document


def _suppressed_reason(item: SuppressedCare, texts: Catalogue) -> str:
    """Why care was held back: the urgency that defers it, or every rule that contraindicates it."""
    if item.deferred_at is not None:
        return texts.deferred(item.deferred_at)
    return " ".join(texts.reason(rule) for rule in item.rules)
