"""Assessing a record that lacks a value the contract requires: what holds whatever it is.

An EHR may hold no age, no sex, or a pregnancy without its week. Refusing to assess such a
record would hide the red flags that do not depend on the missing value (cauda equina
signs, bleeding in pregnancy), so instead the record is assessed once for every value the
knowledge base tells apart: one age from each band its rules draw (for a stated pregnancy,
only within the ages ``rules/meta.yaml`` gives one), one week from each stretch of
pregnancy, each sex the contract names, each single pain location. Rules compare these
values only with the bounds in ``rules/``, so any two values inside one band fire the same
rules, and these few assessments cover every possible value. Rules test a location only
as "any of these", and the knowledge base refuses a rule that needs two locations at once
(:mod:`service.knowledge.checks`), so pain in several places fires only what one of them
fires: the single locations cover every set of them.

The least urgent of them is what holds whatever the value is: every red flag it shows
would be shown for any value. The most urgent says how far the missing value could raise
it. Both are returned; the caller shows the first and reports the second. Where the records
narrow the value down (two gestational ages whose dates cannot tell which is current; a
birth date, or a gestational age measured on a date, given only to the month or the year),
only those candidates are assessed. An interview goes on with the questions of every answer
(:func:`asking_every_question`): one week band's questions alone would never ask about the
baby's movements of a woman who does not know she is past 24 weeks.
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
from service.knowledge.model import KnowledgeBase
from service.reasoning.assessment import Assessment, Question
from service.reasoning.record import Record, missing_values

# each value a record may lack (:func:`missing_values`): its path in the record, whose last
# step is the rules' name for it
PATHS = {
    "age": ("patient", "age"),
    "sex": ("patient", "sex"),
    "gestational week": ("patient", "pregnancy", "gestational_week"),
    "pain location": ("complaint", "locations"),
}
_RANGES = {"age": vocab.AGE_RANGE, "gestational week": vocab.GESTATIONAL_WEEK_RANGE}

# the only values a missing age or gestational week can have, when the records narrow it
# down, by the name :func:`missing_values` gives it
Candidates = Mapping[str, tuple[int, ...]]


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
    missing = missing_values(raw)
    narrowed = {name: values for name, values in (candidates or {}).items() if name in missing and values}
    return Bracket(missing, least[1], most[1], answers, narrowed)


def asking_every_question(bracketed: Bracket, shown: Assessment) -> Assessment:
    """``shown`` with the questions of every answer: what is worth asking depends on the value
    not known. Each comes at the earliest place any answer gives it (ties: ``shown``'s first),
    so every value's screen order holds: appended after ``shown``'s own, the baby moving less
    (from week 24) came 30th for a woman who did not know her week. Its urgency and interview
    stop as they are once it has reached the urgency that ends an interview."""
    if shown.interview.stop_reason == "urgency_reached":
        return shown
    place: dict[str, tuple[int, int]] = {}  # finding -> (earliest place in any answer, first seen)
    first: dict[str, Question] = {}
    for answer in (shown, *bracketed.answers):
        for index, question in enumerate(answer.questions):
            seen = place.get(question.finding)
            place[question.finding] = (min(index, seen[0]) if seen else index, seen[1] if seen else len(place))
            first.setdefault(question.finding, question)
    questions = [first[finding] for finding in sorted(place, key=place.__getitem__)]
    if not questions:
        return shown
    return shown._replace(
        questions=tuple(questions), interview=shown.interview._replace(complete=False, stop_reason=None)
    )


def completions(
    kb: KnowledgeBase, raw: dict[str, Any], candidates: Candidates | None = None
) -> Iterator[dict[str, Any]]:
    """Copies of ``raw`` completed with every combination of the values it lacks, one value
    from each band the rules draw (``raw`` itself, copied, when it lacks none); ``candidates``:
    the only values some of them can have, when the records say so."""
    missing, narrowed = missing_values(raw), candidates or {}
    options = [
        _one_per_band(kb, name, narrowed[name]) if narrowed.get(name) else _options(kb, raw, name) for name in missing
    ]
    for values in itertools.product(*options):
        completed = copy.deepcopy(raw)
        for name, value in zip(missing, values, strict=True):
            *parents, leaf = PATHS[name]
            part = completed
            for key in parents:
                part = part[key]
            part[leaf] = copy.copy(value)  # a location list is shared by the options
        yield completed


def _one_per_band(kb: KnowledgeBase, name: str, values: tuple[int, ...]) -> tuple[int, ...]:
    """The least of ``values`` in each band the rules draw on ``name`` (an age band, a stretch
    of pregnancy): the others fire the same rules (44 undated gestational ages made 44 times
    the assessments, seconds for one call)."""
    starts = band_starts(kb, PATHS[name][-1], _RANGES[name])
    first: dict[int, int] = {}
    for value in sorted(values):
        first.setdefault(starts[bisect.bisect_right(starts, value) - 1], value)
    return tuple(first.values())


def _options(kb: KnowledgeBase, raw: dict[str, Any], name: str) -> tuple[Any, ...]:
    if name == "sex":  # a pregnancy rules out male (the contract refuses the pair)
        pregnant = "pregnancy" in raw.get("patient", {})
        return tuple(s for s in vocab.SEXES if not (pregnant and s == "male"))
    if name == "pain location":  # one location at a time: no rule needs two at once
        return tuple([location] for location in vocab.LOCATIONS)
    if name == "age" and "pregnancy" in raw.get("patient", {}):  # not a toddler, nor a frail elder
        return band_starts(kb, "age", (kb.age_in_pregnancy.min, kb.age_in_pregnancy.max))
    return band_starts(kb, PATHS[name][-1], _RANGES[name])


def band_starts(kb: KnowledgeBase, field: str, limits: tuple[int, int]) -> tuple[int, ...]:
    """The first whole value of each band the rules' bounds on ``field`` cut ``limits`` into."""
    starts = {limits[0]}
    for rule in kb.rules.values():
        bound = getattr(rule.when, field)
        if bound is None:
            continue
        if bound.min is not None:
            starts.add(math.ceil(bound.min))
        if bound.max is not None:
            starts.add(math.floor(bound.max) + 1)
    return tuple(sorted(s for s in starts if limits[0] <= s <= limits[1]))
