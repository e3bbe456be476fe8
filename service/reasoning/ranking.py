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

from collections.abc import Iterable
from dataclasses import dataclass

from service.knowledge.model import KnowledgeBase, Layer, Rule
from service.reasoning.assessment import RankedCause
from service.reasoning.finding_sets import FindingSets


def combined(unsupported: float, discount: float) -> float:
    """The score from its two products: prod(1 - w+) over the supporting rules and prod(1 + w-)
    over the opposing ones (callers that keep running products use this directly)."""
    return round((1 - unsupported) * discount, 3)


def confidence(kb: KnowledgeBase, value: float) -> str:
    if value >= kb.scoring.high:
        return "high"
    return "moderate" if value >= kb.scoring.moderate else "low"


@dataclass(frozen=True, slots=True)
class _Weighed:
    """What ranking reads of one evidence rule, worked out once per knowledge base."""

    cause: str
    supports: bool
    weight: float
    factor: float  # 1 - w for a supporting rule, 1 + w for one against (the score's products)
    findings: int  # the findings it cites (FindingSets bits): present ones, or all for one against
    sources: tuple[str, ...]


class CauseRanking:
    """Ranks causes for one knowledge base; build once, call per assessment.

    What depends only on a rule (its cause, its factor in the score, the findings it cites) is
    looked up per fired rule instead of worked out again for every record.
    """

    def __init__(self, kb: KnowledgeBase, sets: FindingSets) -> None:
        self._kb = kb
        self._sets = sets
        self._weighed = {
            r.id: _Weighed(
                cause=r.cause_id,
                supports=r.supports,
                weight=r.weight,
                factor=1 - r.weight if r.weight > 0 else 1 + r.weight,
                findings=sets.of(set(r.when.present) if r.supports else {*r.when.present, *r.when.absent}),
                sources=r.sources,
            )
            for r in kb.rules_in(Layer.EVIDENCE)
        }

    def __call__(self, evidence: Iterable[Rule], red_flags: Iterable[Rule] = ()) -> list[RankedCause]:
        """Rank every cause that at least one fired rule supports; red-flag causes first.

        ``evidence`` comes in file order (the assessor's), which each cause's ``rules`` keep.
        """
        kb, spelled = self._kb, self._sets.spelled
        by_cause: dict[str, list[tuple[str, _Weighed]]] = {}
        for rule in evidence:
            weighed = self._weighed[rule.id]
            by_cause.setdefault(weighed.cause, []).append((rule.id, weighed))
        implicated: dict[str, list[Rule]] = {}
        for flag in red_flags:
            for cause_id in flag.implicates:
                implicated.setdefault(cause_id, []).append(flag)

        candidates = []
        best = 0.0  # the best score listed (weights lie in (0, 1], so no score is below 0)
        for cause_id, rules in by_cause.items():
            supported = False  # only a cause some rule supports is listed
            supporting = against = 0
            unsupported = discount = 1.0  # the score's two products, in the rules' order
            sources = set(kb.causes[cause_id].sources)
            rule_ids = []
            for rule_id, weighed in rules:
                rule_ids.append(rule_id)
                if weighed.supports:
                    supported = True
                    supporting |= weighed.findings
                else:
                    against |= weighed.findings
                if weighed.weight > 0:
                    unsupported *= weighed.factor
                elif weighed.weight < 0:
                    discount *= weighed.factor
                sources.update(weighed.sources)
            if not supported:
                continue
            for flag in implicated.get(cause_id, ()):
                sources.update(flag.sources)
                rule_ids.append(flag.id)
            value = combined(unsupported, discount)
            best = max(best, value)
            findings = spelled(supporting)
            # red-flag causes first, among them (and among the rest) the stronger evidence first;
            # the cause's place in the file makes every key different, so the rest is never compared
            key = (cause_id not in implicated, -value, -len(findings), kb.cause_order[cause_id])
            candidates.append(
                (key, value, cause_id, findings, spelled(against), tuple(rule_ids), tuple(sorted(sources)))
            )
        candidates.sort()
        return [
            RankedCause(
                id=cause_id,
                rank=rank,
                score=best if cause_id in implicated else value,
                confidence=confidence(kb, best if cause_id in implicated else value),
                supporting=supporting,
                against=against,
                rules=rules,
                sources=sources,
            )
            for rank, (_, value, cause_id, supporting, against, rules, sources) in enumerate(candidates, start=1)
        ]
