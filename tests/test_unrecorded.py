"""A record without its age, sex or gestational week is assessed for every value the rules
tell apart (service/reasoning/unrecorded.py): the bands must really cover every value, and
the answer shown must be the least urgent of them."""

from __future__ import annotations

import bisect

from hypothesis import given, settings
from hypothesis import strategies as st

from service import vocabulary as vocab
from service.knowledge.model import Layer
from service.reasoning.unrecorded import band_starts, bracket, missing_values
from tests.conftest import make_record
from tests.reference import fired_rules


def _without(raw: dict, *keys: str) -> dict:
    """``raw`` with these patient keys left out (make_record merges, so they are removed after)."""
    for key in keys:
        del raw["patient"][key]
    return raw


def _context_rules(kb, assessor, raw) -> set[str]:
    return {r for r in fired_rules(kb, assessor.record(raw)) if kb.rules[r].layer is Layer.CONTEXT}


@settings(max_examples=300, deadline=None)
@given(age=st.integers(*vocab.AGE_RANGE), week=st.integers(*vocab.GESTATIONAL_WEEK_RANGE))
def test_every_age_and_week_fires_the_context_rules_of_its_bands_start(kb, assessor, age: int, week: int) -> None:
    ages = band_starts(kb, "age", vocab.AGE_RANGE)
    weeks = band_starts(kb, "gestational_week", vocab.GESTATIONAL_WEEK_RANGE)
    start_age, start_week = ages[bisect.bisect_right(ages, age) - 1], weeks[bisect.bisect_right(weeks, week) - 1]

    def record(a: int, w: int) -> dict:
        return make_record(patient={"age": a, "sex": "female", "pregnancy": {"gestational_week": w}})

    assert _context_rules(kb, assessor, record(age, week)) == _context_rules(
        kb, assessor, record(start_age, start_week)
    )


def test_the_least_urgent_answer_is_shown_and_the_most_urgent_kept(kb, assessor) -> None:
    raw = _without(make_record(patient={"sex": "male"}, findings={"present": ["limping"], "absent": []}), "age")
    assert missing_values(raw) == ("age",)
    answers = [assessor.assess(assessor.record({**raw, "patient": {"sex": "male", "age": a}})) for a in (1, 40)]
    bracketed = bracket(kb, raw, assessor.record, assessor.assess)
    levels = [kb.levels[a.urgency.level].rank for a in answers]
    assert kb.levels[bracketed.least_urgent.urgency.level].rank == max(levels)
    assert kb.levels[bracketed.most_urgent.urgency.level].rank == min(levels) < max(levels)


def test_a_pregnancy_without_its_week_and_sex_is_never_completed_as_male(kb, assessor) -> None:
    raw = _without(make_record(patient={"age": 30, "pregnancy": {}}), "sex")
    assert missing_values(raw) == ("sex", "gestational week")
    completed = []
    bracket(kb, raw, lambda r: completed.append(r) or assessor.record(r), assessor.assess)
    assert {r["patient"]["sex"] for r in completed} == {"female", "other", "unknown"}
    assert len(completed) == 3 * len(band_starts(kb, "gestational_week", vocab.GESTATIONAL_WEEK_RANGE))
