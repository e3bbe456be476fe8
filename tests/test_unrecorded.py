"""A record without its age, sex or gestational week is assessed for every value the rules
tell apart (service/reasoning/unrecorded.py): the bands must really cover every value, and
the answer shown must be the least urgent of them."""

from __future__ import annotations

import bisect

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from service import vocabulary as vocab
from service.knowledge.model import Layer
from service.reasoning.assessor import IncompleteRecordError
from service.reasoning.record import missing_values
from service.reasoning.unrecorded import PATHS, band_starts, bracket, completions, settled, undecided
from tests.conftest import make_record
from tests.reference import fired_rules
from tests.strategies import records


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


@settings(max_examples=300, deadline=None)
@given(thousandths=st.integers(0, vocab.DURATION_RANGE[1] * vocab.DURATION_STEP_PER_DAY))
@example(thousandths=13_999)
@example(thousandths=83_999)
@example(thousandths=84_000)
@example(thousandths=90_999)
def test_every_duration_fires_the_context_rules_of_its_bands_start(kb, assessor, thousandths: int) -> None:
    """Durations the records give differently are assessed one per band (a duration is floored
    to a thousandth of a day): the bands must start where the rules' bounds cut, 84 after 83.999."""
    days = thousandths / vocab.DURATION_STEP_PER_DAY
    starts = band_starts(kb, "duration_days", vocab.DURATION_RANGE, vocab.DURATION_STEP_PER_DAY)
    start = starts[bisect.bisect_right(starts, days) - 1]

    def record(duration: float) -> dict:
        return make_record(complaint={"duration_days": duration})

    assert _context_rules(kb, assessor, record(days)) == _context_rules(kb, assessor, record(start))


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
    # female, other and unknown meet the same rules (the test below): one stands for them
    assert {r["patient"]["sex"] for r in completed} == {"female"}
    assert len(completed) == len(band_starts(kb, "gestational_week", vocab.GESTATIONAL_WEEK_RANGE))


def test_the_sexes_assessed_for_one_stand_for_the_others_fire_the_same_rules(kb, assessor) -> None:
    """Only context rules read the record's sex: the sexes that meet the same ones fire the same
    rules everywhere, so one is assessed for them all (a third of the cost of a record without one)."""
    findings = {"present": ["one_sided_lower_abdominal_pain", "fainting_or_dizziness"], "absent": []}
    fired = {
        sex: fired_rules(kb, assessor.record(make_record(patient={"age": 30, "sex": sex}, findings=findings)))
        for sex in vocab.SEXES
    }
    assert fired["female"] == fired["other"] == fired["unknown"] != fired["male"]


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_pain_anywhere_lies_between_the_least_and_most_urgent_single_location(kb, assessor, data) -> None:
    """A record without its location is assessed at each single location: pain in several
    places (any set of them) is never more urgent than the most urgent single one, nor less
    urgent than the least (the knowledge base refuses rules needing two places at once)."""
    record = data.draw(records(kb))
    raw = {**record, "complaint": {k: v for k, v in record["complaint"].items() if k != "locations"}}
    assert "pain location" in missing_values(raw)
    bracketed = bracket(kb, raw, assessor.record, assessor.assess)
    rank = kb.levels[assessor.assess(assessor.record(record)).urgency.level].rank
    assert kb.levels[bracketed.most_urgent.urgency.level].rank <= rank  # rank 0 is emergency
    assert rank <= kb.levels[bracketed.least_urgent.urgency.level].rank


# --- POST /v1/assessments: a patient who does not know their age or week ----------------------


def _post(client, record: dict) -> dict:
    response = client.post("/v1/assessments", json=record)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_a_record_without_an_age_is_answered_for_the_age_that_calls_for_the_most_care(client, kb) -> None:
    # a fall with hip pain that cannot take weight: how urgent depends on the age (from 65 the hip may be broken)
    findings = {"present": ["recent_trauma", "limping"], "absent": []}
    raw = _without(make_record(patient={"sex": "female"}, findings=findings), "age")
    answer = _post(client, raw)
    ranks = [
        kb.levels[_post(client, {**raw, "patient": {"sex": "female", "age": age}})["urgency"]["level"]].rank
        for age in (1, 40, 80)
    ]
    unrecorded = answer["unrecorded"]
    assert unrecorded["fields"] == ["patient.age"] and unrecorded["most_urgent"] == answer["urgency"]["level"]
    assert kb.levels[answer["urgency"]["level"]].rank <= min(ranks)  # rank 0 is emergency
    assert kb.levels[unrecorded["least_urgent"]].rank >= max(ranks) > min(ranks)  # the age matters here


def test_a_red_flag_without_an_age_is_still_an_emergency(client) -> None:
    findings = {"present": ["urinary_retention", "low_back_pain"], "absent": []}
    answer = _post(client, _without(make_record(patient={"sex": "unknown"}, findings=findings), "age"))
    assert answer["urgency"]["level"] == "emergency"
    assert answer["unrecorded"]["least_urgent"] == "emergency"
    assert any(flag["id"].startswith("ESC-CES") for flag in answer["red_flags"])


