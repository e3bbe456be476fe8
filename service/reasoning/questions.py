"""Which unknown findings are worth asking about next, in what order, and when to stop.

A question is an input finding the record left unknown (in neither ``present`` nor
``absent``) whose answer could change the assessment:

1. screening: findings that an escalation rule above the current urgency still needs
   (red flags before other escalations);
2. differential: a single finding that would lift another listed cause's score above the
   leading one (at most ``scoring.max_cause_questions``, after the screening questions).
   Only causes the answers already point to are weighed: finding new ones is the screens'
   job and the patient's own account.

Which screening questions fit the patient, and their order, is knowledge: the screens of
``rules/interview.yaml`` (obstetric warning signs first in pregnancy, cauda equina signs
first with back or radiating pain, ...). A screening question comes at the position of the
first applicable screen that lists it; one no screen lists is still asked, last, when its
answer alone would complete a red flag a present finding has started. A pattern of several
findings is not asked about when part of it alone already reaches its urgency. The interview
is complete when nothing is left to ask, or once the urgency reaches ``stop.at_level``.

What a rule still needs is read off the rule's own conditions, following derived
findings back to the input findings that would conclude them. While a complaint field is
unknown (the onset, say), what some value of it would conclude (a sudden onset) counts as
possible for the screening questions, so the findings a red flag needs beside it are asked;
the field itself is asked once no question is left (:mod:`service.reasoning.record_fields`). The engine remains the only
place where rules fire; this module only asks "what is missing?". Everything that depends
only on the knowledge base is worked out once, when :class:`FollowUp` is built.
"""

from __future__ import annotations

from dataclasses import dataclass

from service.knowledge.model import KnowledgeBase, Layer, Rule, Screen
from service.reasoning.assessment import InterviewState, Question, RankedCause
from service.reasoning.finding_sets import FindingSets
from service.reasoning.ranking import combined
from service.reasoning.record_fields import FIELDS
from service.reasoning.unrecorded import rules_met

_NEVER = None
_PLACES_KEPT = 1024  # sets of applicable screens whose question places are kept (a bound on memory)


@dataclass(frozen=True)
class KnownFindings:
    present: frozenset[str]  # input present + derived concluded
    absent: frozenset[str]  # input absent, and not known (asked, and the patient could not say)
    locations: frozenset[str] = frozenset()  # complaint.locations (screens may apply by location)
    not_known: frozenset[str] = frozenset()  # of ``absent``, those the patient could not say
    fields_not_known: frozenset[str] = frozenset()  # complaint.not_known: onset and the like, asked, not known
    fields_unknown: frozenset[str] = frozenset()  # onset and the like, neither given nor asked and not known


@dataclass(frozen=True, slots=True)
class _Needs:
    """A rule's conditions split by how a record can meet them, worked out once per knowledge
    base because :meth:`_Gaps.of_rule` is asked about many rules for every record; each part
    is a set of :class:`FindingSets` bits."""

    inputs: int  # input findings that must be present: each can be asked about
    derived: tuple[tuple[str, int], ...]  # derived findings (and their bits) that must be present, that rules conclude
    context: int  # derived findings no rule concludes from findings (age, pregnancy)
    absent: int  # findings that must be absent

    @classmethod
    def of(cls, rule: Rule, kb: KnowledgeBase, sets: FindingSets) -> _Needs:
        derived = [f for f in rule.when.present if kb.findings[f].derived]
        return cls(
            inputs=sets.of({f for f in rule.when.present if not kb.findings[f].derived}),
            derived=tuple((f, sets.bit[f]) for f in derived if f in kb.derivers),
            context=sets.of({f for f in derived if f not in kb.derivers}),
            absent=sets.of(set(rule.when.absent)),
        )


