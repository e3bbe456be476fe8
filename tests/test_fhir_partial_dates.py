"""A birth date, or the date of a gestational age or of an answered age, that FHIR gives only to
the month or the year: every value it allows now is assessed, never one end of them.

Read as the latest day they allow, they gave the youngest age and the earliest week: a
patient who turns 50 this year lost the aneurysm red flag for most of it, and bleeding at most
likely 25 weeks was the early pregnancy pathway. The CDS door tests read today's clock, so
their dates are worked out from today and their assertions hold on every day of the year."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.cds_tokens import Ehr
from tests.test_cds_hooks import LOCAL, SNOMED, bundle, condition, observation, patient, questionnaire_response
from tests.test_fhir_trust import INTAKE, cards, read, week
from tests.test_order_sign import IBUPROFEN, order, order_sign

QR_AGE, BIRTH_AGE = "QuestionnaireResponse/q1", "Patient/1288992 birthDate"
BLEEDING = observation(SNOMED, "289530006", "b1", valueBoolean=True)


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def shown_or_possible(found: list[dict[str, Any]], level: str, rule: str, value: str) -> bool:
    """Whether ``rule`` is shown on the summary, or named on the card asking for ``value`` as
    what some of its values would make the triage (``level``); which of the two depends on
    the day the test runs (on the last day of a year, a birth year allows one age only)."""
    if rule in found[0]["extension"].get("red_flags", []):
        return True
    asking = [card for card in found if card["summary"] == f"Record the patient's {value} — could be {level}"]
    return len(asking) == 1 and f"({rule})" in asking[0]["detail"]


# --- the age -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("born", "ages"),
    [("1976", (49, 50)), ("1976-06", (49, 50)), ("1976-05", (50,)), ("1976-07", (49,)), ("1976-06-01", (50,))],
)
def test_a_partial_birth_date_gives_every_age_it_allows(app: Flask, born: str, ages: tuple[int, ...]) -> None:
    """Read on 2026-06-01: born in 1976 is 49 or 50; the younger alone was read before."""
    intake = read(app, {"patient": patient(birth=born)})
    if len(ages) == 1:
        assert intake.patient["age"] == ages[0] and not intake.candidates
    else:
        assert "age" not in intake.patient and intake.candidates == {"age": ages}


def test_a_birth_year_of_a_patient_who_may_be_50_shows_the_aneurysm(cds: FlaskClient, ehr: Ehr) -> None:
    """Sudden severe pain with vascular disease: an aneurysm from 50. Born "1976", read as the
    year's last day, it was routine with no card saying the age was uncertain."""
    answers = {
        "onset": [{"valueCoding": {"system": LOCAL, "code": "sudden"}}],
        "severity": [{"valueInteger": 8}],
        "locations": [{"valueCoding": {"system": LOCAL, "code": "buttock"}}],
        "sex": [{"valueCoding": {"code": "female"}}],
    }
    found = cards(
        cds,
        ehr,
        {
            "patient": patient(birth=str(today().year - 50)),
            "questionnaireResponse": questionnaire_response(answers, {"cardiovascular_disease": True}),
        },
    )
    assert shown_or_possible(found, "emergency", "ESC-AORTIC-ANEURYSM", "age")
    if found[0]["extension"]["urgency"] != "emergency":
        (asking,) = [card for card in found if card["summary"].startswith("Record the patient's age")]
        assert asking["indicator"] == "warning"
        assert asking["detail"].startswith("The record gives the age only as 49 or 50 (a date given only")
        assert "_Age not recorded exactly: the urgency shown holds whatever it is" in found[0]["detail"]


@pytest.mark.parametrize(
    ("born", "answered", "age", "differing"),
    [
        ("1976", 50, 50, []),  # the birth year allows 49 or 50; the answer says which
        ("1976", 49, 49, []),
        # none in common: each is assessed (the older alone lost the red flags of childhood)
        ("1976", 70, (49, 50, 70), [f"{BIRTH_AGE}: age 49 or 50 differs from {QR_AGE}'s 70: each is assessed"]),
        ("1976", 30, (30, 49, 50), [f"{BIRTH_AGE}: age 49 or 50 differs from {QR_AGE}'s 30: each is assessed"]),
    ],
)
def test_a_birth_year_and_an_answered_age_narrow_each_other_down_or_each_is_assessed(
    app: Flask, born: str, answered: int, age: int | tuple[int, ...], differing: list[str]
) -> None:
    response = {**questionnaire_response({**INTAKE, "age": [{"valueInteger": answered}]}, {}), "id": "q1"}
    intake = read(app, {"questionnaireResponse": response, "patient": patient(birth=born)})
    if isinstance(age, int):
        assert intake.patient["age"] == age and not intake.candidates
    else:
        assert intake.candidates == {"age": age}
    assert intake.differing == differing


