"""Which unknown findings are worth asking about next.

A question is an input finding the record left unknown (in neither ``present`` nor
``absent``) whose answer could change the assessment:

1. red-flag screening: findings that would fire a red-flag escalation above the current
   urgency — never capped, asked first;
2. other escalation: findings that would raise the urgency;
3. differential: a single finding that would lift another cause's score above the
   leading one (at most ``scoring.max_cause_questions``).

What a rule still needs is read off the rule's own conditions, following derived
findings back to the input findings that would conclude them. The engine remains the only
place where rules fire; this module only asks "what is missing?". Everything that depends
only on the knowledge base is worked out once, when :class:`FollowUp` is built.
"""

from __future__ import annotations

from dataclasses import dataclass

from service.knowledge.model import KnowledgeBase, Layer, Rule
from service.reasoning.assessment import Question, RankedCause
from service.reasoning.ranking import combined

_NEVER = None


@dataclass(frozen=True)
class KnownFindings:
    present: frozenset[str]  # input present + derived concluded
    absent: frozenset[str]  # input absent


class _Gaps:
    """Computes the unknown input findings a rule lacks, or ``None`` if it cannot fire."""

    def __init__(self, kb: KnowledgeBase, known: KnownFindings) -> None:
        self._kb = kb
        self._present = known.present
        self._absent = known.absent
        self._derived_gaps: dict[str, frozenset[str] | None] = {}

    def of_rule(self, rule: Rule) -> frozenset[str] | None:
        gaps: set[str] = set()
        for finding in rule.when.present:
            if finding in self._present:
                continue
            missing = self._present_gap(finding)
            if missing is _NEVER:
                return _NEVER
            gaps |= missing
        for finding in rule.when.absent:
            if finding in self._present:
                return _NEVER
            if finding not in self._absent:
                gaps.add(finding)
        return frozenset(gaps)

    def _present_gap(self, finding: str) -> frozenset[str] | None:
        if not self._kb.findings[finding].derived:
            return _NEVER if finding in self._absent else frozenset((finding,))
        if finding not in self._derived_gaps:  # derived findings form no cycle (loader check)
            options = [o for r in self._kb.derivers.get(finding, ()) if (o := self.of_rule(r)) is not _NEVER]
            # the smallest set of questions that would conclude it; file order breaks ties
            self._derived_gaps[finding] = min(options, key=len) if options else _NEVER
        return self._derived_gaps[finding]


class FollowUp:
    """The follow-up questions for one knowledge base; build once, call per assessment."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self._kb = kb
        self._rank = {level: urgency.rank for level, urgency in kb.levels.items()}
        # red flags first, then the most urgent; the stable sort keeps file order within
        self._escalations = tuple(
            sorted(kb.rules_in(Layer.ESCALATION), key=lambda r: (not r.red_flag, self._rank[r.level_id]))
        )
        # (rule id, cause, 1 - weight, rule) for each supporting evidence rule, in file order
        self._challengers = tuple(
            (r.id, r.cause_id, 1 - r.weight, r) for r in kb.rules_in(Layer.EVIDENCE) if r.supports
        )

    def __call__(
        self,
        *,
        known: KnownFindings,
        fired: set[str],
        level: str,
        causes: list[RankedCause],
        evidence: list[Rule],
    ) -> tuple[Question, ...]:
        gaps = _Gaps(self._kb, known)
        order = self._kb.finding_order.__getitem__
        asked: dict[str, list[str]] = {}  # finding -> rule ids, the first says why it is asked
        current = self._rank[level]
        for rule in self._escalations:
            if rule.id in fired or self._rank[rule.level_id] >= current:
                continue
            for finding in sorted(gaps.of_rule(rule) or (), key=order):
                _ask(asked, finding, rule.id)

        added = 0
        for finding, rule in self._challengers_of(gaps, fired, causes, evidence):
            if added == self._kb.scoring.max_cause_questions:
                break
            added += _ask(asked, finding, rule.id)
        return tuple(Question(f, tuple(rules)) for f, rules in asked.items())

    def _challengers_of(
        self, gaps: _Gaps, fired: set[str], causes: list[RankedCause], evidence: list[Rule]
    ) -> list[tuple[str, Rule]]:
        """Single unknown findings that would lift another cause above the leader, best first."""
        leader = causes[0] if causes else None
        # ranking.score's two products, kept running so that one more rule costs O(1)
        unsupported: dict[str, float] = {}  # cause -> prod(1 - w) over its fired supporting rules
        discount: dict[str, float] = {}  # cause -> prod(1 + w) over its fired rules against it
        for rule in evidence:
            if rule.weight > 0:
                unsupported[rule.cause_id] = unsupported.get(rule.cause_id, 1.0) * (1 - rule.weight)
            else:
                discount[rule.cause_id] = discount.get(rule.cause_id, 1.0) * (1 + rule.weight)
        leader_id, leader_score = (leader.id, leader.score) if leader else (None, -1.0)
        found: list[tuple[float, int, str, Rule]] = []
        for rule_id, cause, keeps, rule in self._challengers:
            if cause == leader_id or rule_id in fired:
                continue
            new_score = combined(unsupported.get(cause, 1.0) * keeps, discount.get(cause, 1.0))
            if new_score <= leader_score:
                continue  # cheap test first: most rules could not change the leader anyway
            missing = gaps.of_rule(rule)
            if missing is not _NEVER and len(missing) == 1:
                (finding,) = missing
                found.append((-new_score, self._kb.finding_order[finding], finding, rule))
        found.sort(key=lambda c: c[:2])
        return [(finding, rule) for _, _, finding, rule in found]


def _ask(asked: dict[str, list[str]], finding: str, rule_id: str) -> bool:
    """Ask about ``finding`` for ``rule_id`` (the first rule is the reason shown); True if it is new."""
    if finding in asked:
        asked[finding].append(rule_id)
        return False
    asked[finding] = [rule_id]
    return True
