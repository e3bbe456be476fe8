"""Clinical safety rules as properties over generated records.

1. A red flag always raises the urgency; adding findings never lowers it.
2. Same input, same output.
3. Every conclusion is traceable to rules and sources.
5. Every response carries the disclaimer.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.knowledge.model import Layer
from service.vocabulary import GESTATIONAL_WEEK_RANGE, URGENCY_LEVELS
from tests.strategies import records

SETTINGS = settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


EMERGENCY, ROUTINE = (len(URGENCY_LEVELS) - URGENCY_LEVELS.index(level) for level in ("emergency", "routine"))


def severity(result: dict[str, Any]) -> int:
    """Higher is more urgent."""
    return len(URGENCY_LEVELS) - URGENCY_LEVELS.index(result["urgency"]["level"])


def with_present(record: dict[str, Any], finding: str) -> dict[str, Any]:
    record = copy.deepcopy(record)
    record["findings"]["absent"] = [f for f in record["findings"]["absent"] if f != finding]
    if finding not in record["findings"]["present"]:
        record["findings"]["present"].append(finding)
    return record


def test_adding_a_finding_never_lowers_urgency(kb, assess) -> None:
    @SETTINGS
    @given(record=records(kb), finding=st.sampled_from(kb.input_findings))
    def check(record: dict[str, Any], finding: str) -> None:
        before = assess(record)
        after = assess(with_present(record, finding))
        assert severity(after) >= severity(before)

    check()


def test_recording_a_pregnancy_never_lowers_an_emergency_nor_below_a_visit(kb, assess) -> None:
    """A woman of reproductive age without a recorded pregnancy may be pregnant (the possible
    pregnancy rules). Recording her pregnancy, at any week, never lowers an emergency, and
    never lowers anything below a planned visit (POLICY-KNOWN-PREGNANCY-FLOOR: once the
    pregnancy is known to be in the womb, what only an ectopic pregnancy made urgent may wait
    days). The findings the possible-pregnancy rules read are drawn often, so the rare
    combinations they need come up."""
    possible = sorted(
        {f for r in kb.rules.values() if "pregnancy_possible" in r.when.present for f in r.when.present}
        & set(kb.input_findings)
    )

    @SETTINGS
    @given(
        record=records(kb),
        age=st.integers(12, 55),
        extra=st.lists(st.sampled_from(possible), unique=True),
        week=st.integers(*GESTATIONAL_WEEK_RANGE),
    )
    def check(record: dict[str, Any], age: int, extra: list[str], week: int) -> None:
        record["patient"] = {"age": age, "sex": "female"}
        for finding in extra:
            record = with_present(record, finding)
        pregnant = copy.deepcopy(record)
        pregnant["patient"]["pregnancy"] = {"gestational_week": week}
        before, after = severity(assess(record)), severity(assess(pregnant))
        floor = before if before == EMERGENCY else min(before, ROUTINE)
        assert after >= floor, (before, after)

    check()


def test_a_red_flag_always_raises_urgency_to_its_level(kb, assess) -> None:
    single_finding_flags = [
        r
        for r in kb.rules_in(Layer.ESCALATION)
        if r.red_flag and all(not kb.findings[f].derived for f in r.when.present)
    ]
    assert len(single_finding_flags) >= 10  # the guideline red flags are all input findings

    @SETTINGS
    @given(record=records(kb), flag=st.sampled_from(single_finding_flags))
    def check(record: dict[str, Any], flag) -> None:
        flagged = record
        for finding in flag.when.present:
            flagged = with_present(flagged, finding)
        result = assess(flagged)
        assert URGENCY_LEVELS.index(result["urgency"]["level"]) <= URGENCY_LEVELS.index(flag.level)
        assert severity(result) >= severity(assess(record))
        assert flag.id in {f["id"] for f in result["red_flags"]}

    check()


def test_same_input_same_output(kb, assess) -> None:
    @SETTINGS
    @given(record=records(kb))
    def check(record: dict[str, Any]) -> None:
        first, second = assess(copy.deepcopy(record)), assess(copy.deepcopy(record))
        first.pop("assessment_id")
        second.pop("assessment_id")
        assert first == second

    check()


def test_every_conclusion_is_traceable_and_well_formed(kb, assess) -> None:
    @SETTINGS
    @given(record=records(kb))
    def check(record: dict[str, Any]) -> None:
        result = assess(record)
        fired = {step["rule"] for step in result["trace"]}
        known_sources = set(kb.sources)

        urgency = result["urgency"]
        assert urgency["level"] == "self_care" or urgency["reasons"]
        for reason in urgency["reasons"]:
            assert reason["rule"] in fired and set(reason["sources"]) <= known_sources
        for flag in result["red_flags"]:
            assert URGENCY_LEVELS.index(urgency["level"]) <= URGENCY_LEVELS.index("urgent")
            assert flag["id"] in fired

        scores = [c["score"] for c in result["causes"]]
        assert scores == sorted(scores, reverse=True)
        assert [c["rank"] for c in result["causes"]] == list(range(1, len(scores) + 1))
        for cause in result["causes"]:
            assert 0 <= cause["score"] <= 1
            assert cause["evidence"]["supporting"]
            assert set(cause["rules"]) <= fired and cause["sources"]
            assert set(cause["sources"]) <= known_sources

        suppressed = {s["id"] for s in result["suppressed_care"]}
        for item in result["care"]:
            assert item["id"] not in suppressed
            assert item["rule"] in fired and set(item["sources"]) <= known_sources
            if item["kind"] == "medication":
                assert item["requires_clinician"] is True

        unknown = set(kb.input_findings) - set(record["findings"]["present"]) - set(record["findings"]["absent"])
        assert {q["finding"] for q in result["questions"]} <= unknown
        assert "does not replace" in result["disclaimer"]

    check()
