"""Assessing a record that lacks a value the contract requires: what holds whatever it is.

An EHR may hold no age, no sex, or a pregnancy without its week. Refusing to assess such a
record would hide the red flags that do not depend on the missing value (cauda equina
signs, bleeding in pregnancy), so instead the record is assessed once for every value the
knowledge base tells apart: one age from each band its rules draw (for a stated pregnancy,
only within the ages ``rules/meta.yaml`` gives one), one week from each stretch of
pregnancy, each sex the contract names that the rules tell apart (female, other and unknown
meet the same rules), each single pain location. Rules compare these
values only with the bounds in ``rules/``, so any two values inside one band fire the same
rules, and these few assessments cover every possible value. Rules test a location only
as "any of these", and the knowledge base refuses a rule that needs two locations at once
(:mod:`service.knowledge.checks`), so pain in several places fires only what one of them
fires: the single locations cover every set of them.

The least urgent of them gives the urgency that holds whatever the value is (its reasons,
red flags and causes are those of one value that gives it: the youngest age or earliest week
among equals). The most urgent says how far the missing value could raise it. Both are
returned: a clinician's door (CDS Hooks) shows the first, a patient's (the REST API,
``$next-question``) the second, and each reports the other. Where the records narrow the
value down (two gestational ages whose dates cannot tell which is current; a birth date, or
a gestational age measured on a date, given only to the month or the year; a value given only
as a bound), only those candidates are assessed; so are values the records give differently
with nothing to pick one (a sex, an onset, a course, a side or a duration; ages with none in common), a
value a record gives being left out of it for them (:func:`undecided`). Candidates that meet
the same context rules (left and right; ages in one band) are assessed once. An interview
goes on with the questions of every answer (:func:`asking_every_question`): one week band's
questions alone would never ask about the baby's movements of a woman who does not know she
is past 24 weeks.
"""

from __future__ import annotations

import bisect
import copy
import itertools
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from service import vocabulary as vocab
from service.knowledge.model import KnowledgeBase, Range, Rule
from service.reasoning.assessment import Assessment, Question, SuppressedCare
from service.reasoning.record import Record, missing_values

# each value a record may lack (:func:`missing_values`): its path in the record, whose last
# step is the rules' name for it
PATHS = {
    "age": ("patient", "age"),
    "sex": ("patient", "sex"),
    "gestational week": ("patient", "pregnancy", "gestational_week"),
    "pain location": ("complaint", "locations"),
    # values a record may have but the records disagree on, or give only as a bound: left out
    # only when they come with candidates (:func:`undecided`); left out alone, the rules read
    # them as not known (:mod:`service.reasoning.record_fields` asks for them)
    "pain onset": ("complaint", "onset"),
    "pain severity": ("complaint", "severity"),
    "pain course": ("complaint", "course"),
    "pain side": ("complaint", "side"),
    "pain duration": ("complaint", "duration_days"),
}
UNKNOWN = "unknown"  # a choice's value when it is not known
_RANGES = {
    "age": vocab.AGE_RANGE,
    "gestational week": vocab.GESTATIONAL_WEEK_RANGE,
    "pain severity": vocab.SEVERITY_RANGE,
    "pain duration": vocab.DURATION_RANGE,
}
# the numbers a value is floored to, per unit, where finer than whole ones: a band of
# durations may start at any thousandth of a day (rules/derived.yaml: under 84 is up to 83.999)
_STEPS = {"pain duration": vocab.DURATION_STEP_PER_DAY}

# the only values a value left out can have, when the records narrow it down (a week, an age,
# a severity: whole numbers; a duration: days; a sex, onset, course or side: the contract's codes), by its name
# in :data:`PATHS`; each is a value some record gives
Candidates = Mapping[str, tuple[Any, ...]]


@dataclass(frozen=True)
class Bracket:
    """The assessments of every value the missing fields can take, least and most urgent."""

    missing: tuple[str, ...]
    least_urgent: Assessment
    most_urgent: Assessment
    answers: tuple[Assessment, ...]  # one per completion, in the order of the bands
    candidates: Candidates  # of the missing values, those the records narrow down: to these


def bracket(
    kb: KnowledgeBase,
    raw: dict[str, Any],
    record: Callable[[dict[str, Any]], Record],
    assess: Callable[[Record], Assessment],
    candidates: Candidates | None = None,
) -> Bracket:
    """Assess ``raw`` for every combination of the values it lacks (:func:`missing_values`);
    ``candidates``: the only values some of them can have, when the records say so.

    ``record`` validates a completed copy (as for any client's record); ``assess`` assesses it.
    Ties keep the first value in the order the bands come, youngest age and earliest week first.
    """
    answers = tuple(assess(record(completed)) for completed in completions(kb, raw, candidates))
    ranked = [(kb.levels[answer.urgency.level].rank, answer) for answer in answers]
    # a lower rank is more urgent (emergency is 0)
    least = max(ranked, key=lambda item: item[0])  # max keeps the first of equals
    most = min(ranked, key=lambda item: item[0])
    missing = undecided(raw, candidates)
    narrowed = {name: values for name, values in (candidates or {}).items() if name in missing and values}
    return Bracket(missing, least[1], most[1], answers, narrowed)


