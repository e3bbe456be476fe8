"""One assessment: record → engine → fired rules → an :class:`Assessment`.

The only module that knows how fired rules become an answer. It reads each rule's
conclusion from the knowledge base, so adding a cause, red flag or care item never touches
code.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from time import perf_counter
from typing import Any

from marshmallow import Schema

from service import metrics
from service.knowledge.model import CareItem, KnowledgeBase, Layer, Rule
from service.reasoning.assessment import (
    Assessment,
    Care,
    Caution,
    FiredRule,
    RankedCause,
    Reason,
    Referral,
    SuppressedCare,
    Urgency,
)
from service.reasoning.engine import RuleEngine
from service.reasoning.finding_sets import FindingSets
from service.reasoning.questions import FollowUp, KnownFindings
from service.reasoning.ranking import CauseRanking
from service.reasoning.record import Record, missing_values
from service.reasoning.record_fields import FieldProbe, unknown_fields
from service.validation import validated

RECORD_MISMATCH = "The symptom record does not match the contract."  # a 422's detail
_LAYERS = tuple(Layer)  # iterating the enum class itself costs about 1.5 µs per assessment
_CARE_KIND_ORDER = {"referral": 0, "self_care": 1, "therapy": 2, "medication": 3, "monitoring": 4}


class IncompleteRecordError(ValueError):
    """A record lacking a value the rules test was given to the engine as it is."""


@dataclass(frozen=True, slots=True)
class _CarePlan:
    """What the care step reads of one care item, worked out once per knowledge base."""

    item: CareItem
    kind_order: int  # the item's kind's place in _CARE_KIND_ORDER
    for_causes: frozenset[str]
    removed_by: tuple[Rule, ...]  # contraindication rules that take it out, file order
    cautions: tuple[Caution, ...]  # and those that keep it with a warning
    deferred_at: frozenset[str]  # the urgency levels at which it is deferred


def _all_sources(rules: Iterable[Rule | Reason]) -> tuple[str, ...]:
    """The sources of several rules, once each, sorted."""
    return tuple(sorted({s for r in rules for s in r.sources}))


class Assessor:
    """Validates records and assesses them against one knowledge base; one per process."""

    def __init__(self, kb: KnowledgeBase, engine: RuleEngine, record_schema: Schema) -> None:
        self.kb = kb
        self._engine = engine
        self._record_schema = record_schema
        sets = FindingSets(kb)
        self._follow_up = FollowUp(kb, sets)
        self._rank_causes = CauseRanking(kb, sets)
        # the complaint's unknown fields whose value could raise the urgency: the doors ask it
        self.record_fields = FieldProbe(kb)
        # Which contraindication rules take each care item out, or keep it with a caution,
        # depends only on the knowledge base: worked out once here, looked up per record.
        contraindications = kb.rules_in(Layer.CONTRAINDICATION)  # file order
        # So are the urgency levels at which each item is deferred, the causes it is for, and its
        # place among the kinds of care: one lookup per item a record is offered.
        self._care_plans = {
            i.id: _CarePlan(
                item=i,
                kind_order=_CARE_KIND_ORDER[i.kind],
                for_causes=frozenset(i.for_causes),
                removed_by=tuple(r for r in contraindications if r.removes(i)),
                cautions=tuple(Caution(r.id, r.sources) for r in contraindications if r.cautions(i)),
                deferred_at=frozenset(
                    level.id
                    for level in kb.levels.values()
                    if i.defer_from != "never" and level.rank <= kb.levels[i.defer_from].rank
                ),
            )
            for i in kb.care.values()
        }
        # The parts of an answer that say only what a rule is: immutable, so built once and
        # shared by every assessment instead of rebuilt for each rule a record fires.
        self._steps = {r.id: FiredRule(r.id, r.layer) for r in kb.rules.values()}
        # each rule with its place in the files, so that fired rules sort into file order (the
        # places differ, so rules themselves are never compared)
        self._placed = {r.id: (kb.rule_order[r.id], r) for r in kb.rules.values()}
        escalations = kb.rules_in(Layer.ESCALATION)
        self._reasons = {r.id: Reason(r.id, r.level_id, r.sources, r.red_flag) for r in escalations}
        self._raises_to = {r.id: kb.levels[r.level_id].rank for r in escalations}

    @property
    def record_schema(self) -> Schema:
        return self._record_schema

    def record(self, data: Any, detail: str = RECORD_MISMATCH) -> Record:
        """``data`` as a validated record, or :class:`~service.validation.InvalidInputError`."""
        record: Record = validated(self._record_schema, data, detail)
        return record

    def fire(self, record: Record) -> list[str]:
        """The ids of the rules the record fires, in firing order.

        A record lacking its age or week is refused (a 500, the caller's mistake): it would
        fire none of the rules on that value, a silently smaller answer. The doors assess it
        for every value it could have instead (:mod:`service.reasoning.unrecorded`).

        Timed as the histogram's own timer would (``.time()``), without building a timer
        object per record.
        """
        if missing := missing_values(record):
            raise IncompleteRecordError(f"the record lacks its {' and '.join(missing)}")
        start = perf_counter()
        try:
            return self._engine.fire(record)
        finally:
            metrics.ENGINE_TIME.observe(max(perf_counter() - start, 0))

    def self_test(self) -> bool:
        """Whether the knowledge base's self-test record fires the rules it expects.

        Not timed: readiness probes run it, and the engine-time histogram counts assessments.
        """
        fired = set(self._engine.fire(self.record(self.kb.self_test)))
        return set(self.kb.self_test_rules) <= fired

    def assess(self, record: Record) -> Assessment:
        kb = self.kb
        fired_ids = self.fire(record)
        by_layer: dict[Layer, list[Rule]] = {layer: [] for layer in _LAYERS}
        for _, rule in sorted(map(self._placed.__getitem__, fired_ids)):
            by_layer[rule.layer].append(rule)

        known = KnownFindings(
            present=frozenset(record["findings"]["present"])
            | {r.derive for r in (*by_layer[Layer.CONTEXT], *by_layer[Layer.DERIVED]) if r.derive},
            # not known: never asked again, so the questions go on to what else could tell
            absent=frozenset(record["findings"]["absent"]).union(record["findings"]["not_known"]),
            locations=frozenset(record["complaint"]["locations"]),
            not_known=frozenset(record["findings"]["not_known"]),
            fields_not_known=frozenset(record["complaint"].get("not_known", ())),
            fields_unknown=frozenset(unknown_fields(record)),
        )
        urgency = self._urgency(by_layer[Layer.ESCALATION], known.present)
        red_flags = [r for r in by_layer[Layer.ESCALATION] if r.red_flag]
        causes = self._rank_causes(by_layer[Layer.EVIDENCE], red_flags)
        care, suppressed = self._care(by_layer[Layer.CARE], by_layer[Layer.CONTRAINDICATION], causes, urgency)
        questions, interview = self._follow_up(
            known=known,
            fired=set(fired_ids),
            level=urgency.level,
            causes=causes,
            evidence=by_layer[Layer.EVIDENCE],
        )
        return Assessment(
            knowledge_base_version=kb.version,
            knowledge_base_sha256=kb.sha256,
            urgency=urgency,
            causes=tuple(causes),
            care=care,
            suppressed_care=suppressed,
            referral=self._referral(urgency, causes),
            questions=questions,
            interview=interview,
            trace=tuple(map(self._steps.__getitem__, fired_ids)),
        )

    def _urgency(self, escalations: list[Rule], present: frozenset[str]) -> Urgency:
        reasons = sorted((self._reasons[r.id] for r in escalations), key=lambda r: self._raises_to[r.rule])  # stable
        urgency = self.kb.levels[reasons[0].level if reasons else "self_care"]
        advice_when = next((finding for finding in urgency.advice_when if finding in present), None)
        return Urgency(level=urgency.id, advice_when=advice_when, reasons=tuple(reasons))

    def _care(
        self, offered: list[Rule], contraindications: list[Rule], causes: list[RankedCause], urgency: Urgency
    ) -> tuple[tuple[Care, ...], tuple[SuppressedCare, ...]]:
        """Offered care, best-ranked causes first, minus what is contraindicated or deferred.

        A contraindication removes an item (or, as a caution, keeps it with a warning); the
        urgency defers every item whose ``defer_from`` level it reaches, so an emergency or
        an urgent case is never offered care that presumes a harmless cause.
        """
        listed = {c.id for c in causes}
        unlisted = len(causes) + 1  # the place of an item for no listed cause
        ordered = []
        for k, rule in enumerate(offered):
            if rule.care:
                plan = self._care_plans[rule.care]
                best = unlisted  # the rank of the best-ranked cause it is for: causes come best first
                for cause in causes:
                    if cause.id in plan.for_causes:
                        best = cause.rank
                        break
                ordered.append((best, plan.kind_order, k, plan))  # k: file order within, and no ties
        ordered.sort()
        deciding = [r for r in urgency.reasons if r.level == urgency.level]  # the reasons for this level
        deferring_rules, deferring_sources = tuple(r.rule for r in deciding), _all_sources(deciding)
        fired = {r.id for r in contraindications}
        care: list[Care] = []
        suppressed: list[SuppressedCare] = []
        for *_, plan in ordered:
            item = plan.item
            blocking = [r for r in plan.removed_by if r.id in fired] if fired and plan.removed_by else None
            if blocking:
                suppressed.append(
                    SuppressedCare(
                        id=item.id,
                        rules=tuple(r.id for r in blocking),
                        sources=_all_sources(blocking),
                    )
                )
            elif urgency.level in plan.deferred_at:
                suppressed.append(
                    SuppressedCare(
                        id=item.id, rules=deferring_rules, sources=deferring_sources, deferred_at=urgency.level
                    )
                )
            else:
                care.append(
                    Care(
                        id=item.id,
                        kind=item.kind,
                        for_causes=tuple(filter(listed.__contains__, item.for_causes)),
                        requires_clinician=item.requires_clinician,
                        rule=item.rule,
                        sources=item.sources,
                        cautions=tuple(c for c in plan.cautions if c.rule in fired) if plan.cautions else (),
                    )
                )
        return tuple(care), tuple(suppressed)

    def _referral(self, urgency: Urgency, causes: list[RankedCause]) -> Referral:
        specialties: list[str] = []
        if urgency.level != "self_care":
            specialties += [s for reason in urgency.reasons for s in self.kb.rules[reason.rule].refer]
            if causes:
                specialties += self.kb.causes[causes[0].id].specialties
        return Referral(specialties=tuple(dict.fromkeys(specialties)))
