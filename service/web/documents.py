"""An :class:`~service.reasoning.assessment.Assessment` as the contract's JSON document."""

from __future__ import annotations

import uuid
from typing import Any

from service.reasoning.assessment import Assessment

Document = dict[str, Any]


def assessment_document(a: Assessment, *, explain: bool) -> Document:
    urgency = a.urgency
    return {
        "assessment_id": str(uuid.uuid4()),
        "knowledge_base": {"version": a.knowledge_base_version, "sha256": a.knowledge_base_sha256},
        "urgency": {
            "level": urgency.level,
            "advice": urgency.advice,
            "reasons": [
                {"rule": r.rule, "level": r.level, "text": r.text, "sources": list(r.sources)} for r in urgency.reasons
            ],
        },
        "red_flags": [{"id": r.rule, "text": r.text, "sources": list(r.sources)} for r in urgency.red_flags],
        "causes": [
            {
                "id": c.id,
                "name": c.name,
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
                "text": c.text,
                "for_causes": list(c.for_causes),
                "requires_clinician": c.requires_clinician,
                "rule": c.rule,
                "sources": list(c.sources),
                "cautions": [{"rule": w.rule, "text": w.text, "sources": list(w.sources)} for w in c.cautions],
            }
            for c in a.care
        ],
        "suppressed_care": [
            {"id": s.id, "reason": s.reason, "rules": list(s.rules), "sources": list(s.sources)}
            for s in a.suppressed_care
        ],
        "referral": {"specialties": list(a.referral.specialties), "text": a.referral.text},
        "questions": [
            {"finding": q.finding, "text": q.text, "why": q.why, "rules": list(q.rules)} for q in a.questions
        ],
        "interview": {
            "complete": a.interview.complete,
            "asked_enough_reason": a.interview.asked_enough_reason,
            "screens": list(a.interview.screens),
        },
        "disclaimer": a.disclaimer,
        "trace": [{"rule": step.rule, "layer": str(step.layer)} for step in a.trace] if explain else [],
    }