class _Gaps:
    """Computes the unknown input findings a rule lacks (as :class:`FindingSets` bits), or
    ``None`` if it cannot fire."""

    def __init__(
        self,
        kb: KnowledgeBase,
        needs: dict[str, _Needs],
        present: int,
        absent: int,
        unanswered: dict[str, tuple[int, int | None]] | None = None,
    ) -> None:
        self._kb = kb
        self._needs = needs
        self._present = present
        self._absent = absent
        # per derived finding, the findings its derivers read and its gaps while none of those
        # is known: then the derivers need not be weighed again
        self._unanswered = unanswered or {}
        self._answered = present | absent
        self._derived_gaps: dict[str, int | None] = {}

    def of_rule(self, rule: Rule) -> int | None:
        needs = self._needs[rule.id]
        present, absent = self._present, self._absent
        unknown_inputs = needs.inputs & ~present
        if (needs.context & ~present) or (unknown_inputs & absent) or (needs.absent & present):
            return _NEVER
        gaps = unknown_inputs | (needs.absent & ~absent)
        for finding, bit in needs.derived:
            if not present & bit:
                missing = self.of_derived(finding)
                if missing is _NEVER:
                    return _NEVER
                gaps |= missing
        return gaps

    def reads(self, rule: Rule) -> frozenset[str]:
        """Every finding whose being known can change :meth:`of_rule` for ``rule``: its own
        conditions and those of the rules that conclude the derived findings it needs."""
        read = {*rule.when.present, *rule.when.absent}
        for finding, _ in self._needs[rule.id].derived:
            for deriver in self._kb.derivers[finding]:
                read |= self.reads(deriver)
        return frozenset(read)

    def of_derived(self, finding: str) -> int | None:
        """The fewest unknown input findings that would conclude a derived ``finding``, or ``None``."""
        if finding not in self._derived_gaps:  # derived findings form no cycle (loader check)
            unanswered = self._unanswered.get(finding)
            if unanswered and not unanswered[0] & self._answered:
                self._derived_gaps[finding] = unanswered[1]
            else:
                options = [o for r in self._kb.derivers[finding] if (o := self.of_rule(r)) is not _NEVER]
                # the smallest set of questions that would conclude it; file order breaks ties
                self._derived_gaps[finding] = min(options, key=int.bit_count) if options else _NEVER
        return self._derived_gaps[finding]