def asking_every_question(kb: KnowledgeBase, bracketed: Bracket, shown: Assessment) -> Assessment:
    """``shown`` with the questions of every answer: what is worth asking depends on the value
    not known. A question that could reveal a more urgent red flag for any value comes first;
    among equals, each comes at the earliest place any answer gives it (ties: ``shown``'s
    first). Places alone starved the other values: every answer's next question is at place
    0, ``shown``'s won each tie, and the baby moving less (an emergency from week 24) waited
    behind the whole interview of an earlier week (29th of 29). Its urgency and interview stop
    as they are once it has reached the urgency that ends an interview."""
    if shown.interview.stop_reason == "urgency_reached":
        return shown
    order: dict[str, tuple[int, int, int]] = {}  # finding -> (most urgent it could reveal, place, first seen)
    first: dict[str, Question] = {}
    unranked = len(kb.levels)
    for answer in (shown, *bracketed.answers):
        for index, question in enumerate(answer.questions):
            reveals = min(
                (kb.levels[level].rank for r in question.rules if (level := kb.rules[r].level) is not None),
                default=unranked,
            )
            seen = order.get(question.finding)
            order[question.finding] = (
                (min(reveals, seen[0]), min(index, seen[1]), seen[2]) if seen else (reveals, index, len(order))
            )
            first.setdefault(question.finding, question)
    questions = [first[finding] for finding in sorted(order, key=order.__getitem__)]
    if not questions:
        return shown
    return shown._replace(
        questions=tuple(questions), interview=shown.interview._replace(complete=False, stop_reason=None)
    )


def without_care_any_value_contraindicates(bracketed: Bracket, shown: Assessment) -> Assessment:
    """``shown`` with the care that some value the record could have contraindicates moved to
    ``suppressed_care``, naming the rules that contraindicate it for that value. Offered care
    must be safe whatever the value is: a pregnant woman who did not know her week was offered
    NSAIDs, contraindicated from week 20, while order-sign warned about the same medicine for
    the same patient. Deferrals are the shown answer's own: another value's urgency defers
    nothing here."""
    contraindicated: dict[str, SuppressedCare] = {}
    for answer in bracketed.answers:
        for item in answer.suppressed_care:
            if item.deferred_at is None:
                contraindicated.setdefault(item.id, item)
    moved = tuple(contraindicated[item.id] for item in shown.care if item.id in contraindicated)
    if not moved:
        return shown
    return shown._replace(
        care=tuple(item for item in shown.care if item.id not in contraindicated),
        suppressed_care=shown.suppressed_care + moved,
    )


def completions(
    kb: KnowledgeBase, raw: dict[str, Any], candidates: Candidates | None = None
) -> Iterator[dict[str, Any]]:
    """Copies of ``raw`` completed with every combination of the values it lacks, one value
    from each band the rules draw (``raw`` itself, copied, when it lacks none); ``candidates``:
    the only values some of them can have, when the records say so."""
    missing, options = _choices(kb, raw, candidates)
    for values in itertools.product(*options):
        completed = copy.deepcopy(raw)
        for name, value in zip(missing, values, strict=True):
            _put(completed, name, copy.copy(value))  # a location list is shared by the options
        yield completed


def settled(kb: KnowledgeBase, raw: dict[str, Any], candidates: Candidates) -> tuple[dict[str, Any], Candidates]:
    """``raw`` with each value the records narrow to candidates of one band filled in (the
    least of them), and the candidates left. Every value in a band fires the same rules, so
    there is nothing to bracket: only candidates across a boundary (23 or 24 weeks, 64 or 65
    years) call for the bracket and the card that asks for the value. A number counted on
    from its date is nearly always two candidates, a card on every call otherwise."""
    filled, left = raw, dict(candidates)
    for name, values in candidates.items():
        if name not in undecided(filled, candidates) or len(_one_per_band(kb, name, values)) != 1:
            continue
        filled = copy.deepcopy(filled)
        _put(filled, name, min(values))
        del left[name]
    return filled, left


def completion_count(kb: KnowledgeBase, raw: dict[str, Any], candidates: Candidates | None = None) -> int:
    """How many records :func:`completions` gives, without making them."""
    return math.prod(len(values) for values in _choices(kb, raw, candidates)[1])


def _choices(
    kb: KnowledgeBase, raw: dict[str, Any], candidates: Candidates | None
) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
    """The values ``raw`` leaves undecided, and the values each is assessed at."""
    missing, narrowed = undecided(raw, candidates), candidates or {}
    return missing, [
        _one_per_band(kb, name, narrowed[name]) if narrowed.get(name) else _options(kb, raw, name) for name in missing
    ]


