"""What an assessment concludes, as typed values: the web and CDS Hooks layers render it.

Every list is in a deterministic order (same record, same assessment), and every item names
the rules and sources it rests on. It holds ids, never patient-facing text: the answer is
worded in the patient's language when it is written
(:class:`~service.knowledge.translations.Catalogue`), so reasoning is the same in every language.
"""

from __future__ import annotations

from dataclasses import dataclass

from service.knowledge.model import Layer


@dataclass(frozen=True, slots=True)
class Reason:
    rule: str
    level: str
    sources: tuple[str, ...]
    red_flag: bool


@dataclass(frozen=True, slots=True)
class Urgency:
    level: str
    advice_when: str | None  # the finding whose variant of the level's advice applies, if any
    reasons: tuple[Reason, ...]  # most urgent first

    @property
    def red_flags(self) -> tuple[Reason, ...]:
        return tuple(r for r in self.reasons if r.red_flag)


@dataclass(frozen=True, slots=True)
class RankedCause:
    id: str
    rank: int
    score: float
    confidence: str
    supporting: tuple[str, ...]
    against: tuple[str, ...]
    rules: tuple[str, ...]
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Caution:
    """Care that stays on offer for this patient, but with a warning from a rule."""

    rule: str
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Care:
    id: str
    kind: str
    for_causes: tuple[str, ...]
    requires_clinician: bool
    rule: str
    sources: tuple[str, ...]
    cautions: tuple[Caution, ...] = ()


@dataclass(frozen=True, slots=True)
class SuppressedCare:
    """Care removed for this patient: contraindicated by ``rules``, or deferred by the urgency
    (``deferred_at`` the level; ``rules`` then the reasons for that level)."""

    id: str
    rules: tuple[str, ...]
    sources: tuple[str, ...]
    deferred_at: str | None = None


@dataclass(frozen=True, slots=True)
class Referral:
    specialties: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Question:
    finding: str
    rules: tuple[str, ...]  # the first rule says why the question is asked


@dataclass(frozen=True, slots=True)
class InterviewState:
    """Where an interview stands: complete when no unanswered question could change the
    urgency or the leading cause (then ``questions`` is empty and the reason says why)."""

    complete: bool
    stop_reason: str | None  # why it is complete: a stop reason id of rules/interview.yaml (worded per language)
    screens: tuple[str, ...]  # the interview screens that apply to this patient, in priority order


@dataclass(frozen=True, slots=True)
class FiredRule:
    rule: str
    layer: Layer


@dataclass(frozen=True, slots=True)
class Assessment:
    knowledge_base_version: str
    knowledge_base_sha256: str
    urgency: Urgency
    causes: tuple[RankedCause, ...]
    care: tuple[Care, ...]
    suppressed_care: tuple[SuppressedCare, ...]
    referral: Referral
    questions: tuple[Question, ...]
    interview: InterviewState
    trace: tuple[FiredRule, ...]  # firing order