def test_an_age_answered_in_a_year_given_alone_may_have_reached_65(cds: FlaskClient, ehr: Ehr) -> None:
    """64 answered in last year: 65 today if answered on most of its days. Counted from the
    year's last day, a fall at the hip was routine; answered on a day of it, urgent."""
    answers = {**INTAKE, "age": [{"valueInteger": 64}], "locations": [{"valueCoding": {"code": "hip"}}]}
    response = {**questionnaire_response(answers, {"recent_trauma": True}), "authored": str(today().year - 1)}
    found = cards(cds, ehr, {"questionnaireResponse": response})
    assert shown_or_possible(found, "urgent", "ESC-FALL-OLDER-ADULT", "age")


# --- the gestational week -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("measured", "weeks"),
    [
        # 20 completed weeks (20+0 to 20+6) on 1 to 30 April, read on 1 June
        ("2026-04", (24, 25, 26, 27, 28, 29)),
        ("2026", tuple(range(20, 43))),  # on any day of 2026 up to the day read
        ("2026-04-01", (28, 29)),  # 61 days on: 28+5 to 29+4
        ("2026-04-30", (24, 25)),  # 32 days on: 24+4 to 25+3
    ],
)
def test_a_gestational_age_measured_on_a_partial_date_gives_every_week_it_allows(
    app: Flask, measured: str, weeks: tuple[int, ...]
) -> None:
    intake = read(app, {"patient": patient(), "observations": bundle(week("g1", 20, effectiveDateTime=measured))})
    pregnancy = intake.patient["pregnancy"]
    if len(weeks) == 1:
        assert pregnancy["gestational_week"] == weeks[0] and not intake.candidates
    else:
        assert "gestational_week" not in pregnancy and intake.candidates == {"gestational week": weeks}
    assert intake.differing == []


def test_of_a_gestational_age_still_past_44_weeks_only_the_weeks_of_a_pregnancy_are_kept(app: Flask) -> None:
    intake = read(app, {"patient": patient(), "observations": bundle(week("g1", 38, effectiveDateTime="2026-04"))})
    assert intake.candidates == {"gestational week": (42, 43, 44)}  # 42 to 46: the last two are past a pregnancy
    assert intake.unmapped == []


@pytest.mark.parametrize("later_first", [True, False])
def test_a_later_gestational_age_is_used_over_one_measured_in_an_earlier_month(app: Flask, later_first: bool) -> None:
    month, day = week("g1", 18, effectiveDateTime="2026-04"), week("g2", 25, effectiveDateTime="2026-05-20")
    intake = read(app, {"patient": patient(), "observations": bundle(*((day, month) if later_first else (month, day)))})
    assert intake.candidates == {"gestational week": (26, 27)}  # 25+0 to 25+6 on 20 May, 12 days on
    assert intake.differing == [
        "Observation/g1: gestational week differs from Observation/g2's, not used (the later is assessed)"
    ]


def test_a_gestational_age_on_a_day_of_the_month_another_was_measured_in_leaves_both(app: Flask) -> None:
    """The dates cannot tell which is current: the weeks of both are assessed."""
    month, day = week("g1", 18, effectiveDateTime="2026-04"), week("g2", 25, effectiveDateTime="2026-04-20")
    intake = read(app, {"patient": patient(), "observations": bundle(month, day)})
    # 18+0 to 18+6 on a day of April, 25+0 to 25+6 on 20 April, read on 1 June
    assert intake.candidates == {"gestational week": (22, 23, 24, 25, 26, 27, 31)}
    assert intake.differing[0].startswith("Observation/g2 and Observation/g1: different gestational ages")


