"""What an assessment concludes, as typed values: the web and CDS Hooks layers render it.

Every list is in a deterministic order (same record, same assessment), and every item names
the rules and sources it rests on. It holds ids, never patient-facing text: the answer is
worded in the patient's language when it is written
(:class:`~service.knowledge.translations.Catalogue`), so reasoning is the same in every language.

The values are named tuples: immutable like frozen dataclasses, and built in about half the
time. An answer holds about thirty of them, and a frozen dataclass sets each field through
``object.__setattr__`` (measured: about 6 µs of an assessment's 117).
"""

from __future__ import annotations

from typing import NamedTuple

from service.knowledge.model import Layer


class Reason(NamedTuple):
    rule: str
    level: str
    sources: tuple[str, ...]
    red_flag: bool


class Urgency(NamedTuple):
    level: str
    advice_when: str | None  # the finding whose variant of the level's advice applies, if any
    reasons: tuple[Reason, ...]  # most urgent first

    @property
    def red_flags(self) -> tuple[Reason, ...]:
        return tuple(r for r in self.reasons if r.red_flag)


class RankedCause(NamedTuple):
    id: str
    rank: int
    score: float
    confidence: str
    supporting: tuple[str, ...]
    against: tuple[str, ...]
    rules: tuple[str, ...]
    sources: tuple[str, ...]


class Caution(NamedTuple):
    """Care that stays on offer for this patient, but with a warning from a rule."""

    rule: str
    sources: tuple[str, ...]


class Care(NamedTuple):
    id: str
    kind: str
    for_causes: tuple[str, ...]
    requires_clinician: bool
    rule: str
    sources: tuple[str, ...]
    cautions: tuple[Caution, ...] = ()


class SuppressedCare(NamedTuple):
    """Care removed for this patient: contraindicated by ``rules``, or deferred by the urgency
    (``deferred_at`` the level; ``rules`` then the reasons for that level)."""

    id: str
    rules: tuple[str, ...]
    sources: tuple[str, ...]
    deferred_at: str | None = None


class Referral(NamedTuple):
    specialties: tuple[str, ...]


class Question(NamedTuple):
    finding: str
    rules: tuple[str, ...]  # the first rule says why the question is asked


class RecordField(NamedTuple):
    """A field of the record left unknown whose value could raise the urgency: ask it."""

    field: str  # its path in the record: complaint.onset
    could_be: str  # the most urgent level a value of it could give


class InterviewState(NamedTuple):
    """Where an interview stands: complete when no unanswered question could change the
    urgency or the leading cause, and no field the record left unknown could raise the
    urgency (then ``questions`` and ``record_fields`` are empty and the reason says why)."""

    complete: bool
    stop_reason: str | None  # why it is complete: a stop reason id of rules/interview.yaml (worded per language)
    screens: tuple[str, ...]  # the interview screens that apply to this patient, in priority order
    record_fields: tuple[RecordField, ...] = ()  # most urgent first (service.reasoning.record_fields)


class FiredRule(NamedTuple):
    rule: str
    layer: Layer


class Assessment(NamedTuple):
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