class FollowUp:
    """The follow-up questions for one knowledge base; build once, call per assessment."""

    def __init__(self, kb: KnowledgeBase, sets: FindingSets) -> None:
        self._kb = kb
        self._rank = {level: urgency.rank for level, urgency in kb.levels.items()}
        # red flags first, then the most urgent; the stable sort keeps file order within
        self._escalations = tuple(
            sorted(kb.rules_in(Layer.ESCALATION), key=lambda r: (not r.red_flag, self._rank[r.level_id]))
        )
        # per cause, (rule id, 1 - weight, rule) for each evidence rule supporting it, so that a
        # record weighs only the rules of the few causes it lists
        self._challengers: dict[str, list[tuple[str, float, Rule]]] = {}
        for r in kb.rules_in(Layer.EVIDENCE):
            if r.supports:
                self._challengers.setdefault(r.cause_id, []).append((r.id, 1 - r.weight, r))
        self._red_flags = frozenset(r.id for r in self._escalations if r.red_flag)
        self._sets = sets
        self._needs = {r.id: _Needs.of(r, kb, sets) for r in kb.rules.values() if not r.when.is_context}
        # per urgency, the escalation rules that would raise it, in the order above, each with its
        # rank, the findings its gaps depend on, and its gaps while none of those is known, as bits
        # and spelled (most rules for most records: a record answers a few of the questions)
        nothing_known = _Gaps(kb, self._needs, present=0, absent=0)
        unanswered: dict[str, tuple[int, int | None, tuple[str, ...]]] = {}
        for r in self._escalations:
            gaps = nothing_known.of_rule(r)
            unanswered[r.id] = (sets.of(nothing_known.reads(r)), gaps, sets.spelled(gaps or 0))
        self._raising = {
            level: tuple(
                (r, self._rank[r.level_id], *unanswered[r.id])
                for r in self._escalations
                if self._rank[r.level_id] < rank
            )
            for level, rank in self._rank.items()
        }
        self._derived_unanswered = {
            finding: (
                sets.of(set().union(*(nothing_known.reads(r) for r in derivers))),
                nothing_known.of_derived(finding),
            )
            for finding, derivers in kb.derivers.items()
        }
        # each screen with the place of each of its questions: (the screen's place in the file,
        # the question's in the screen); among the screens that apply to a patient these places
        # sort as the places among those screens alone would, so they are worked out once
        self._screens = tuple(
            (screen, {f: (k, i) for i, f in enumerate(screen.ask)}) for k, screen in enumerate(kb.interview.screens)
        )
        self._after_screens = len(kb.interview.screens)  # the place of a question no screen asks
        self._places_by_screens: dict[tuple[str, ...], dict[str, tuple[int, int]]] = {}
        self._stop_rank = self._rank[kb.interview.stop_at_level]
        self._asked_after_yes = kb.interview.asked_after_yes
        self._not_asked_when = {f: frozenset(whens) for f, whens in kb.interview.not_asked_when.items()}
        # per complaint field, the context findings some value of it concludes that its
        # unknown value does not (sudden onset, severe pain, ...): while the field is unknown
        # they may yet hold, so the red flags that need them stay open (see __call__)
        context = [r for r in kb.rules.values() if r.when.is_context]
        self._field_may_conclude = {
            name: sets.of({d for r in _testing_beyond_unknown(name, context) if (d := kb.rules[r].derive)})
            for name in FIELDS
        }

    def __call__(
        self,
        *,
        known: KnownFindings,
        fired: set[str],
        level: str,
        causes: list[RankedCause],
        evidence: list[Rule],
    ) -> tuple[tuple[Question, ...], InterviewState]:
        screens = [(s, positions) for s, positions in self._screens if s.applies(known.present, known.locations)]
        screen_ids = tuple(s.id for s, _ in screens)
        current = self._rank[level]
        if current <= self._stop_rank:
            return (), InterviewState(True, "urgency_reached", screen_ids)

        places = self._places(screen_ids, screens)
        not_asked = frozenset(f for f, whens in self._not_asked_when.items() if not whens.isdisjoint(known.present))
        present, absent = self._sets.of(known.present), self._sets.of(known.absent)
        gaps = _Gaps(self._kb, self._needs, present, absent, self._derived_unanswered)
        asked: dict[str, list[str]] = {}  # finding -> rule ids, the first says why it is asked
        priority: dict[str, tuple[int, int]] = {}
        # A red flag that needs a sudden onset and fainting, with the onset unknown: fainting is
        # asked as if the onset could be sudden, and the onset itself once no question is left
        # (record_fields). Waiting for the onset first left each half waiting for the other.
        may_hold = 0
        for name in known.fields_unknown:
            may_hold |= self._field_may_conclude[name]
        screening = gaps
        if may_hold:
            screening = _Gaps(self._kb, self._needs, present | may_hold, absent, self._derived_unanswered)
        open_rules = self._open_rules(level, fired, screening, present | absent | may_hold)
        # a pattern whose part alone already reaches its urgency adds nothing to ask about
        reaches: dict[int, int] = {}
        for _, rank, missing, _ in open_rules:
            if rank < reaches.get(missing, current):
                reaches[missing] = rank
        for rule, rank, missing, spelled in open_rules:
            if len(spelled) > 1 and _dominated(missing, rank, reaches):
                continue
            wanted = self._screening(rule, spelled, known, places, not_asked=not_asked)
            for finding, position in wanted:
                priority[finding] = position
                _ask(asked, finding, rule.id)
        questions = {f: asked[f] for f in sorted(asked, key=priority.__getitem__)}

        added = 0
        for finding, rule in self._challengers_of(gaps, fired, causes, evidence):
            if added == self._kb.scoring.max_cause_questions:
                break
            if finding in not_asked:
                continue
            added += _ask(questions, finding, rule.id)
        if not questions:  # "answered" would tell a patient who said "don't know" that nothing is left open
            unanswered = known.not_known or known.fields_not_known
            return (), InterviewState(True, "unanswered" if unanswered else "answered", screen_ids)
        return (
            tuple(Question(f, tuple(rules)) for f, rules in questions.items()),
            InterviewState(False, None, screen_ids),
        )

    def _open_rules(
        self, level: str, fired: set[str], gaps: _Gaps, answered: int
    ) -> list[tuple[Rule, int, int, tuple[str, ...]]]:
        """(rule, rank, missing findings as bits and in vocabulary order) for each escalation
        rule that could still raise the urgency from ``level``, in the order of ``_raising``."""
        open_rules = []
        for rule, rank, reads, gaps_if_unanswered, spelled in self._raising[level]:
            if rule.id in fired:
                continue
            if reads & answered:
                if missing := gaps.of_rule(rule):
                    open_rules.append((rule, rank, missing, self._sets.spelled(missing)))
            elif gaps_if_unanswered:
                open_rules.append((rule, rank, gaps_if_unanswered, spelled))
        return open_rules

    def _places(
        self, screen_ids: tuple[str, ...], screens: list[tuple[Screen, dict[str, tuple[int, int]]]]
    ) -> dict[str, tuple[int, int]]:
        """Each question's place in the first of these screens that asks it.

        It depends only on the knowledge base and which screens apply, and a few sets of
        screens apply to most patients, so each is worked out once (at most _PLACES_KEPT of
        them are kept).
        """
        places = self._places_by_screens.get(screen_ids)
        if places is None:
            places = {}
            for _, at in reversed(screens):
                places.update(at)
            if len(self._places_by_screens) < _PLACES_KEPT:
                self._places_by_screens[screen_ids] = places
        return places

    def _screening(
        self,
        rule: Rule,
        missing: tuple[str, ...],
        known: KnownFindings,
        places: dict[str, tuple[int, int]],
        *,
        not_asked: frozenset[str],
    ) -> list[tuple[str, tuple[int, int]]]:
        """The questions (with their priority) to ask for an escalation rule's missing findings
        (in vocabulary order).

        Every one must be askable, or none is asked: half of a pair whose other half is never
        asked could change nothing. A red flag is the exception, so that no red flag is left
        unreachable: its screened findings are asked now, and when no applicable screen lists
        any, the first of them is asked, last; the rest follow a "yes", since each is asked
        (last) once it is the only answer missing. A finding asked only after a "yes" to
        another is replaced by that other while it is unanswered, dropped once it is "no", and
        asked itself once the other is "don't know" (leg weakness the patient cannot judge may
        still be getting worse).
        ``not_asked``: the findings ``rules/interview.yaml`` does not ask of this patient.
        """
        wanted: list[tuple[str, tuple[int, int]]] = []
        unscreened: list[str] = []
        for needed in missing:
            finding = self._asked_after_yes.get(needed, needed)
            if finding in known.not_known:  # "don't know" is no "no": ask the worse question itself
                finding = needed
            if finding in known.absent or finding in not_asked:
                return []
            if finding in known.present:
                finding = needed
            position = places.get(finding)
            if position is None:
                unscreened.append(finding)
            else:
                wanted.append((finding, position))
        if not unscreened:
            return wanted
        if rule.id not in self._red_flags:
            return []
        if wanted:
            return wanted  # the unscreened findings follow a "yes" to these
        first = unscreened[0]
        return [(first, (self._after_screens, self._kb.finding_order[first]))]  # the rest follow a "yes" to it

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
        # only listed causes are weighed; a cause a red flag implicates ranks before every other,
        # so when one leads only another implicated cause could overtake it
        implicated = {c.id for c in causes if not self._red_flags.isdisjoint(c.rules)}
        candidates = implicated if leader_id in implicated else {c.id for c in causes}
        found: list[tuple[float, int, int, str, Rule]] = []
        for cause in candidates - {leader_id}:
            for rule_id, keeps, rule in self._challengers.get(cause, ()):
                if rule_id in fired:
                    continue
                new_score = combined(unsupported.get(cause, 1.0) * keeps, discount.get(cause, 1.0))
                if new_score <= leader_score:
                    continue  # cheap test first: most rules could not change the leader anyway
                missing = gaps.of_rule(rule)
                if missing is not _NEVER and missing.bit_count() == 1:
                    (finding,) = self._sets.spelled(missing)
                    order = (-new_score, self._kb.finding_order[finding], self._kb.rule_order[rule_id])
                    found.append((*order, finding, rule))
        found.sort(key=lambda c: c[:3])  # ties in file order
        return [(finding, rule) for *_, finding, rule in found]


def _testing_beyond_unknown(name: str, context: list[Rule]) -> frozenset[str]:
    """The context rules that test the complaint field ``name`` with a condition its unknown
    value does not meet: they may conclude their finding once the field is known."""
    testing = {r.id for r in context if getattr(r.when, name)}
    return frozenset(testing - rules_met(name, None, context))


def _dominated(missing: int, rank: int, reaches: dict[int, int]) -> bool:
    """Whether fewer of these findings already reach this urgency (``rank``) by another rule.

    ``missing`` and the keys of ``reaches`` are :class:`FindingSets` bits; every part of
    ``missing`` is visited once by the usual walk over the subsets of a bit set.
    """
    part = (missing - 1) & missing
    while part:
        if reaches.get(part, rank + 1) <= rank:
            return True
        part = (part - 1) & missing
    return False


def _ask(asked: dict[str, list[str]], finding: str, rule_id: str) -> bool:
    """Ask about ``finding`` for ``rule_id`` (the first rule is the reason shown); True if it is new."""
    if finding in asked:
        asked[finding].append(rule_id)
        return False
    asked[finding] = [rule_id]
    return True
