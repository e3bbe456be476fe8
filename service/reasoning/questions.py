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
place where rules fire; this module only asks "what is missing?".
"""

from __future__ import annotations

from dataclasses import dataclass

from service.knowledge.model import KnowledgeBase, Layer, Rule
from service.reasoning.assessment import Question, RankedCause
from service.reasoning.ranking import score

_NEVER = None


@dataclass(frozen=True)
class KnownFindings:
    present: frozenset[str]  # input present + derived concluded
    absent: frozenset[str]  # input absent


class _Gaps:
    """Computes the unknown input findings a rule lacks, or ``None`` if it cannot fire."""

    def __init__(self, kb: KnowledgeBase, known: KnownFindings) -> None:
        self._kb = kb
        self._known = known
        self._derived_gaps: dict[str, frozenset[str] | None] = {}

    def of_rule(self, rule: Rule) -> frozenset[str] | None:
        gaps: set[str] = set()
        for finding in rule.when.present:
            missing = self._present_gap(finding)
            if missing is _NEVER:
                return _NEVER
            gaps |= missing
        for finding in rule.when.absent:
            if finding in self._known.present:
                return _NEVER
            if finding not in self._known.absent:
                gaps.add(finding)
        return frozenset(gaps)

    def _present_gap(self, finding: str) -> frozenset[str] | None:
        if finding in self._known.present:
            return frozenset()
        if not self._kb.findings[finding].derived:
            return _NEVER if finding in self._known.absent else frozenset({finding})
        if finding not in self._derived_gaps:  # derived findings form no cycle (loader check)
            options = [o for r in self._kb.derivers.get(finding, ()) if (o := self.of_rule(r)) is not _NEVER]
            # the smallest set of questions that would conclude it; file order breaks ties
            self._derived_gaps[finding] = min(options, key=len) if options else _NEVER
        return self._derived_gaps[finding]


def follow_up_questions(
    kb: KnowledgeBase,
    *,
    known: KnownFindings,
    fired: set[str],
    level: str,
    causes: list[RankedCause],
    evidence: list[Rule],
) -> tuple[Question, ...]:
    gaps = _Gaps(kb, known)
    current = kb.levels[level].rank
    escalations = sorted(
        (r for r in kb.rules_in(Layer.ESCALATION) if r.id not in fired and kb.levels[r.level_id].rank < current),
        key=lambda r: (not r.red_flag, kb.levels[r.level_id].rank),  # stable sort keeps file order
    )
    asked: dict[str, Question] = {}
    for rule in escalations:
        for finding in sorted(gaps.of_rule(rule) or (), key=kb.finding_order.__getitem__):
            _ask(kb, asked, finding, rule.reason or "", rule.id)

    leader = causes[0] if causes else None
    by_cause: dict[str, list[Rule]] = {}
    for rule in evidence:
        by_cause.setdefault(rule.cause_id, []).append(rule)
    challengers: list[tuple[float, str, Rule]] = []
    for rule in kb.rules_in(Layer.EVIDENCE):
        if not rule.supports or rule.id in fired or (leader and rule.cause == leader.id):
            continue
        new_score = score([*by_cause.get(rule.cause_id, ()), rule])
        if leader is not None and new_score <= leader.score:
            continue  # cheap test first: most rules could not change the leader anyway
        missing = gaps.of_rule(rule)
        if missing is not _NEVER and len(missing) == 1:
            challengers.append((new_score, next(iter(missing)), rule))
    challengers.sort(key=lambda c: (-c[0], kb.finding_order[c[1]]))
    added = 0
    for _, finding, rule in challengers:
        if added == kb.scoring.max_cause_questions:
            break
        name = kb.causes[rule.cause_id].name
        added += _ask(kb, asked, finding, f"A 'yes' could make {name} the most likely cause.", rule.id)
    return tuple(asked.values())


def _ask(kb: KnowledgeBase, asked: dict[str, Question], finding: str, why: str, rule_id: str) -> bool:
    if finding in asked:
        previous = asked[finding]
        asked[finding] = Question(finding, previous.text, previous.why, (*previous.rules, rule_id))
        return False
    asked[finding] = Question(finding, kb.findings[finding].question or finding, why, (rule_id,))
    return True
