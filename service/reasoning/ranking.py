"""Turn fired evidence rules into ranked causes.

A cause's score is a noisy-OR of the weights of the rules that support it, discounted by
the rules that argue against it: ``(1 - prod(1 - w_support)) * prod(1 - w_against)``.
Each weight reads as "how strongly this pattern alone points to the cause", extra evidence
always helps and never pushes a score past 1. Ties break on the number of supporting
findings, then on the cause's position in ``rules/causes.yaml`` — never on dict or set
order — so the same input always ranks the same way.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable

from service.knowledge.model import KnowledgeBase, Rule
from service.reasoning.assessment import RankedCause


def score(rules: Iterable[Rule]) -> float:
    weights = [r.weight for r in rules]
    support = 1 - math.prod(1 - w for w in weights if w > 0)
    discount = math.prod(1 + w for w in weights if w < 0)
    return round(support * discount, 3)


def confidence(kb: KnowledgeBase, value: float) -> str:
    if value >= kb.scoring.high:
        return "high"
    return "moderate" if value >= kb.scoring.moderate else "low"


def rank_causes(kb: KnowledgeBase, evidence: Iterable[Rule]) -> list[RankedCause]:
    """Rank every cause that at least one fired rule supports."""
    by_cause: dict[str, list[Rule]] = defaultdict(list)
    for rule in evidence:
        by_cause[rule.cause_id].append(rule)

    candidates = []
    for cause_id, unordered in by_cause.items():
        if not any(r.supports for r in unordered):
            continue
        rules = sorted(unordered, key=lambda r: kb.rule_order[r.id])
        supporting = _findings(kb, (f for r in rules if r.supports for f in r.when.present))
        against = _findings(kb, (f for r in rules if not r.supports for f in (*r.when.present, *r.when.absent)))
        sources = sorted({*kb.causes[cause_id].sources, *(s for r in rules for s in r.sources)})
        candidates.append(
            (
                score(rules),
                cause_id,
                supporting,
                against,
                tuple(r.id for r in rules),
                tuple(sources),
            )
        )

    candidates.sort(key=lambda c: (-c[0], -len(c[2]), kb.cause_order[c[1]]))
    return [
        RankedCause(
            id=cause_id,
            name=kb.causes[cause_id].name,
            rank=rank,
            score=value,
            confidence=confidence(kb, value),
            supporting=supporting,
            against=against,
            rules=rules,
            sources=sources,
        )
        for rank, (value, cause_id, supporting, against, rules, sources) in enumerate(candidates, start=1)
    ]


def _findings(kb: KnowledgeBase, ids: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(set(ids), key=kb.finding_order.__getitem__))
