"""Turn fired evidence rules into ranked causes.

A cause's score is a noisy-OR of the weights of the rules that support it, discounted by
the rules that argue against it: ``(1 - prod(1 - w_support)) * prod(1 - w_against)``.
Each weight reads as "how strongly this pattern alone points to the cause", extra evidence
always helps and never pushes a score past 1. Ties break on the number of supporting
findings, then on the cause's position in ``rules/causes.yaml`` — never on dict or set
order — so the same input always ranks the same way.

A cause that a fired red flag implicates (``implicates`` in rules/escalation.yaml) ranks
before every other: it is the one that must be ruled out first. So that the scores still
fall with rank, its score is raised to the best score of the list, and the red-flag rules
join its rules and sources, so the reason it leads is in the answer.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from service.knowledge.model import KnowledgeBase, Rule
from service.reasoning.assessment import RankedCause


def score(rules: Iterable[Rule]) -> float:
    weights = [r.weight for r in rules]
    return combined(math.prod(1 - w for w in weights if w > 0), math.prod(1 + w for w in weights if w < 0))


def combined(unsupported: float, discount: float) -> float:
    """The score from its two products: prod(1 - w+) over the supporting rules and prod(1 + w-)
    over the opposing ones (callers that keep running products use this directly)."""
    return round((1 - unsupported) * discount, 3)


def confidence(kb: KnowledgeBase, value: float) -> str:
    if value >= kb.scoring.high:
        return "high"
    return "moderate" if value >= kb.scoring.moderate else "low"


def rank_causes(kb: KnowledgeBase, evidence: Iterable[Rule], red_flags: Iterable[Rule] = ()) -> list[RankedCause]:
    """Rank every cause that at least one fired rule supports; red-flag causes first.

    ``evidence`` comes in file order (the assessor's), which each cause's ``rules`` keep.
    """
    by_cause: dict[str, list[Rule]] = {}
    for rule in evidence:
        by_cause.setdefault(rule.cause_id, []).append(rule)
    implicated: dict[str, list[Rule]] = {}
    for flag in red_flags:
        for cause_id in flag.implicates:
            implicated.setdefault(cause_id, []).append(flag)

    candidates = []
    for cause_id, rules in by_cause.items():
        supported = False  # only a cause some rule supports is listed
        supporting: set[str] = set()
        against: set[str] = set()
        sources = set(kb.causes[cause_id].sources)
        for rule in rules:
            if rule.supports:
                supported = True
                supporting.update(rule.when.present)
            else:
                against.update(rule.when.present, rule.when.absent)
            sources.update(rule.sources)
        if not supported:
            continue
        flags = implicated.get(cause_id, ())
        for flag in flags:
            sources.update(flag.sources)
        candidates.append(
            (
                score(rules),
                cause_id,
                _findings(kb, supporting),
                _findings(kb, against),
                tuple(r.id for r in (*rules, *flags)),
                tuple(sorted(sources)),
            )
        )
    # red-flag causes first, among them (and among the rest) the stronger evidence first
    candidates.sort(key=lambda c: (c[1] not in implicated, -c[0], -len(c[2]), kb.cause_order[c[1]]))
    best = max((c[0] for c in candidates), default=0.0)
    candidates = [(best, *c[1:]) if c[1] in implicated else c for c in candidates]
    return [
        RankedCause(
            id=cause_id,
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


def _findings(kb: KnowledgeBase, ids: set[str]) -> tuple[str, ...]:
    return tuple(sorted(ids, key=kb.finding_order.__getitem__))
