"""The knowledge base as typed, immutable objects.

The loader builds these from ``rules/*.yaml``; everything downstream (compiler, ranking,
questions, the knowledge-base endpoint) reads them and never the YAML, so a field renamed
in the files fails once, at load time, with the file and rule named.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property


class KnowledgeBaseError(Exception):
    """The knowledge base cannot be used; the message names the file and the item."""

    def __init__(self, file: str, item: str, message: str) -> None:
        super().__init__(f"rules/{file}: {item}: {message}")


class Layer(StrEnum):
    """Where a rule sits in the forward chain, earliest first."""

    CONTEXT = "context"
    DERIVED = "derived"
    EVIDENCE = "evidence"
    ESCALATION = "escalation"
    CARE = "care"
    CONTRAINDICATION = "contraindication"


@dataclass(frozen=True)
class Range:
    """An inclusive numeric bound; ``None`` means open on that side. ``unknown``: the bound
    also holds when the record does not give the number (an optional field left out), for a
    rule whose safe reading of "not said" is inside the bound (a duration not given is not
    taken as long-standing)."""

    min: float | None = None
    max: float | None = None
    unknown: bool = False


@dataclass(frozen=True)
class Condition:
    """What must hold for a rule to fire.

    A rule speaks either of the record (``patient`` / ``complaint``: context rules) or of
    findings (``present`` / ``absent`` / ``causes``), never both; that keeps every layer
    above the first reasoning over findings only.
    """

    present: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()
    causes: tuple[str, ...] = ()  # care rules: any of these causes is supported
    pregnant: bool | None = None
    sex: tuple[str, ...] = ()
    age: Range | None = None
    gestational_week: Range | None = None
    locations: tuple[str, ...] = ()
    side: tuple[str, ...] = ()
    onset: tuple[str, ...] = ()
    course: tuple[str, ...] = ()
    severity: Range | None = None
    duration_days: Range | None = None

    @property
    def is_context(self) -> bool:
        return not (self.present or self.absent or self.causes)


@dataclass(frozen=True)
class Source:
    id: str
    kind: str
    title: str
    file: str | None = None


@dataclass(frozen=True)
class Finding:
    id: str
    derived: bool = False
    group: str | None = None
    question: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class Cause:
    id: str
    name: str
    description: str
    sources: tuple[str, ...]
    population: tuple[str, ...] = ()
    specialties: tuple[str, ...] = ()


@dataclass(frozen=True)
class UrgencyLevel:
    id: str
    rank: int  # 0 is the most urgent
    advice: str
    referral: str
    advice_when: dict[str, str] = field(default_factory=dict)
    defers_care: str | None = None  # why care is held back at this level (emergency, urgent)


@dataclass(frozen=True)
class Rule:
    """One rule of any layer; the layer decides which conclusion fields are set."""

    id: str
    layer: Layer
    rationale: str
    when: Condition
    sources: tuple[str, ...]
    file: str
    derive: str | None = None  # context / derived
    cause: str | None = None  # evidence
    weight: float = 0.0  # evidence: > 0 supports, < 0 argues against
    level: str | None = None  # escalation
    red_flag: bool = False
    reason: str | None = None  # escalation / contraindication
    refer: tuple[str, ...] = ()
    implicates: tuple[str, ...] = ()  # red-flag escalation: the causes it points to (rank first)
    care: str | None = None  # care: the care item this rule offers
    drug_classes: tuple[str, ...] = ()  # contraindication: suppressed
    modalities: tuple[str, ...] = ()
    caution_drug_classes: tuple[str, ...] = ()  # contraindication: kept, but with `reason` as a caution
    caution_modalities: tuple[str, ...] = ()

    @property
    def supports(self) -> bool:
        return self.layer is Layer.EVIDENCE and self.weight > 0

    @property
    def cause_id(self) -> str:
        """The cause an evidence rule speaks for or against (the loader guarantees one)."""
        if self.cause is None:
            raise TypeError(f"{self.id} is not an evidence rule")
        return self.cause

    @property
    def level_id(self) -> str:
        """The urgency an escalation rule raises to (the loader guarantees one)."""
        if self.level is None:
            raise TypeError(f"{self.id} is not an escalation rule")
        return self.level

    def removes(self, item: CareItem) -> bool:
        """Whether this contraindication rule takes ``item`` out of the care offered."""
        return item.drug_class in self.drug_classes or item.modality in self.modalities

    def cautions(self, item: CareItem) -> bool:
        """Whether this contraindication rule keeps ``item`` but with its reason as a caution."""
        return item.drug_class in self.caution_drug_classes or item.modality in self.caution_modalities


@dataclass(frozen=True)
class CareItem:
    id: str
    kind: str
    text: str
    for_causes: tuple[str, ...]
    requires_clinician: bool
    sources: tuple[str, ...]
    rule: str
    drug_class: str | None = None
    modality: str | None = None
    # The urgency from which the item is deferred (moved to suppressed_care until that is
    # assessed): "emergency", "urgent" (it presumes a benign cause), or "never" (what to do
    # now: referrals and safety advice).
    defer_from: str = "emergency"


@dataclass(frozen=True)
class Scoring:
    high: float
    moderate: float
    max_cause_questions: int


@dataclass(frozen=True)
class Span:
    """Whole values from ``min`` to ``max``, both included, and the sources that chose them."""

    min: int
    max: int
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Screen:
    """Questions worth asking a presentation (``rules/interview.yaml``), in the order to ask.

    It applies when any of ``when_present`` is present or any of ``when_locations`` was given
    (neither: it applies to everyone); its position in the file is its priority.
    """

    id: str
    rationale: str
    ask: tuple[str, ...]
    sources: tuple[str, ...]
    when_present: tuple[str, ...] = ()
    when_locations: tuple[str, ...] = ()

    def applies(self, present: frozenset[str], locations: frozenset[str]) -> bool:
        if not (self.when_present or self.when_locations):
            return True
        return not present.isdisjoint(self.when_present) or not locations.isdisjoint(self.when_locations)


@dataclass(frozen=True)
class Interview:
    """How the follow-up questions are ordered and when the interview is complete."""

    screens: tuple[Screen, ...]
    stop_at_level: str  # from this urgency on, nothing more is asked
    stop_reasons: dict[str, str]  # "urgency_reached" | "answered" | "unanswered" -> the patient-facing reason
    # finding -> the finding it is asked only after a "yes" to (never after a "no")
    asked_after_yes: dict[str, str] = field(default_factory=dict)
    # finding -> the findings (derived ones included) any of which, present, means it is not asked
    not_asked_when: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class KnowledgeBase:
    """Everything the service knows about medicine, in file order (which is review order)."""

    version: str
    sha256: str
    disclaimer: str
    scoring: Scoring
    self_test: dict
    self_test_rules: tuple[str, ...]
    sources: dict[str, Source]
    findings: dict[str, Finding]
    causes: dict[str, Cause]
    levels: dict[str, UrgencyLevel]
    rules: dict[str, Rule]
    care: dict[str, CareItem]
    interview: Interview
    # The ages a record that states a pregnancy but not the age is assessed at
    # (service.reasoning.unrecorded): a pregnant woman is not assessed as a toddler.
    age_in_pregnancy: Span
    # A referral specialty listed here suits only patients with one of these derived
    # findings (paediatrics: children; obstetrics: pregnancy).
    specialty_population: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def input_findings(self) -> list[str]:
        return [f.id for f in self.findings.values() if not f.derived]

    def rules_in(self, layer: Layer) -> tuple[Rule, ...]:
        """The rules of one layer in file order (computed once: the request path asks often)."""
        return self._rules_by_layer[layer]

    @cached_property
    def _rules_by_layer(self) -> dict[Layer, tuple[Rule, ...]]:
        return {layer: tuple(r for r in self.rules.values() if r.layer is layer) for layer in Layer}

    @cached_property
    def derivers(self) -> dict[str, tuple[Rule, ...]]:
        """For each derived finding, the finding-based rules that conclude it (file order)."""
        derivers: dict[str, list[Rule]] = {}
        for rule in self.rules.values():
            if rule.derive and rule.layer is Layer.DERIVED:
                derivers.setdefault(rule.derive, []).append(rule)
        return {finding: tuple(rules) for finding, rules in derivers.items()}

    @cached_property
    def rule_order(self) -> dict[str, int]:
        """Position of each rule in file order (layer files, then care): the stable output order."""
        return {rule_id: i for i, rule_id in enumerate(self.rules)}

    @cached_property
    def cause_order(self) -> dict[str, int]:
        """Position of each cause in causes.yaml: the last tie-break of the ranking."""
        return {cause_id: i for i, cause_id in enumerate(self.causes)}

    @cached_property
    def finding_order(self) -> dict[str, int]:
        """Position of each finding in the vocabulary: the stable order for output lists."""
        return {fid: i for i, fid in enumerate(self.findings)}