def _measured_last_month(at_its_last_day: int) -> tuple[str, int]:
    """Last month (``YYYY-MM``), and the gestational age that, measured on its last day, is
    week ``at_its_last_day`` today; measured on its first day, it is four or more weeks later."""
    last_day = today().replace(day=1) - dt.timedelta(days=1)
    return last_day.strftime("%Y-%m"), at_its_last_day - (today() - last_day).days // 7


def test_bleeding_at_a_gestational_age_measured_last_month_may_be_an_antepartum_haemorrhage(
    cds: FlaskClient, ehr: Ehr
) -> None:
    """Counted from the month's last day: week 23, the early pregnancy pathway (urgent), and no
    card; for most days of the month she is past 24 weeks, where bleeding is an emergency."""
    month, weeks = _measured_last_month(23)
    prefetch = {
        "patient": patient(birth="1994-03-12"),
        "conditions": bundle(condition("77386006", "c1")),
        "observations": bundle(week("g1", weeks, effectiveDateTime=month), BLEEDING),
        "questionnaireResponse": questionnaire_response({"locations": INTAKE["locations"]}, {}),
    }
    found = cards(cds, ehr, prefetch)
    assert shown_or_possible(found, "emergency", "ESC-PREGNANCY-BLEEDING", "gestational week")


def test_an_nsaid_at_a_gestational_age_measured_last_month_may_be_contraindicated(cds: FlaskClient, ehr: Ehr) -> None:
    """Week 19 counted from the month's last day: a caution; from its first, week 23 or later:
    contraindicated. The order is carded as one a week not recorded exactly may bar."""
    month, weeks = _measured_last_month(19)
    prefetch = {
        "patient": patient(birth="1994-03-12"),
        "conditions": bundle(condition("77386006", "preg")),
        "observations": bundle(week("g1", weeks, effectiveDateTime=month)),
    }
    (card,) = order_sign(cds, ehr, prefetch, order("ibu", IBUPROFEN))["cards"]
    assert card["indicator"] == "warning" and card["summary"].startswith("Record the patient's gestational week")
    assert "CI-NSAID-FROM-WEEK-20" in card["extension"]["rules_for_some_values"]


# --- a number recorded on a full date: the part of a week or a year it does not say ----------


def _days_ago(days: int) -> str:
    return (today() - dt.timedelta(days=days)).isoformat()


def test_bleeding_at_23_weeks_measured_three_days_ago_may_be_an_antepartum_haemorrhage(
    cds: FlaskClient, ehr: Ehr
) -> None:
    """23 completed weeks is 23+0 to 23+6: three days on she may be 24 weeks, where bleeding is an
    emergency. Counted as whole weeks only, it stayed 23 (the early pregnancy pathway, urgent)."""
    prefetch = {
        "patient": patient(birth="1994-03-12"),
        "conditions": bundle(condition("77386006", "c1")),
        "observations": bundle(week("g1", 23, effectiveDateTime=_days_ago(3)), BLEEDING),
        "questionnaireResponse": questionnaire_response({"locations": INTAKE["locations"]}, {}),
    }
    assert shown_or_possible(cards(cds, ehr, prefetch), "emergency", "ESC-PREGNANCY-BLEEDING", "gestational week")


def test_weeks_within_one_stretch_of_pregnancy_ask_for_nothing(cds: FlaskClient, ehr: Ehr) -> None:
    """21 weeks measured three days ago is 21 or 22 now: the same rules fire, so no card asks for
    the week (a number counted on from its date is nearly always two values)."""
    prefetch = {
        "patient": patient(birth="1994-03-12"),
        "conditions": bundle(condition("77386006", "c1")),
        "observations": bundle(week("g1", 21, effectiveDateTime=_days_ago(3)), BLEEDING),
        "questionnaireResponse": questionnaire_response({"locations": INTAKE["locations"]}, {}),
    }
    found = cards(cds, ehr, prefetch)
    assert not any(card["summary"].startswith("Record the patient's") for card in found)
    assert "ESC-EARLY-PREGNANCY-BLEEDING" in found[0]["extension"]["red_flags"]


def test_an_nsaid_at_19_weeks_measured_three_days_ago_may_be_contraindicated(cds: FlaskClient, ehr: Ehr) -> None:
    prefetch = {
        "patient": patient(birth="1994-03-12"),
        "conditions": bundle(condition("77386006", "preg")),
        "observations": bundle(week("g1", 19, effectiveDateTime=_days_ago(3))),
    }
    (card,) = order_sign(cds, ehr, prefetch, order("ibu", IBUPROFEN))["cards"]
    assert card["indicator"] == "warning" and card["summary"].startswith("Record the patient's gestational week")
    assert "CI-NSAID-FROM-WEEK-20" in card["extension"]["rules_for_some_values"]