def test_bleeding_in_a_pregnancy_without_its_week_is_an_emergency_and_the_baby_is_asked_about(client) -> None:
    findings = {"present": ["vaginal_bleeding"], "absent": []}
    answer = _post(client, make_record(patient={"age": 29, "sex": "female", "pregnancy": {}}, findings=findings))
    assert answer["urgency"]["level"] == "emergency"
    assert answer["unrecorded"]["fields"] == ["patient.pregnancy.gestational_week"]
    quiet = make_record(patient={"age": 29, "sex": "female", "pregnancy": {}}, findings={"present": [], "absent": []})
    asked = {q["finding"] for q in _post(client, quiet)["questions"]}
    assert "reduced_fetal_movements" in asked  # a question only weeks from 24 raise


def test_a_complete_record_has_no_unrecorded_part(client) -> None:
    assert "unrecorded" not in _post(client, make_record())


def test_leaving_the_age_out_never_answers_below_any_age(client, kb) -> None:
    """Not knowing the age is never less safe than knowing it: the answer is at least as
    urgent as the record's answer with any age the patient could have."""

    span = kb.age_in_pregnancy

    @settings(max_examples=150, deadline=None)
    @given(record=records(kb))
    def check(record: dict) -> None:
        # a stated pregnancy is assessed at the ages the knowledge base gives one (the test below)
        assume("pregnancy" not in record["patient"] or span.min <= record["patient"]["age"] <= span.max)
        age = record["patient"].pop("age")
        without = _post(client, record)["urgency"]["level"]
        record["patient"]["age"] = age
        with_age = _post(client, record)["urgency"]["level"]
        assert kb.levels[without].rank <= kb.levels[with_age].rank  # rank 0 is emergency

    check()


def test_candidate_weeks_are_assessed_once_per_stretch_of_pregnancy(kb) -> None:
    """44 undated gestational ages, with no age, sex or location, were 10,164 assessments (4.5 s
    of CPU for one CDS call); weeks in one stretch fire the same rules (the test above)."""
    raw = {"patient": {"pregnancy": {}}, "complaint": {}, "findings": {"present": [], "absent": []}}
    undated = {"gestational week": tuple(range(1, 45))}
    weeks = {c["patient"]["pregnancy"]["gestational_week"] for c in completions(kb, raw, undated)}
    assert sorted(weeks) == list(band_starts(kb, "gestational_week", vocab.GESTATIONAL_WEEK_RANGE))
    ages = band_starts(kb, "age", (kb.age_in_pregnancy.min, kb.age_in_pregnancy.max))
    assert sum(1 for _ in completions(kb, raw, undated)) == len(weeks) * len(ages) * len(vocab.LOCATIONS)


def test_a_pregnancy_without_its_age_is_assessed_only_at_the_ages_of_a_pregnancy(client, kb) -> None:
    """Assessed at every age, a pregnant woman's buttock pain was answered as a child's (routine:
    look for a bone or joint infection) and her limp as a toddler's (POLICY-PREGNANCY-AGES)."""
    span = kb.age_in_pregnancy
    raw = _without(make_record(patient={"sex": "female", "pregnancy": {"gestational_week": 30}}), "age")
    ages = {c["patient"]["age"] for c in completions(kb, raw)}
    assert min(ages) == span.min and max(ages) <= span.max
    quiet = _post(client, raw)
    assert quiet["unrecorded"]["fields"] == ["patient.age"]
    assert not {"ESC-CHILD", "ESC-LIMP-UNDER-3"} & {reason["rule"] for reason in quiet["urgency"]["reasons"]}
    assert "bone_or_joint_infection" not in {cause["id"] for cause in quiet["causes"]}
    # the answer is the most urgent of the ages she could have, each assessed as recorded
    ranks = [
        kb.levels[_post(client, {**raw, "patient": {**raw["patient"], "age": age}})["urgency"]["level"]].rank
        for age in range(span.min, span.max + 1)
    ]
    assert kb.levels[quiet["urgency"]["level"]].rank == min(ranks)
    hip = {**raw["complaint"], "locations": ["hip"]}
    limp = _post(client, {**raw, "complaint": hip, "findings": {"present": ["limping"], "absent": []}})
    assert "ESC-LIMP-UNDER-3" not in {flag["id"] for flag in limp["red_flags"]}
    assert limp["urgency"]["level"] == "urgent"  # at 16 a slipped growth plate is still possible


def test_without_her_week_the_obstetric_warning_signs_of_every_stretch_come_first(client) -> None:
    """The questions of the other weeks were appended after the shown week's own: the baby moving
    less (an emergency from week 24) came 30th of 30 (newcomer's run of the docs)."""
    record = make_record(patient={"age": 30, "sex": "female", "pregnancy": {}}, findings={"present": [], "absent": []})
    asked = [q["finding"] for q in _post(client, record)["questions"]]
    assert asked.index("reduced_fetal_movements") < 6 and asked.index("vaginal_bleeding") == 0