def undecided(raw: dict[str, Any], candidates: Candidates | None = None) -> tuple[str, ...]:
    """The values ``raw`` lacks (:func:`missing_values`), and those it leaves out for the
    ``candidates`` the records give (a side answered left in one form and both in another),
    in the order of :data:`PATHS`: each is assessed at every value it can have."""
    lacking = set(missing_values(raw)) | {name for name, values in (candidates or {}).items() if values}
    return tuple(name for name in PATHS if name in lacking and not _holds(raw, name))


def _holds(record: dict[str, Any], name: str) -> bool:
    """Whether ``record`` gives the value ``name`` stands for (:data:`PATHS`)."""
    part: Any = record
    for key in PATHS[name]:
        if not isinstance(part, dict) or key not in part:
            return False
        part = part[key]
    return True


def _put(record: dict[str, Any], name: str, value: Any) -> None:
    """Set the value ``name`` stands for (:data:`PATHS`) in ``record``."""
    *parents, leaf = PATHS[name]
    part = record
    for key in parents:
        part = part.setdefault(key, {})
    part[leaf] = value


def bands(kb: KnowledgeBase, name: str) -> tuple[float, ...]:
    """The first value of each band the rules draw on ``name`` (an age, a gestational week, a
    duration: to the thousandth of a day it is floored to)."""
    return band_starts(kb, PATHS[name][-1], _RANGES[name], _STEPS.get(name, 1))


def _one_per_band(kb: KnowledgeBase, name: str, values: tuple[Any, ...]) -> tuple[Any, ...]:
    """The least of ``values`` in each band the rules draw on ``name`` (an age band, a stretch
    of pregnancy): the others fire the same rules (44 undated gestational ages made 44 times
    the assessments, seconds for one call). Of codes (a sex, a side), the first of each set
    that meets the same context rules: left and right do, as female and other do."""
    if name not in _RANGES:
        field = PATHS[name][-1]
        context = [rule for rule in kb.rules.values() if rule.when.is_context]
        alike: dict[frozenset[str], Any] = {}
        for value in sorted(values):
            alike.setdefault(rules_met(field, value, context), value)
        return tuple(alike.values())
    starts = bands(kb, name)
    first: dict[float, Any] = {}
    for value in sorted(values):
        first.setdefault(starts[bisect.bisect_right(starts, value) - 1], value)
    return tuple(first.values())


def _options(kb: KnowledgeBase, raw: dict[str, Any], name: str) -> tuple[Any, ...]:
    if name == "sex":  # a pregnancy rules out male (the contract refuses the pair)
        pregnant = "pregnancy" in raw.get("patient", {})
        # female, other and unknown meet the same rules: one stands for them (a third of the cost)
        return _one_per_band(kb, name, tuple(s for s in vocab.SEXES if not (pregnant and s == "male")))
    if name == "pain location":  # one location at a time: no rule needs two at once
        return tuple([location] for location in vocab.LOCATIONS)
    if name == "age" and "pregnancy" in raw.get("patient", {}):  # not a toddler, nor a frail elder
        return band_starts(kb, "age", (kb.age_in_pregnancy.min, kb.age_in_pregnancy.max))
    return bands(kb, name)


def rules_met(name: str, value: Any, context: list[Rule]) -> frozenset[str]:
    """The context rules whose condition on the record's field ``name`` ``value`` meets
    (``None``: not known). Only context rules read the record's fields: values that meet the
    same ones fire the same rules everywhere."""
    met = set()
    for rule in context:
        condition = getattr(rule.when, name)
        if isinstance(condition, Range):
            if value is None:
                meets = condition.unknown
            else:
                meets = (condition.min is None or value >= condition.min) and (
                    condition.max is None or value <= condition.max
                )
        elif not condition:
            continue
        else:
            meets = (UNKNOWN if value is None else value) in condition
        if meets:
            met.add(rule.id)
    return frozenset(met)


def band_starts(kb: KnowledgeBase, field: str, limits: tuple[int, int], step: int = 1) -> tuple[float, ...]:
    """The first value of each band the rules' bounds on ``field`` cut ``limits`` into: whole
    values, or multiples of ``1 / step`` for a field floored to them (a duration: a band
    starts at 84 after a bound of 83.999, and would at 13.5 after one of 13.499)."""
    starts: set[float] = {limits[0]}
    for rule in kb.rules.values():
        bound = getattr(rule.when, field)
        if bound is None:
            continue
        if bound.min is not None:
            starts.add(_in_steps(math.ceil(round(bound.min * step, 6)), step))
        if bound.max is not None:
            starts.add(_in_steps(math.floor(round(bound.max * step, 6)) + 1, step))
    return tuple(sorted(s for s in starts if limits[0] <= s <= limits[1]))


def _in_steps(steps: int, step: int) -> float:
    """``steps`` of ``1 / step`` (whole, for a step of 1: an age stays an int)."""
    return steps if step == 1 else steps / step