def test_a_fall_at_64_answered_300_days_ago_may_be_a_fall_at_65(cds: FlaskClient, ehr: Ehr) -> None:
    """An age answered 300 days ago may have grown by a birthday since: a fall from 65 is urgent."""
    answers = {**INTAKE, "age": [{"valueInteger": 64}], "locations": [{"valueCoding": {"code": "hip"}}]}
    response = {**questionnaire_response(answers, {"recent_trauma": True}), "id": "q1", "authored": _days_ago(300)}
    found = cards(cds, ehr, {"questionnaireResponse": response})
    assert shown_or_possible(found, "urgent", "ESC-FALL-OLDER-ADULT", "age")


@pytest.mark.parametrize("authored", ["0001-01-01", "0001", "0120-02-29"])
def test_an_age_answered_in_the_first_centuries_is_not_used_rather_than_a_500(app: Flask, authored: str) -> None:
    """Counting back an age from the year 1 built a date before it (a ValueError, a 500)."""
    answers = {**INTAKE, "age": [{"valueInteger": 30}]}
    response = {**questionnaire_response(answers, {}), "id": "q1", "authored": authored}
    intake = read(app, {"questionnaireResponse": response})
    assert "age" not in intake.patient and not intake.candidate_ages
    assert any("age would now be" in line and "not used" in line for line in intake.unmapped), intake.unmapped


# --- a gestational age observed over a period: every day of it ------------------------------


@pytest.mark.parametrize(
    ("period", "weeks"),
    [
        # 20 completed weeks on a day from 1 to 30 April, read on 1 June: as if measured in April
        ({"start": "2026-04-01", "end": "2026-04-30"}, (24, 25, 26, 27, 28, 29)),
        ({"start": "2026-04-01T10:00:00Z", "end": "2026-04-30T00:00:00Z"}, (24, 25, 26, 27, 28, 29)),
        ({"start": "2026-04", "end": "2026-05"}, tuple(range(20, 30))),  # 1 April to 31 May
        ({"start": "2026-04-01"}, tuple(range(20, 30))),  # no end, ongoing: any day up to the day read
        ({"end": "2026-04-30"}, tuple(range(24, 45))),  # no start: any day up to its end
        ({"start": "2026-04-30", "end": "2026-04-01"}, (24, 25, 26, 27, 28, 29)),  # invalid: was dropped
    ],
    ids=["days", "instants", "months", "start-only", "end-only", "reversed"],
)
def test_a_gestational_age_observed_over_a_period_gives_every_week_it_allows(
    app: Flask, period: dict[str, str], weeks: tuple[int, ...]
) -> None:
    """Read as its end alone (or its start, without one), the period gave its latest day's
    weeks only: 20 weeks observed over April was 24 or 25 today, never the 29 of its first day."""
    intake = read(app, {"patient": patient(), "observations": bundle(week("g1", 20, effectivePeriod=period))})
    assert "gestational_week" not in intake.patient["pregnancy"]
    assert intake.candidates == {"gestational week": weeks}
    assert intake.unmapped == [] and intake.differing == []


def test_an_nsaid_at_a_gestational_age_observed_over_two_months_may_be_contraindicated(
    cds: FlaskClient, ehr: Ehr
) -> None:
    """15 weeks over a period that ends today: counted from its end, a caution only; from its
    start 60 days ago, week 23 or 24 now, where an NSAID is contraindicated."""
    prefetch = {
        "patient": patient(birth="1994-03-12"),
        "conditions": bundle(condition("77386006", "preg")),
        "observations": bundle(week("g1", 15, effectivePeriod={"start": _days_ago(60), "end": _days_ago(0)})),
    }
    (card,) = order_sign(cds, ehr, prefetch, order("ibu", IBUPROFEN))["cards"]
    assert card["indicator"] == "warning" and card["summary"].startswith("Record the patient's gestational week")
    assert "CI-NSAID-FROM-WEEK-20" in card["extension"]["rules_for_some_values"]