def test_the_engine_refuses_a_record_lacking_a_value_the_rules_test(assessor) -> None:
    """Assessed as it is, a record without its age would fire none of the age rules: a silently
    smaller answer. Every door brackets such a record first; one that did not gets an error (500)."""
    record = assessor.record(_without(make_record(findings={"present": ["limping"], "absent": []}), "age"))
    with pytest.raises(IncompleteRecordError, match="lacks its age"):
        assessor.assess(record)


def _questions_until_emergency(client, record: dict, truth: set[str]) -> int | None:
    """A patient who answers every question in turn, yes to ``truth``: the questions asked
    until the answer is an emergency (None if the interview ends first)."""
    record = {**record, "findings": {"present": [], "absent": []}}
    for asked in range(60):
        answer = _post(client, record)
        if answer["urgency"]["level"] == "emergency":
            return asked
        if not answer["questions"]:
            return None
        finding = answer["questions"][0]["finding"]
        record["findings"]["present" if finding in truth else "absent"].append(finding)
    return None


def test_an_emergency_of_another_value_is_not_starved_behind_the_shown_values_questions(client) -> None:
    """The questions of every value were merged by place, ties to the shown value's: its next
    question was always first, and the baby moving less (an emergency from week 24) came 29th
    of 29 for a woman who did not know her week; an adult's saddle anaesthesia came after the
    child screen (fifth attack round). Questions that could reveal an emergency now come first."""
    pregnant = {"patient": {"age": 30, "sex": "female", "pregnancy": {}}, "complaint": {"locations": ["buttock"]}}
    assert _questions_until_emergency(client, pregnant, {"reduced_fetal_movements"}) <= 6
    no_age = {"patient": {"sex": "male"}, "complaint": {"locations": ["low_back"]}}
    assert _questions_until_emergency(client, no_age, {"saddle_anesthesia"}) <= 5


def test_care_contraindicated_for_any_week_she_could_be_at_is_not_offered(client) -> None:
    """A pregnant woman who did not know her week was offered NSAIDs (contraindicated from week
    20) because the shown answer was the earliest week's, while order-sign warned about the same
    medicine for the same patient (fifth attack round)."""
    record = make_record(
        patient={"age": 30, "sex": "female", "pregnancy": {}},
        findings={"present": ["pain_radiates_below_knee"], "absent": []},
    )
    answer = _post(client, record)
    assert not {"oral_nsaids", "oral_diclofenac"} & {item["id"] for item in answer["care"]}
    suppressed = {item["id"]: item["rules"] for item in answer["suppressed_care"]}
    assert "CI-NSAID-FROM-WEEK-20" in suppressed["oral_nsaids"]


def test_no_care_offered_without_a_value_is_contraindicated_for_any_value(client, kb, assessor) -> None:
    @settings(max_examples=60, deadline=None)
    @given(record=records(kb))
    def check(record: dict) -> None:
        record["patient"].pop("age")
        record["patient"].get("pregnancy", {}).pop("gestational_week", None)
        offered = {item["id"] for item in _post(client, record)["care"]}
        for completed in completions(kb, record):
            answer = assessor.assess(assessor.record(completed))
            assert not offered & {s.id for s in answer.suppressed_care if s.deferred_at is None}

    check()


@pytest.mark.parametrize(
    ("name", "given", "assessed"),
    [
        ("pain side", ("both", "left", "right"), {"both", "left"}),  # left and right fire the same rules
        ("sex", ("female", "male", "other"), {"female", "male"}),  # so do female and other
        ("pain course", ("recurrent", "stable"), {"recurrent", "stable"}),
        ("pain severity", (7, 8, 9, 10), {7}),  # one band: settled, no bracket
        ("pain duration", (2, 20), {2, 20}),  # new pain, and pain that has lasted two weeks
        ("pain duration", (2, 10.5, 13.999), {2}),  # one band: settled, no bracket
        ("pain duration", (83.999, 84, 90, 91), {83.999, 84, 91}),  # bands cut at a thousandth of a day
    ],
)
def test_codes_the_records_give_are_assessed_once_per_set_of_rules_they_meet(
    kb, name: str, given: tuple, assessed: set
) -> None:
    """Values the records disagree on (or a bound allows) are assessed as candidates, as weeks
    are: only values some record gives, and one of each set that meets the same context rules."""
    raw = make_record(patient={"age": 40, "sex": "female"})
    field = PATHS[name][-1]
    raw[PATHS[name][0]].pop(field, None)
    filled, left = settled(kb, raw, {name: given})
    values = {completed[PATHS[name][0]][field] for completed in completions(kb, filled, left)}
    assert values == assessed
    assert (name in undecided(filled, left)) == (len(assessed) > 1)
