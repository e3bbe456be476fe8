"""One assessment: record → facts → engine → conclusions → the response document.

This is the only module that knows how fired rules become an answer; it reads each rule's
conclusion from the knowledge base, so adding a cause, red flag or care item never
touches code.
"""

from __future__ import annotations

import uuid
from typing import Any

from service import metrics
from service.engine import RuleEngine
from service.facts import record_facts
from service.knowledge.model import KnowledgeBase, Layer, Rule
from service.questions import KnownFindings, follow_up_questions
from service.ranking import RankedCause, rank_causes

Document = dict[str, Any]


class Assessor:
    """Runs records through the knowledge base; one instance per process."""

    def __init__(self, kb: KnowledgeBase, engine: RuleEngine) -> None:
        self.kb = kb
        self._engine = engine

    def fire(self, record: Document) -> list[str]:
        """The ids of the rules the record fires, in firing order."""
        with metrics.ENGINE_TIME.time():
            return self._engine.run(record_facts(record))

    def assess(self, record: Document, *, explain: bool = False) -> Document:
        kb = self.kb
        fired_order = self.fire(record)
        fired = [kb.rules[r] for r in fired_order]
        by_layer: dict[Layer, list[Rule]] = {layer: [] for layer in Layer}
        for rule in sorted(fired, key=lambda r: kb.rule_order[r.id]):
            by_layer[rule.layer].append(rule)

        known = KnownFindings(
            present=frozenset(record["findings"]["present"]) | {r.derive for r in fired if r.derive},
            absent=frozenset(record["findings"]["absent"]),
        )
        escalations = sorted(by_layer[Layer.ESCALATION], key=lambda r: kb.levels[r.level].rank)  # stable
        level = escalations[0].level if escalations else "self_care"
        causes = rank_causes(kb, by_layer[Layer.EVIDENCE])
        care, suppressed = self._care(by_layer[Layer.CARE], by_layer[Layer.CONTRAINDICATION], causes)
        questions = follow_up_questions(
            kb,
            known=known,
            fired=set(fired_order),
            level=level,
            causes=causes,
            evidence=by_layer[Layer.EVIDENCE],
        )

        return {
            "assessment_id": str(uuid.uuid4()),
            "knowledge_base": {"version": kb.version, "sha256": kb.sha256},
            "urgency": {
                "level": level,
                "advice": self._advice(level, known.present),
                "reasons": [
                    {"rule": r.id, "level": r.level, "text": r.reason, "sources": list(r.sources)} for r in escalations
                ],
            },
            "red_flags": [
                {"id": r.id, "text": r.reason, "sources": list(r.sources)} for r in escalations if r.red_flag
            ],
            "causes": [self._cause(c) for c in causes],
            "care": care,
            "suppressed_care": suppressed,
            "referral": self._referral(level, escalations, causes),
            "questions": [
                {"finding": q.finding, "text": q.text, "why": q.why, "rules": list(q.rules)} for q in questions
            ],
            "disclaimer": kb.disclaimer,
            "trace": [{"rule": r.id, "layer": str(r.layer)} for r in fired] if explain else [],
        }

    def _advice(self, level: str, present: frozenset[str]) -> str:
        urgency = self.kb.levels[level]
        return next(
            (text for finding, text in urgency.advice_when.items() if finding in present),
            urgency.advice,
        )

    def _cause(self, cause: RankedCause) -> Document:
        return {
            "id": cause.id,
            "name": self.kb.causes[cause.id].name,
            "rank": cause.rank,
            "score": cause.score,
            "confidence": cause.confidence,
            "evidence": {"supporting": list(cause.supporting), "against": list(cause.against)},
            "rules": list(cause.rules),
            "sources": list(cause.sources),
        }

    def _care(
        self, offered: list[Rule], contraindications: list[Rule], causes: list[RankedCause]
    ) -> tuple[list[Document], list[Document]]:
        """Offered care minus what a contraindication removes, best-ranked causes first."""
        kb = self.kb
        rank = {c.id: c.rank for c in causes}
        items = [kb.care[r.care] for r in offered if r.care]
        kind_order = {"referral": 0, "self_care": 1, "therapy": 2, "medication": 3, "monitoring": 4}
        items.sort(
            key=lambda i: (
                min((rank[c] for c in i.for_causes if c in rank), default=len(rank) + 1),
                kind_order[i.kind],
            )
        )  # stable: file order within
        care, suppressed = [], []
        for item in items:
            blocking = [
                r for r in contraindications if item.drug_class in r.drug_classes or item.modality in r.modalities
            ]
            if blocking:
                suppressed.append(
                    {
                        "id": item.id,
                        "reason": " ".join(r.reason for r in blocking if r.reason),
                        "rules": [r.id for r in blocking],
                        "sources": sorted({s for r in blocking for s in r.sources}),
                    }
                )
                continue
            care.append(
                {
                    "id": item.id,
                    "kind": item.kind,
                    "text": item.text,
                    "for_causes": [c for c in item.for_causes if c in rank],
                    "requires_clinician": item.requires_clinician,
                    "rule": item.rule,
                    "sources": list(item.sources),
                }
            )
        return care, suppressed

    def _referral(self, level: str, escalations: list[Rule], causes: list[RankedCause]) -> Document:
        specialties: list[str] = []
        if level != "self_care":
            specialties += [s for r in escalations for s in r.refer]
            if causes:
                specialties += self.kb.causes[causes[0].id].specialties
        return {
            "specialties": list(dict.fromkeys(specialties)),
            "text": self.kb.levels[level].referral,
        }
