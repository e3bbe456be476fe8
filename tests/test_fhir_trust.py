"""FHIR data is trusted only as far as it is checked: the right patient, statuses that count,
conflicts on the safe side, units converted, numbers bounded, and text kept inert in cards."""

from __future__ import annotations

import copy
import datetime as dt
import itertools
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service import vocabulary as vocab
from service.interop.cds_hooks.prefetch import read_prefetch
from service.interop.fhir.intake import Intake
from service.reasoning.unrecorded import completions, rules_met, settled
from service.web.components import components
from tests.cds_tokens import BASE, Ehr
from tests.test_cds_hooks import (
    LOCAL,
    NO,
    SNOMED,
    YES,
    bundle,
    call,
    condition,
    hook_request,
    observation,
    patient,
    questionnaire_response,
)

UCUM = "http://unitsofmeasure.org"
RETENTION = (SNOMED, "267064002")  # urinary retention: an emergency red flag
INTAKE = {
    "age": [{"valueInteger": 40}],
    "sex": [{"valueCoding": {"code": "female"}}],
    "locations": [{"valueCoding": {"system": LOCAL, "code": "buttock"}}],
}


def cards(cds: FlaskClient, ehr: Ehr, prefetch: dict[str, Any]) -> list[dict[str, Any]]:
    response = call(cds, ehr, hook_request(prefetch))
    assert response.status_code == 200, response.get_json()
    return response.get_json()["cards"]  # type: ignore[no-any-return]


def refused(cds: FlaskClient, ehr: Ehr, prefetch: dict[str, Any]) -> str:
    response = call(cds, ehr, hook_request(prefetch))
    assert response.status_code == 400 and response.mimetype == "application/problem+json", response.get_json()
    return response.get_json()["detail"]  # type: ignore[no-any-return]


def about(resource: dict[str, Any], reference: str | None) -> dict[str, Any]:
    changed = copy.deepcopy(resource)
    if reference is None:
        changed.pop("subject", None)
    else:
        changed["subject"] = {"reference": reference}
    return changed


# --- the patient in context --------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefetch", "named"),
    [
        ({"patient": {**patient(), "id": "someone-else"}}, "Patient/someone-else"),
        (
            {
                "patient": patient(),
                "observations": bundle(about(observation(*RETENTION, "u1", valueBoolean=True), "Patient/2")),
            },
            "Observation/u1",
        ),
        (
            {
                "patient": patient(),
                "observations": bundle(about(observation(*RETENTION, "u2", valueBoolean=True), None)),
            },
            "Observation/u2",
        ),
        (
            {"patient": patient(), "conditions": bundle(about(condition("363346000", "c1"), "Patient/12889920"))},
            "Condition/c1",
        ),
        (
            {
                "questionnaireResponse": {
                    **questionnaire_response(INTAKE, {}),
                    "id": "q1",
                    "subject": {"reference": "Patient/2"},
                }
            },
            "QuestionnaireResponse/q1",
        ),
    ],
)
def test_data_about_another_patient_is_a_400_naming_the_resource(
    cds: FlaskClient, ehr: Ehr, prefetch: dict[str, Any], named: str
) -> None:
    detail = refused(cds, ehr, prefetch)
    assert named in detail and "not" in detail and "patient in context" in detail


def test_absolute_references_to_the_patient_in_context_are_accepted(cds: FlaskClient, ehr: Ehr) -> None:
    retention = about(
        observation(*RETENTION, "u1", valueBoolean=True), "https://fhir.example.invalid/r4/Patient/1288992"
    )
    summary = cards(cds, ehr, {"patient": patient(), "observations": bundle(retention)})[0]
    assert summary["extension"]["urgency"] == "emergency"


# --- conflicts and statuses ----------------------------------------------------------------


def test_yes_then_no_to_the_same_item_is_taken_as_present_and_reported(cds: FlaskClient, ehr: Ehr) -> None:
    response = questionnaire_response(INTAKE, {})
    response["item"][-1]["item"] = [
        {"linkId": "saddle_anesthesia", "answer": [{"valueCoding": YES}]},
        {"linkId": "saddle_anesthesia", "answer": [{"valueCoding": NO}]},  # the last answer no longer wins
        {"linkId": "fever", "answer": [{"valueCoding": NO}, {"valueCoding": YES}]},
    ]
    found = cards(cds, ehr, {"questionnaireResponse": response})
    assert found[0]["extension"]["urgency"] == "emergency"
    assert "ESC-CES-SADDLE" in found[0]["extension"].get("red_flags", [])
    conflict = next(c for c in found if "both present and absent" in c["summary"])
    assert conflict["indicator"] == "warning"
    assert "- saddle anesthesia" in conflict["detail"] and "- fever" in conflict["detail"]


def test_a_no_in_the_questionnaire_and_a_yes_in_an_observation_conflict(cds: FlaskClient, ehr: Ehr) -> None:
    response = questionnaire_response(INTAKE, {"urinary_retention": False})
    found = cards(
        cds,
        ehr,
        {"questionnaireResponse": response, "observations": bundle(observation(*RETENTION, "u1", valueBoolean=True))},
    )
    assert "ESC-CES-RETENTION" in found[0]["extension"].get("red_flags", [])
    assert any("both present and absent" in c["summary"] for c in found)


@pytest.mark.parametrize("status", ["in-progress", "entered-in-error"])
def test_a_questionnaire_response_that_does_not_count_informs_nothing(cds: FlaskClient, ehr: Ehr, status: str) -> None:
    response = {**questionnaire_response(INTAKE, {"saddle_anesthesia": True}), "status": status, "id": "q1"}
    found = cards(cds, ehr, {"patient": patient(), "questionnaireResponse": response})
    assert "No pain location recorded" in found[0]["detail"]  # nothing was read from it
    assert found[0]["extension"]["urgency"] != "emergency"
    assert f"QuestionnaireResponse/q1: status {status}, not counted" in found[-1]["detail"]


@pytest.mark.parametrize("status", ["cancelled", "entered-in-error"])
def test_a_cancelled_observation_is_not_present(cds: FlaskClient, ehr: Ehr, status: str) -> None:
    retention = {**observation(*RETENTION, "u1", valueBoolean=True), "status": status}
    found = cards(cds, ehr, {"patient": patient(), "observations": bundle(retention)})
    assert "ESC-CES-RETENTION" not in found[0]["extension"].get("red_flags", [])
    assert f"Observation/u1: status {status}, not counted" in found[-1]["detail"]


def _past(resource: dict[str, Any], clinical: str) -> dict[str, Any]:
    system = "http://terminology.hl7.org/CodeSystem/condition-clinical"
    return {**resource, "clinicalStatus": {"coding": [{"system": system, "code": clinical}]}}


@pytest.mark.parametrize("clinical", ["resolved", "inactive", "remission"])
def test_a_past_condition_is_not_present(cds: FlaskClient, ehr: Ehr, clinical: str) -> None:
    fever = _past(condition("386661006", "f1"), clinical)
    found = cards(cds, ehr, {"patient": patient(), "conditions": bundle(fever)})
    assert "ESC-FEVER" not in found[0]["extension"].get("red_flags", [])
    assert f"Condition/f1: clinical status {clinical}, not counted" in found[-1]["detail"]
    active = cards(cds, ehr, {"patient": patient(), "conditions": bundle(condition("386661006", "f2"))})
    assert "ESC-FEVER" in active[0]["extension"].get("red_flags", [])  # the control


@pytest.mark.parametrize("clinical", ["resolved", "inactive", "remission"])
def test_a_past_cancer_is_still_a_history_of_cancer(cds: FlaskClient, ehr: Ehr, clinical: str) -> None:
    """A cancer in remission is exactly the history the red flag asks about (fhir.yaml ``history``);
    with no course recorded the pain is not taken as settled, so it is checked the same day."""
    cancer = _past(condition("363346000", "c1"), clinical)
    found = cards(cds, ehr, {"patient": patient(), "conditions": bundle(cancer)})
    assert "ESC-CANCER-PAIN-PATTERN" in found[0]["extension"].get("red_flags", [])


def test_a_refuted_condition_is_not_present(cds: FlaskClient, ehr: Ehr) -> None:
    found = cards(cds, ehr, {"patient": patient(), "conditions": bundle(condition("363346000", "c1", "refuted"))})
    assert "ESC-CANCER-PAIN-PATTERN" not in found[0]["extension"].get("red_flags", [])


def test_conflicting_answers_to_a_single_valued_item_are_not_used_and_the_rest_assessed(
    cds: FlaskClient, ehr: Ehr
) -> None:
    """A 400 (no card) hid the saddle anaesthesia answered in the same response."""
    answers = {**INTAKE, "age": [{"valueInteger": 40}, {"valueInteger": 70}]}
    response = {**questionnaire_response(answers, {"saddle_anesthesia": True}), "id": "q1"}
    found = cards(cds, ehr, {"questionnaireResponse": response})
    assert found[0]["extension"]["urgency"] == "emergency"
    assert any(card["summary"].startswith("Record the patient's age") for card in found)  # every age assessed
    assert (
        "- `QuestionnaireResponse/q1: item 'age' has conflicting answers: its answer is not used`"
        in found[-1]["detail"].splitlines()
    )


# --- units and numbers ---------------------------------------------------------------------


def pregnant_with(quantity: dict[str, Any]) -> dict[str, Any]:
    return {
        "patient": patient(birth="1990-01-01"),
        "conditions": bundle(condition("77386006", "c1")),
        "observations": bundle(
            observation("http://loinc.org", "49051-6", "g1", valueQuantity=quantity),
            observation(LOCAL, "pain_radiates_below_knee", "r1", valueBoolean=True),  # care that names NSAIDs
        ),
    }


NSAIDS_FROM_WEEK_20 = "oral nsaids: NSAIDs from week 20 can impair fetal kidneys"  # the clinician wording


@pytest.mark.parametrize(
    ("quantity", "from_week_20"),
    [
        ({"value": 20, "unit": "days", "system": UCUM, "code": "d"}, False),  # 20 days is week 2, not week 20
        ({"value": 140, "unit": "days", "system": UCUM, "code": "d"}, True),
        ({"value": 20, "unit": "wk", "system": UCUM, "code": "wk"}, True),
        ({"value": 20}, True),  # no unit: weeks, as the LOINC code says
    ],
)
def test_gestational_age_in_days_is_converted_to_weeks(
    cds: FlaskClient, ehr: Ehr, quantity: dict[str, Any], from_week_20: bool
) -> None:
    summary = cards(cds, ehr, pregnant_with(quantity))[0]
    assert (NSAIDS_FROM_WEEK_20 in summary["detail"]) is from_week_20


@pytest.mark.parametrize(
    "quantity",
    [
        {"value": 7, "unit": "months", "system": UCUM, "code": "mo"},
        {"value": 30, "unit": "weeks", "system": UCUM, "code": "{wk}"},  # an annotation: a bare number
        {"value": 30, "unit": "semaines"},
    ],
)
def test_gestational_age_in_another_unit_is_not_used_and_the_rest_assessed(
    cds: FlaskClient, ehr: Ehr, quantity: dict[str, Any]
) -> None:
    """A 400 for the unit hid every card, urinary retention's emergency among them. A month is
    no fixed number of weeks: the week is left out, and the pregnancy assessed for every week."""
    prefetch = pregnant_with(quantity)
    prefetch["observations"]["entry"].append({"resource": RETENTION_OBS})
    found = cards(cds, ehr, prefetch)
    assert found[0]["indicator"] == "critical" and "ESC-CES-RETENTION" in found[0]["extension"]["red_flags"]
    assert any("gestational week" in card["summary"] for card in found)  # asked for, every week assessed
    assert "gestational age in" in found[-1]["detail"] and "not weeks (wk) or days (d), not used" in found[-1]["detail"]


@pytest.mark.parametrize("value", [-1e308, 1e308, 10**400, -(10**400)])
def test_a_huge_gestational_age_is_a_400_naming_the_resource(cds: FlaskClient, ehr: Ehr, value: Any) -> None:
    detail = refused(cds, ehr, pregnant_with({"value": value, "unit": "wk"}))
    assert "Observation/g1: gestational age is out of range" in detail


def test_huge_questionnaire_numbers_are_a_400_naming_the_resource(cds: FlaskClient, ehr: Ehr) -> None:
    answers = {**INTAKE, "severity": [{"valueDecimal": 10**400}]}
    response = {**questionnaire_response(answers, {}), "id": "q1"}
    detail = refused(cds, ehr, {"questionnaireResponse": response})
    assert "QuestionnaireResponse/q1: severity is out of range" in detail


def test_a_questionnaire_nested_120_levels_deep_is_a_400(cds: FlaskClient, ehr: Ehr) -> None:
    response = questionnaire_response(INTAKE, {})
    inner: dict[str, Any] = {"linkId": "deep"}
    for level in range(120):
        inner = {"linkId": f"group-{level}", "item": [inner]}
    response["item"].append(inner)
    assert refused(cds, ehr, {"questionnaireResponse": response})


# --- text from FHIR in cards ---------------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [
        "[Click here](http://evil.example/phish)",
        "**URGENT** <img src=x onerror=alert(1)>",
        "a`b``c",
        "#Heading",
    ],
)
def test_text_from_fhir_reaches_a_card_only_as_a_code_span(cds: FlaskClient, ehr: Ehr, code: str) -> None:
    found = cards(cds, ehr, {"patient": patient(), "observations": bundle(observation("urn:x", code, "x1"))})
    detail = found[-1]["detail"]
    line = next(line for line in detail.splitlines() if "Observation/x1" in line)
    fence = "```" if "``" in code else "`"
    assert line == f"- {fence}Observation/x1: urn:x|{code}{fence}"


def test_a_line_break_in_fhir_text_cannot_start_markdown_blocks(cds: FlaskClient, ehr: Ehr) -> None:
    response = questionnaire_response(INTAKE, {})
    response["item"].append({"linkId": "x\n\n# Heading [link](http://evil.example)", "answer": [{"valueString": "y"}]})
    detail = cards(cds, ehr, {"questionnaireResponse": response})[-1]["detail"]
    assert "- `QuestionnaireResponse item 'x  # Heading [link](http://evil.example)'`" in detail.splitlines()


def test_decimal_answers_are_read_as_numbers(cds: FlaskClient, ehr: Ehr) -> None:
    answers = {**INTAKE, "severity": [{"valueDecimal": 6.5}], "duration_days": [{"valueDecimal": 2.5}]}
    assert cards(cds, ehr, {"questionnaireResponse": questionnaire_response(answers, {})})[0]["summary"]


# --- nothing in a questionnaire response is read past ----------------------------------------


def nested_under_the_age(response: dict[str, Any]) -> dict[str, Any]:
    """Saddle anaesthesia "yes" nested under the age's answer (FHIR allows ``answer.item``)."""
    nested = copy.deepcopy(response)
    age = next(item for item in nested["item"] if item["linkId"] == "age")
    age["answer"][0]["item"] = [{"linkId": "saddle_anesthesia", "answer": [{"valueCoding": YES}]}]
    return nested


def test_items_nested_under_an_answer_are_listed_as_unread_not_read_past(cds: FlaskClient, ehr: Ehr) -> None:
    """Read past silently, the red flag was lost: self-care, where the same answer at its place
    is an emergency. Refused, the call showed no card at all. They are listed as not read, on a
    warning card, and the summary says its answer rests on the data read; the age is read."""
    response = {**questionnaire_response(INTAKE, {}), "id": "q1"}
    found = cards(cds, ehr, {"questionnaireResponse": nested_under_the_age(response)})
    assert found[0]["summary"].endswith("— 1 item(s) not read")
    assert found[0]["detail"].startswith("**On the data this service could read only")
    assert not any(card["summary"].startswith("Record the patient's age") for card in found)
    assert found[-1]["indicator"] == "warning"
    assert (
        "- `QuestionnaireResponse/q1: item 'age' has items nested under an answer; the intake Questionnaire "
        "nests none there: the items nested there (saddle_anesthesia) not used`"
    ) in found[-1]["detail"].splitlines()


def test_an_answer_to_the_findings_group_is_listed_as_unread(cds: FlaskClient, ehr: Ehr) -> None:
    response = {**questionnaire_response(INTAKE, {}), "id": "q1"}
    response["item"][-1]["answer"] = [
        {"valueCoding": YES, "item": [{"linkId": "fever", "answer": [{"valueCoding": YES}]}]}
    ]
    found = cards(cds, ehr, {"questionnaireResponse": response})
    assert (
        found[-1]["indicator"] == "warning"
        and "item 'findings' has items nested under an answer" in found[-1]["detail"]
    )
    response["item"][-1]["answer"] = [{"valueCoding": YES}]
    found = cards(cds, ehr, {"questionnaireResponse": response})
    assert (
        "QuestionnaireResponse/q1: item 'findings' is a group, answered in its items, not itself" in found[-1]["detail"]
    )


PREGNANCY = (SNOMED, "77386006")


@pytest.mark.parametrize(
    ("value", "pregnant"),
    [
        ({"valueBoolean": False}, False),
        ({"valueCodeableConcept": {"coding": [NO]}}, False),
        ({"valueCodeableConcept": {"coding": [{"system": SNOMED, "code": "373067005"}]}}, False),  # No
        ({"valueBoolean": True}, True),
        ({"valueCodeableConcept": {"coding": [YES]}}, True),
    ],
)
def test_a_pregnancy_observation_saying_no_is_not_a_pregnancy(
    cds: FlaskClient, ehr: Ehr, value: dict[str, Any], pregnant: bool
) -> None:
    """Read as a finding is; taken as pregnant, a woman not pregnant had no week and no assessment."""
    woman = patient(birth="1990-01-01")
    observed = observation(*PREGNANCY, "p1", **value)
    response = call(cds, ehr, hook_request({"patient": woman, "observations": bundle(observed)}))
    assert response.status_code == 200, response.get_json()
    asks_for_week = any("gestational week" in card["summary"] for card in response.get_json()["cards"])
    assert asks_for_week is pregnant  # pregnant with no week: assessed at every week, and asked for it


# --- values of a kind not read are reported, never swallowed --------------------------------

LOINC = "http://loinc.org"
SEVERITY = (LOINC, "72514-3")
GESTATIONAL_AGE = (LOINC, "49051-6")
NOT_A_NUMBER = [
    {"valueString": "9"},
    {"valueCodeableConcept": {"text": "severe"}},
    {"component": [{"code": {"text": "worst"}, "valueInteger": 9}]},
    {"valueQuantity": {"unit": "wk"}},
    {},
]


@pytest.mark.parametrize("value", NOT_A_NUMBER)
def test_a_severity_that_is_not_a_number_is_reported_not_used(
    cds: FlaskClient, ehr: Ehr, value: dict[str, Any]
) -> None:
    found = cards(cds, ehr, {"patient": patient(), "observations": bundle(observation(*SEVERITY, "s1", **value))})
    assert "Observation/s1: severity not given as a valueInteger or valueQuantity, not used" in found[-1]["detail"]


@pytest.mark.parametrize("value", NOT_A_NUMBER)
def test_a_gestational_age_that_is_not_a_number_is_reported_not_used(
    cds: FlaskClient, ehr: Ehr, value: dict[str, Any]
) -> None:
    prefetch = {
        "patient": patient(birth="1990-01-01"),
        "conditions": bundle(condition("77386006", "c1")),
        "observations": bundle(observation(*GESTATIONAL_AGE, "g1", **value)),
    }
    asked = [card["summary"] for card in cards(cds, ehr, prefetch)]
    assert any("gestational week" in summary for summary in asked)  # pregnant with no week: asked for it
    prefetch["observations"]["entry"].append({"resource": observation(*GESTATIONAL_AGE, "g2", valueInteger=30)})
    detail = cards(cds, ehr, prefetch)[-1]["detail"]
    assert "Observation/g1: gestational age not given as a valueQuantity or valueInteger, not used" in detail


@pytest.mark.parametrize(("week", "from_week_20"), [(19, False), (20, True)])
def test_a_gestational_age_as_a_whole_number_is_in_weeks(
    cds: FlaskClient, ehr: Ehr, week: int, from_week_20: bool
) -> None:
    prefetch = pregnant_with({"value": 1})
    prefetch["observations"]["entry"][0]["resource"] = observation(*GESTATIONAL_AGE, "g1", valueInteger=week)
    assert (NSAIDS_FROM_WEEK_20 in cards(cds, ehr, prefetch)[0]["detail"]) is from_week_20


# --- one value from several resources: never picked silently by their order --------------


def read(app: Flask, prefetch: dict[str, Any]) -> Intake:
    terms = components(app).fhir.at(BASE).terminology
    return read_prefetch(prefetch, terms, dt.date(2026, 6, 1), "1288992")


def severity(ident: str, value: int) -> dict[str, Any]:
    return observation(*SEVERITY, ident, valueInteger=value)


def week(ident: str, weeks: int, **when: str) -> dict[str, Any]:
    return observation(*GESTATIONAL_AGE, ident, valueQuantity={"value": weeks, "unit": "wk"}, **when)


@pytest.mark.parametrize("order", [("s1", "s2"), ("s2", "s1")])
def test_two_severities_take_the_higher_and_report_the_other(app: Flask, order: tuple[str, str]) -> None:
    given = {"s1": severity("s1", 9), "s2": severity("s2", 2)}  # 9 then 2: the later one won
    intake = read(app, {"patient": patient(), "observations": bundle(*(given[i] for i in order))})
    assert intake.complaint["severity"] == 9
    assert intake.differing == [
        "Observation/s2: severity differs from Observation/s1's, not used (the higher is assessed)"
    ]


def test_a_questionnaire_severity_and_a_higher_observed_one_take_the_higher(app: Flask) -> None:
    response = {**questionnaire_response({**INTAKE, "severity": [{"valueInteger": 3}]}, {}), "id": "q1"}
    intake = read(app, {"questionnaireResponse": response, "observations": bundle(severity("s1", 8))})
    assert intake.complaint["severity"] == 8
    assert intake.differing == [
        "QuestionnaireResponse/q1: severity differs from Observation/s1's, not used (the higher is assessed)"
    ]


def test_a_gestational_age_measured_weeks_ago_is_counted_on_to_today(app: Flask) -> None:
    """Recorded at 20 weeks on 2026-04-06, eight weeks before the day read: 28 weeks now."""
    intake = read(app, {"patient": patient(), "observations": bundle(week("g1", 20, effectiveDateTime="2026-04-06"))})
    assert intake.patient["pregnancy"]["gestational_week"] == 28


def test_a_gestational_age_that_would_now_be_past_44_weeks_is_not_used(app: Flask) -> None:
    intake = read(app, {"patient": patient(), "observations": bundle(week("g1", 38, effectiveDateTime="2026-01-05"))})
    assert "gestational_week" not in intake.patient.get("pregnancy", {})
    assert intake.unmapped == ["Observation/g1: gestational age would now be past week 58, not used"]


def test_bleeding_at_a_week_20_recorded_eight_weeks_ago_is_an_antepartum_haemorrhage(
    cds: FlaskClient, ehr: Ehr
) -> None:
    """Read as week 20 it followed the early pregnancy pathway (urgent); it is week 28 now."""
    measured = (dt.datetime.now(dt.UTC).date() - dt.timedelta(weeks=8)).isoformat()
    bleeding = observation(SNOMED, "289530006", "b1", valueBoolean=True)
    prefetch = {
        "patient": patient(birth="1990-01-01"),
        "conditions": bundle(condition("77386006", "c1")),
        "observations": bundle(week("g1", 20, effectiveDateTime=measured), bleeding),
    }
    summary = cards(cds, ehr, prefetch)[0]
    assert summary["extension"]["urgency"] == "emergency", summary["extension"]


@pytest.mark.parametrize(
    ("earlier", "later"),
    [
        ({"effectiveDateTime": "2026-01-10"}, {"effectiveDateTime": "2026-05-02"}),
        ({"effectiveDateTime": "2026-05-01T09:00:00Z"}, {"effectiveDateTime": "2026-05-01T10:00:00Z"}),
        ({"issued": "2026-01-10T09:00:00Z"}, {"effectivePeriod": {"start": "2026-05-01"}}),
        ({"effectiveDateTime": "2026-01"}, {"effectiveDateTime": "2026-02-01"}),
        ({}, {"issued": "2026-05-01T09:00:00Z"}),  # undated counts as the oldest
    ],
)
@pytest.mark.parametrize("later_first", [True, False])
def test_two_gestational_ages_take_the_later_record(
    app: Flask, earlier: dict[str, Any], later: dict[str, Any], later_first: bool
) -> None:
    old, new = week("g1", 10, **earlier), week("g2", 20, **later)
    observations = bundle(*((new, old) if later_first else (old, new)))
    intake = read(app, {"patient": patient(), "observations": observations})
    assert intake.sources["gestational_week"].label == "Observation/g2"  # its 30 weeks, plus the weeks since
    assert intake.differing == [
        "Observation/g1: gestational week differs from Observation/g2's, not used (the later is assessed)"
    ]


@pytest.mark.parametrize(
    ("dates", "weeks"),
    [
        (({}, {}), 3),
        # the same day, 31 days before the day read: 9+0 to 9+6 is now 13 or 14, 4+0 to 4+6 is 8 or 9
        (({"effectiveDateTime": "2026-05-01"}, {"effectiveDateTime": "2026-05-01T10:00:00Z"}), 5),
        # 9 weeks measured in 2026, read on 2026-06-01: week 9 to 31, with weeks 8 (g2) and 6 (g3)
        (({"effectiveDateTime": "2026"}, {"effectiveDateTime": "2026-05-01"}), 25),
        (({"issued": "2026-05-01T10:00:00Z"}, {"issued": "2026-05-01T10:00:00Z"}), 5),
    ],
)
def test_two_gestational_ages_the_dates_cannot_order_leave_the_week_out_and_each_is_assessed(
    app: Flask, cds: FlaskClient, ehr: Ehr, dates: tuple[dict[str, Any], dict[str, Any]], weeks: int
) -> None:
    prefetch = pregnant_with({"value": 30, "unit": "wk"})
    # weeks early enough to stay within a pregnancy when counted on to today (the dates are in 2026)
    first, second = dates
    prefetch["observations"] = bundle(week("g1", 9, **first), week("g2", 4, **second), week("g3", 6))
    intake = read(app, prefetch)
    assert "gestational_week" not in intake.patient["pregnancy"]
    assert len(intake.candidate_weeks) == weeks and 6 in intake.candidate_weeks  # g1, g2 counted on to the day read
    assert intake.differing[0].startswith("Observation/g2 and Observation/g1: different gestational ages")
    assert intake.differing[1].startswith("Observation/g3: gestational week 6, also assessed")
    response = cds.post("/cds-services/buttock-pain-triage", json=hook_request(prefetch), headers=ehr.header())
    assert response.status_code == 200
    # the card asking for the week where the weeks fall on both sides of a boundary; where every
    # one fires the same rules (4, 6, 9), the card of values recorded differently still names them
    found = response.get_json()["cards"]
    asked = any("gestational week" in card["summary"] for card in found)
    assert asked or any("different gestational ages" in card.get("detail", "") for card in found)
    assert asked == (weeks > 3)


def test_two_late_gestational_ages_the_dates_cannot_order_still_make_bleeding_an_emergency(
    cds: FlaskClient, ehr: Ehr
) -> None:
    """30 and 31 weeks, undated: both past 24, so bleeding is an antepartum haemorrhage. Assessed
    for every week, the least urgent answer was the early pregnancy pathway's (urgent)."""
    bleeding = observation(SNOMED, "289530006", "b1", valueBoolean=True)
    prefetch = {
        "patient": patient(birth="1994-03-12"),
        "observations": bundle(week("g1", 30), week("g2", 31), bleeding),
    }
    summary = cards(cds, ehr, prefetch)[0]
    assert summary["extension"]["urgency"] == "emergency", summary["summary"]


@pytest.mark.parametrize(
    ("quantity", "weeks"),
    [
        ({"value": 23, "comparator": ">"}, range(23, 45)),  # 23 weeks and a day or more
        ({"value": 24, "comparator": ">="}, range(24, 45)),
        ({"value": 20, "comparator": "<"}, range(1, 20)),
        ({"value": 20, "comparator": "<="}, range(1, 21)),
        ({"value": 140, "comparator": "<", "code": "d"}, range(1, 20)),  # 139 completed days at most
        ({"value": 23, "comparator": "ad"}, range(23, 24)),  # not a bound
    ],
)
def test_a_gestational_age_given_as_a_bound_gives_every_week_it_allows(
    app: Flask, quantity: dict[str, Any], weeks: range
) -> None:
    """Attack 7 finding 4: "> 23 wk" was read as 23, and bleeding (at 24 weeks or more an
    antepartum haemorrhage, an emergency) stayed on the early pregnancy pathway."""
    measured = observation(*GESTATIONAL_AGE, "g1", valueQuantity={"unit": "wk", **quantity})
    intake = read(app, {"patient": patient(), "observations": bundle(measured)})
    given = intake.candidate_weeks or {intake.patient["pregnancy"]["gestational_week"]}
    assert sorted(given) == list(weeks)
    bound = [d for d in intake.differing if "given only as a bound" in d]
    assert len(bound) == (quantity["comparator"] != "ad")


def test_bleeding_beside_a_gestational_age_over_23_weeks_asks_for_the_week(cds: FlaskClient, ehr: Ehr) -> None:
    """Over 23 weeks may be 23 weeks and a day (the early pregnancy pathway) or 24 and more (an
    antepartum haemorrhage, an emergency): the card asking for the week names the emergency."""
    measured = observation(*GESTATIONAL_AGE, "g1", valueQuantity={"value": 23, "comparator": ">", "unit": "wk"})
    response = questionnaire_response(INTAKE, {"vaginal_bleeding": True})
    found = cards(cds, ehr, {"questionnaireResponse": response, "observations": bundle(measured)})
    (asked,) = [card for card in found if card["summary"].startswith("Record the patient's gestational week")]
    assert asked["summary"].endswith("could be emergency")
    (differing,) = [card for card in found if "recorded differently" in card["summary"]]
    assert "gestational age given only as a bound ('> 23 wk')" in differing["detail"]


@pytest.mark.parametrize(
    ("quantity", "severities"),
    [
        ({"value": 6, "comparator": ">"}, (7, 8, 9, 10)),
        ({"value": 6.5, "comparator": ">="}, (7, 8, 9, 10)),
        ({"value": 3, "comparator": "<"}, (0, 1, 2)),
        ({"value": 3, "comparator": "<="}, (0, 1, 2, 3)),
    ],
)
def test_a_severity_given_as_a_bound_gives_every_severity_it_allows(
    app: Flask, quantity: dict[str, Any], severities: tuple[int, ...]
) -> None:
    measured = observation(*SEVERITY, "s1", valueQuantity=quantity)
    intake = read(app, {"patient": patient(), "observations": bundle(measured)})
    assert "severity" not in intake.complaint and intake.candidates == {"pain severity": severities}


@pytest.mark.parametrize(
    ("exact", "bound", "severities"),
    [(9, {"value": 6, "comparator": ">"}, (9, 10)), (3, {"value": 6, "comparator": ">"}, (7, 8, 9, 10))],
)
def test_a_severity_bound_and_a_value_keep_the_higher(
    app: Flask, exact: int, bound: dict[str, Any], severities: tuple[int, ...]
) -> None:
    observations = bundle(severity("s1", exact), observation(*SEVERITY, "s2", valueQuantity=bound))
    intake = read(app, {"patient": patient(), "observations": observations})
    assert intake.candidates == {"pain severity": severities}


def test_severe_pain_given_as_a_bound_fires_the_severe_pain_red_flag(cds: FlaskClient, ehr: Ehr) -> None:
    """ "> 6" was read as 6: not severe, and the first-trimester severe one-sided pain (a possible
    ruptured ectopic pregnancy, an emergency) was urgent."""
    answers = {**INTAKE, "age": [{"valueInteger": 30}], "pregnant": [{"valueBoolean": True}]}
    answers["gestational_week"] = [{"valueInteger": 8}]
    response = questionnaire_response(answers, {"one_sided_lower_abdominal_pain": True})
    measured = observation(*SEVERITY, "s1", valueQuantity={"value": 6, "comparator": ">"})
    summary = cards(cds, ehr, {"questionnaireResponse": response, "observations": bundle(measured)})[0]
    assert "ESC-FIRST-TRIMESTER-SEVERE-ONE-SIDED-PAIN" in summary["extension"]["red_flags"]


def test_the_same_gestational_age_twice_is_no_conflict(app: Flask) -> None:
    intake = read(app, {"patient": patient(), "observations": bundle(week("g1", 30), week("g2", 30))})
    assert intake.patient["pregnancy"]["gestational_week"] == 30 and intake.unmapped == intake.differing == []


QR_AGE, BIRTH_AGE = "QuestionnaireResponse/q1", "Patient/1288992 birthDate"


@pytest.mark.parametrize(("born", "age"), [("1981-04-02", 45), ("1990-01-01", 36)])
def test_an_answered_age_and_another_from_the_birth_date_are_each_assessed_and_reported(
    app: Flask, born: str, age: int
) -> None:
    """Neither is the safe side: the fracture, aneurysm and cancer bands rise with age, those
    of childhood fall with it (the older was kept, and a form's 15 against a birth date giving
    16 lost fever in a child). Each is a candidate, and the triage assesses both."""
    response = {**questionnaire_response(INTAKE, {}), "id": "q1"}  # 40; read on 2026-06-01
    intake = read(app, {"questionnaireResponse": response, "patient": patient(birth=born)})
    assert "age" not in intake.patient and intake.candidates == {"age": tuple(sorted({40, age}))}
    assert intake.differing == [f"{BIRTH_AGE}: age {age} differs from {QR_AGE}'s 40: each is assessed"]


def test_fever_in_a_child_answered_15_is_not_lost_to_a_birth_date_giving_16(cds: FlaskClient, ehr: Ehr) -> None:
    """Attack 7 finding 2: "the older" (16) was assessed alone, and ESC-FEVER-CHILD (under 16,
    an emergency) was lost with no card. Both ages are assessed: the summary holds for both,
    and the card asking for the age names the emergency the other would add."""
    answers = {
        **INTAKE,
        "age": [{"valueInteger": 15}],
        "sex": [{"valueCoding": {"code": "male"}}],
        "locations": [{"valueCoding": {"code": "hip"}}],
    }
    today = dt.datetime.now(dt.UTC).date()
    response = {**questionnaire_response(answers, {"fever": True}), "id": "q1", "authored": today.isoformat()}
    born = (today.replace(year=today.year - 16, day=1) - dt.timedelta(days=31)).isoformat()  # 16 today
    found = cards(cds, ehr, {"questionnaireResponse": response, "patient": patient(birth=born, gender="male")})
    (asked,) = [card for card in found if card["summary"].startswith("Record the patient's age")]
    assert asked["summary"].endswith("could be emergency") and "ESC-FEVER-CHILD" in asked["detail"]
    assert "15 or 16" in asked["detail"]


@pytest.mark.parametrize(
    ("authored", "now"),
    [
        # 62 then, four years and a few months since: 66, or 67 if a birthday fell after the answer
        ("2022-01-10", (66, 67)),
        ("2022-01-10T08:00:00Z", (66, 67)),
        # a month or a year: counted from each of its days (from the last only, 65 hid the bands of 66)
        ("2022-06", (65, 66)),
        ("2022", (65, 66, 67)),
        ("2022-12", (65, 66)),
    ],
)
def test_an_answered_age_is_counted_on_from_when_it_was_answered(
    app: Flask, authored: str, now: int | tuple[int, ...]
) -> None:
    answers = {**INTAKE, "age": [{"valueInteger": 62}]}
    response = {**questionnaire_response(answers, {}), "id": "q1", "authored": authored}
    intake = read(app, {"questionnaireResponse": response})
    if isinstance(now, int):
        assert intake.patient["age"] == now and not intake.candidate_ages
    else:
        assert "age" not in intake.patient and intake.candidates == {"age": now}
    assert intake.differing == []


def test_a_fall_at_66_is_urgent_though_the_questionnaire_said_62_years_ago(cds: FlaskClient, ehr: Ehr) -> None:
    """Read as 62, the stale answer overrode the birth date (66) and ESC-FALL-OLDER-ADULT was lost."""
    answers = {**INTAKE, "age": [{"valueInteger": 62}], "locations": [{"valueCoding": {"code": "hip"}}]}
    response = {**questionnaire_response(answers, {"recent_trauma": True}), "id": "q1", "authored": "2022-01-10"}
    summary = cards(cds, ehr, {"questionnaireResponse": response, "patient": patient(birth="1960-01-01")})[0]
    assert "ESC-FALL-OLDER-ADULT" in summary["extension"]["red_flags"]


def test_an_answered_gestational_week_is_counted_on_from_when_it_was_answered(app: Flask) -> None:
    answers = {**INTAKE, "pregnant": [{"valueBoolean": True}], "gestational_week": [{"valueInteger": 20}]}
    response = {**questionnaire_response(answers, {}), "id": "q1", "authored": "2026-04-06"}
    intake = read(app, {"questionnaireResponse": response})
    assert intake.patient["pregnancy"]["gestational_week"] == 28  # eight weeks before the day read
    response["authored"] = "2025-06-01"  # a year ago: that pregnancy has ended, its week and itself
    intake = read(app, {"questionnaireResponse": response})
    assert "pregnancy" not in intake.patient
    assert intake.unmapped == [
        "QuestionnaireResponse/q1: a pregnancy recorded so long ago it would now be past week 44, not used",
        "QuestionnaireResponse/q1: gestational week would now be 72, not used",
    ]


@pytest.mark.parametrize(("authored", "pregnant"), [("2025-07-28", False), ("2025-07-29", True), (None, True)])
def test_a_pregnancy_answered_44_weeks_ago_or_more_has_ended(app: Flask, authored: str | None, pregnant: bool) -> None:
    """Attack 7 finding 3: a form authored two years ago answering "pregnant" kept a pregnancy
    as current (only its week was dropped), and one-sided lower abdominal pain recorded today
    lost the possible ectopic pregnancy. Observations and Conditions already followed this
    rule; an undated answer still counts (nothing in it says it is over)."""
    answers = {**INTAKE, "pregnant": [{"valueBoolean": True}]}
    response = {**questionnaire_response(answers, {}), "id": "q1", **({"authored": authored} if authored else {})}
    intake = read(app, {"questionnaireResponse": response})  # read on 2026-06-01: 2025-07-28 is 44 weeks before
    assert ("pregnancy" in intake.patient) == pregnant
    ended = "QuestionnaireResponse/q1: a pregnancy recorded so long ago it would now be past week 44, not used"
    assert (ended in intake.unmapped) == (not pregnant)


def test_one_sided_lower_abdominal_pain_today_is_urgent_beside_a_two_year_old_pregnancy_answer(
    cds: FlaskClient, ehr: Ehr
) -> None:
    today = dt.datetime.now(dt.UTC).date()
    answers = {**INTAKE, "pregnant": [{"valueBoolean": True}], "gestational_week": [{"valueInteger": 10}]}
    old = {**questionnaire_response(answers, {}), "id": "q1", "authored": (today - dt.timedelta(days=730)).isoformat()}
    pain = observation(LOCAL, "one_sided_lower_abdominal_pain", "o1", valueBoolean=True)
    found = cards(cds, ehr, {"questionnaireResponse": old, "patient": patient(), "observations": bundle(pain)})
    assert found[0]["extension"]["urgency"] == "urgent"
    assert "ESC-POSSIBLE-PREGNANCY-ONE-SIDED-PAIN" in found[0]["extension"]["red_flags"]
    assert "a pregnancy recorded so long ago it would now be past week 44, not used" in found[-1]["detail"]


# --- the latest questionnaire response, whatever the EHR sends ------------------------------


def answered(ident: str, saddle: bool, **authored: str) -> dict[str, Any]:
    return {**questionnaire_response(INTAKE, {"saddle_anesthesia": saddle}), "id": ident, **authored}


@pytest.mark.parametrize(
    ("older", "newer"),
    [
        ({"authored": "2026-01-10T09:00:00Z"}, {"authored": "2026-05-01T09:00:00Z"}),
        ({"authored": "2026-01"}, {"authored": "2026-05-01"}),
        ({}, {"authored": "2026-05-01"}),  # no authored: the oldest
    ],
)
@pytest.mark.parametrize("newer_first", [True, False])
def test_the_latest_authored_response_of_a_bundle_is_read(
    cds: FlaskClient, ehr: Ehr, older: dict[str, str], newer: dict[str, str], newer_first: bool
) -> None:
    """The EHR ignored ``_sort=-authored&_count=1``: an old "no" was read for today's "yes"."""
    old, new = answered("q1", False, **older), answered("q2", True, **newer)
    found = cards(cds, ehr, {"questionnaireResponse": bundle(*((new, old) if newer_first else (old, new)))})
    assert found[0]["extension"]["urgency"] == "emergency"
    assert "- `QuestionnaireResponse/q1: not the latest authored, not used`" in found[-1]["detail"].splitlines()


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ({}, {}),
        ({"authored": "2026-05-01"}, {"authored": "2026-05-01"}),
        ({"authored": "2026-05-01"}, {"authored": "2026-05-01T10:00:00Z"}),
    ],
)
@pytest.mark.parametrize("yes_first", [True, False])
def test_of_responses_the_dates_cannot_order_each_is_read_and_a_yes_in_either_is_present(
    cds: FlaskClient, ehr: Ehr, first: dict[str, str], second: dict[str, str], yes_first: bool
) -> None:
    """The first in the Bundle was read, the other dropped: its only yes was lost when it came second."""
    found = cards(
        cds,
        ehr,
        {"questionnaireResponse": bundle(answered("q1", yes_first, **first), answered("q2", not yes_first, **second))},
    )
    assert found[0]["extension"]["urgency"] == "emergency"
    assert any("both present and absent" in card["summary"] for card in found)
    assert not any("not the latest authored" in card["detail"] for card in found)


@pytest.mark.parametrize("status", ["in-progress", "entered-in-error"])
def test_a_newer_response_that_does_not_count_hides_no_older_one(cds: FlaskClient, ehr: Ehr, status: str) -> None:
    """A form started today, or one marked entered in error, was picked as the latest and then not
    counted: yesterday's completed intake, with its saddle anaesthesia, was read by nobody."""
    older = answered("q1", True, authored="2026-05-01")
    newer = {**answered("q2", False, authored="2026-05-02"), "status": status}
    found = cards(cds, ehr, {"questionnaireResponse": bundle(newer, older)})
    assert found[0]["extension"]["urgency"] == "emergency"
    assert f"- `QuestionnaireResponse/q2: status {status}, not counted`" in found[-1]["detail"].splitlines()


def tied(ident: str, **answers: list[dict[str, Any]]) -> dict[str, Any]:
    return {**questionnaire_response({**INTAKE, **answers}, {}), "id": ident, "authored": "2026-05-01"}


def coded(code: str) -> list[dict[str, Any]]:
    return [{"valueCoding": {"code": code}}]


@pytest.mark.parametrize(
    ("item", "answers", "kept"),
    [
        ("onset", ("gradual", "sudden"), {"gradual", "sudden"}),  # each fires red flags of its own
        ("onset", ("gradual", "unknown"), {"gradual"}),  # "don't know" adds nothing to a known value
        ("side", ("left", "both"), {"both", "left"}),
        ("side", ("left", "right"), {"left", "right"}),
        ("side", ("unknown", "right"), {"right"}),
        ("course", ("worsening", "stable"), {"stable", "worsening"}),
        ("course", ("recurrent", "stable"), {"recurrent", "stable"}),
        ("course", ("recurrent", "unknown"), {"recurrent"}),
        ("duration_days", (200, 10), {10, 200}),  # no duration is the safe side
        ("locations", ("hip", "buttock"), ["hip", "buttock"]),
    ],
)
@pytest.mark.parametrize("reverse", [False, True])
def test_answers_of_responses_the_dates_cannot_order_never_depend_on_their_order(
    app: Flask, item: str, answers: tuple[Any, Any], kept: Any, reverse: bool
) -> None:
    def answer(value: Any) -> list[dict[str, Any]]:
        return [{"valueInteger": value}] if isinstance(value, int) else coded(value)

    responses = [tied("q1", **{item: answer(answers[0])}), tied("q2", **{item: answer(answers[1])})]
    intake = read(app, {"questionnaireResponse": bundle(*(reversed(responses) if reverse else responses))})
    if isinstance(kept, set):
        assert (set(intake.candidate_values[item]) or {intake.complaint[item]}) == kept
        assert (item in intake.complaint) == (len(kept) == 1)
        assert len(intake.differing) == (len(kept) == 2)  # an "unknown" beside a known value is no difference
        return
    got = intake.complaint[item]
    assert (sorted(got) if item == "locations" else got) == (sorted(kept) if item == "locations" else kept)
    assert len(intake.differing) == 1 and "differ" in intake.differing[0]


@pytest.mark.parametrize(("first", "second"), [("female", "male"), ("female", "other"), ("male", "unknown")])
def test_a_sex_answered_differently_is_assessed_only_as_the_sexes_the_records_give(
    app: Flask, first: str, second: str
) -> None:
    """Two sexes were both left out and every sex assessed, male included where no record
    said male; "unknown" beside a known sex adds nothing."""
    responses = [tied("q1", sex=coded(first)), tied("q2", sex=coded(second))]
    intake = read(app, {"questionnaireResponse": bundle(*responses)})
    given = {first, second} - {"unknown"}
    assert (set(intake.candidate_values["sex"]) or {intake.patient["sex"]}) == given


def test_durations_answered_differently_keep_the_persistent_pains_referral(cds: FlaskClient, ehr: Ehr) -> None:
    """Attack 8 finding 2: forms of one day giving 2 and 20 days kept the shorter, and stable
    moderate buttock pain lost its referral for pain lasting two weeks (routine to self care)
    with no card asking for the duration. Each duration is assessed: the card names routine."""
    answers = {"severity": [{"valueInteger": 5}], "course": coded("stable"), "onset": coded("gradual")}
    alone = cards(cds, ehr, {"questionnaireResponse": tied("q1", **answers, duration_days=[{"valueDecimal": 20}])})
    assert alone[0]["extension"]["urgency"] == "routine"
    two_forms = [tied("q1", **answers, duration_days=[{"valueDecimal": 2}])]
    two_forms.append(tied("q2", **answers, duration_days=[{"valueDecimal": 20}]))
    found = cards(cds, ehr, {"questionnaireResponse": bundle(*two_forms)})
    (asked,) = [card for card in found if card["summary"].startswith("Record the patient's pain duration")]
    assert asked["summary"] == "Record the patient's pain duration — could be routine"
    assert asked["indicator"] == "warning"
    assert any(
        "QuestionnaireResponse/q2: duration days differs from QuestionnaireResponse/q1's, each is assessed"
        in card["detail"]
        for card in found
    )


def test_a_sex_answered_differently_by_responses_the_dates_cannot_order_is_asked_for(
    cds: FlaskClient, ehr: Ehr
) -> None:
    female, male = tied("q1"), tied("q2", sex=[{"valueCoding": {"code": "male"}}])
    found = cards(cds, ehr, {"questionnaireResponse": bundle(female, male)})
    assert any("sex" in card["summary"] and card["indicator"] == "warning" for card in found)  # asked for
    assert any("sex 'male' differs from QuestionnaireResponse/q1's, each is assessed" in c["detail"] for c in found)


@pytest.mark.parametrize("name", ["sex", "onset", "side", "course"])
def test_two_answers_merged_fire_every_rule_either_answer_fires(app: Flask, name: str) -> None:
    """Of two different answers the merge assesses only values some record gives, and for each
    known answer one that meets the same context rules (only context rules read these fields,
    so it fires all the answer fires). Before, "both sides outweighed one" and any other pair
    became "unknown": left + both lost the first-trimester one-sided groin pain, recurrent +
    stable the recurring pain's red flag; a sex "unknown" beside "female" added male."""
    kb = components(app).assessor.kb
    context = [rule for rule in kb.rules.values() if rule.when.is_context]
    codes = vocab.CHOICE_FIELDS[name]
    for first, second in itertools.combinations(codes, 2):
        items = {name: coded(first)}, {name: coded(second)}
        intake = read(app, {"questionnaireResponse": bundle(tied("q1", **items[0]), tied("q2", **items[1]))})
        raw, candidates = settled(kb, intake.record(), intake.candidates)
        part = "patient" if name == "sex" else "complaint"
        assessed = {completed[part][name] for completed in completions(kb, raw, candidates)}
        known = {first, second} - {"unknown"} or {"unknown"}
        assert assessed <= known, (first, second, assessed)
        met = {rules_met(name, value, context) for value in assessed}
        assert all(rules_met(name, answer, context) in met for answer in known), (first, second, assessed)


def test_a_response_authored_in_a_leap_second_is_read(cds: FlaskClient, ehr: Ehr) -> None:
    """FHIR allows second 60; the FHIR library keeps such a time as text, taken for a partial date (a 500)."""
    older, newer = answered("q1", False, authored="2016-12-31T23:59:60Z"), answered("q2", True, authored="2017-01")
    found = cards(cds, ehr, {"questionnaireResponse": bundle(newer, older)})
    assert found[0]["extension"]["urgency"] == "emergency"
    assert "- `QuestionnaireResponse/q1: not the latest authored, not used`" in found[-1]["detail"].splitlines()


def test_values_recorded_differently_are_a_warning_card_for_the_clinician(cds: FlaskClient, ehr: Ehr) -> None:
    """Not only a line among the codes not used: a clinician should check them with the patient."""
    found = cards(cds, ehr, {"patient": patient(), "observations": bundle(severity("s1", 2), severity("s2", 9))})
    (differing,) = [card for card in found if "recorded differently" in card["summary"]]
    assert differing["indicator"] == "warning"
    assert "Observation/s1: severity differs from Observation/s2's" in differing["detail"]
    assert not any("not used" in card["summary"] for card in found)


# --- values an EHR can hold that the contract cannot: reported, the rest still assessed -------

RETENTION_OBS = observation(SNOMED, "267064002", "r1", valueBoolean=True)


@pytest.mark.parametrize(
    "extra",
    [
        week("g1", 0),  # under a week
        observation(*GESTATIONAL_AGE, "g1", valueQuantity={"value": 3, "code": "d"}),
        severity("s1", 11),
        week("g1", 20, effectiveDateTime="9999"),  # a year 9999 date: its end is past what Python holds
        week("g1", 20, effectiveDateTime="9999-12-31"),
        week("g1", 20, effectivePeriod={"start": "9999-12"}),
        week("g1", 20, effectiveDateTime="2016-12-31T23:59:60Z"),  # a leap second: valid FHIR, was a 500
        week("g1", 20, effectivePeriod={"end": "2016-12-31T23:59:60.5+01:00"}),
        week("g1", 20, issued="2016-12-31T23:59:60Z"),
        week("g1", 20, effectiveInstant="2016-12-31T23:59:60Z"),
    ],
    ids=[
        "week-0",
        "3-days",
        "severity-11",
        "year-9999",
        "9999-12-31",
        "period-9999-12",
        "leap-second-effective",
        "leap-second-period",
        "leap-second-issued",
        "leap-second-instant",
    ],
)
def test_an_ehr_value_the_contract_cannot_hold_never_hides_the_other_cards(
    cds: FlaskClient, ehr: Ehr, extra: dict[str, Any]
) -> None:
    """Urinary retention is an emergency whatever else the record holds: a 422 (or a 500) for
    one odd value showed no card at all."""
    prefetch = {
        "patient": patient(birth="1994-03-12"),
        "conditions": bundle(condition("77386006", "c1")),
        "observations": bundle(RETENTION_OBS, extra),
    }
    assert cards(cds, ehr, prefetch)[0]["indicator"] == "critical"


GENDER = "http://hl7.org/fhir/administrative-gender"


@pytest.mark.parametrize(
    ("answer", "reported"),
    [
        ({"severity": [{"valueInteger": 11}]}, "severity outside 0-10, not used"),
        ({"duration_days": [{"valueDecimal": -1}]}, "duration days outside 0-1000000, not used"),
        ({"age": [{"valueInteger": 130}]}, "age outside 0-120, not used"),
        ({"pregnant": [{"valueBoolean": True}], "gestational_week": [{"valueInteger": 50}]}, "gestational week out"),
        ({"sex": [{"valueCoding": {"system": GENDER, "code": "F"}}]}, "sex 'F' is not a code of the intake"),
        ({"locations": [{"valueCoding": {"code": "knee"}}]}, "locations 'knee' is not a code of the intake"),
        ({"onset": [{"valueCoding": {"code": "acute"}}]}, "onset 'acute' is not a code of the intake"),
        ({"side": [{"valueCoding": {"code": "bilateral"}}]}, "side 'bilateral' is not a code of the intake"),
        ({"course": [{"valueCoding": {"code": "chronic"}}]}, "course 'chronic' is not a code of the intake"),
    ],
)
def test_a_questionnaire_answer_the_contract_cannot_hold_is_not_used_and_the_rest_assessed(
    cds: FlaskClient, ehr: Ehr, answer: dict[str, Any], reported: str
) -> None:
    """One answer outside the contract made the whole triage a card-less 422, and the saddle
    anaesthesia answered in the same response was shown to nobody. A left-out age, sex or week
    is assessed for every value it could have, a left-out location as buttock pain."""
    response = {**questionnaire_response({**INTAKE, **answer}, {"saddle_anesthesia": True}), "id": "q1"}
    found = cards(cds, ehr, {"questionnaireResponse": response})
    assert found[0]["indicator"] == "critical" and "ESC-CES-SADDLE" in found[0]["extension"]["red_flags"]
    assert f"QuestionnaireResponse/q1: {reported}" in found[-1]["detail"]


def test_a_male_gender_with_a_pregnancy_is_assessed_for_the_other_sexes(cds: FlaskClient, ehr: Ehr) -> None:
    prefetch = {
        "patient": patient(birth="1994-03-12", gender="male"),
        "conditions": bundle(condition("77386006", "c1")),
        "observations": bundle(RETENTION_OBS, week("g1", 30)),
    }
    found = cards(cds, ehr, prefetch)
    assert found[0]["indicator"] == "critical"
    assert any("sex male, with a pregnancy recorded: not used" in card["detail"] for card in found)


@pytest.mark.parametrize("entry", [[{"resource": RETENTION_OBS}], {"Resource": RETENTION_OBS}, {}])
def test_a_bundle_entry_without_a_resource_is_reported_not_skipped(cds: FlaskClient, ehr: Ehr, entry: Any) -> None:
    found = cards(cds, ehr, {"patient": patient(), "observations": {"resourceType": "Bundle", "entry": [entry]}})
    assert "Bundle.entry[0]: no resource, not used" in found[-1]["detail"]


@pytest.mark.parametrize("gender", ["male", "other"])
def test_a_patient_gender_that_differs_from_the_answered_sex_is_assessed_as_each(app: Flask, gender: str) -> None:
    """The questionnaire's sex was kept and the Patient's gender dropped without a word; then
    both were left out and every sex assessed, male included where no record said male. The
    first read is no better than the other: each is assessed, and no sex that none gives."""
    response = {**questionnaire_response(INTAKE, {}), "id": "q1"}  # female
    intake = read(app, {"questionnaireResponse": response, "patient": patient(gender=gender)})
    assert "sex" not in intake.patient and intake.candidates["sex"] == tuple(sorted({"female", gender}))
    assert [d for d in intake.differing if "sex" in d] == [
        f"Patient/1288992 gender: sex '{gender}' differs from QuestionnaireResponse/q1's, each is assessed"
    ]


def test_a_sex_answered_unknown_beside_a_female_gender_keeps_the_emergency(cds: FlaskClient, ehr: Ehr) -> None:
    """Attack 7 finding 2: the form's "unknown" left the Patient's "female" out, every sex was
    assessed, male included, and a possible ruptured ectopic pregnancy went from critical to
    info. "unknown" adds nothing to a known sex."""
    answers = {
        **INTAKE,
        "age": [{"valueInteger": 30}],
        "sex": [{"valueCoding": {"code": "unknown"}}],
        "locations": [{"valueCoding": {"code": "groin"}}],
    }
    findings = {"one_sided_lower_abdominal_pain": True, "fainting_or_dizziness": True}
    response = {**questionnaire_response(answers, findings), "id": "q1"}
    found = cards(cds, ehr, {"questionnaireResponse": response, "patient": patient(gender="female")})
    assert found[0]["indicator"] == "critical"
    assert not any("sex" in card["summary"] for card in found)


def test_a_patient_gender_that_agrees_with_the_answered_sex_is_not_reported(app: Flask) -> None:
    response = {**questionnaire_response(INTAKE, {}), "id": "q1"}
    intake = read(app, {"questionnaireResponse": response, "patient": patient(gender="female")})
    assert intake.patient["sex"] == "female" and not [d for d in intake.differing if "sex" in d]


@pytest.mark.parametrize("newer_says", [False, None])  # "no", or not asked at all
def test_a_yes_in_an_older_response_not_used_is_named_on_a_warning_card(
    cds: FlaskClient, ehr: Ehr, newer_says: bool | None
) -> None:
    """The older of two completed responses was dropped whole: a saddle anaesthesia answered five
    minutes before a form that did not ask it gave 'No red flags reported' (fourth attack round)."""
    older = answered("q1", True, authored="2026-05-01T09:00:00Z")
    newer_findings = {} if newer_says is None else {"saddle_anesthesia": newer_says}
    newer = {**questionnaire_response(INTAKE, newer_findings), "id": "q2", "authored": "2026-05-01T09:05:00Z"}
    found = cards(cds, ehr, {"questionnaireResponse": bundle(newer, older)})
    (not_used,) = [card for card in found if "were not used" in card["summary"]]
    assert not_used["indicator"] == "warning"
    assert (
        "QuestionnaireResponse/q1: not the latest authored, not used; it answered yes to saddle_anesthesia"
        in (not_used["detail"])
    )
    assert found[0]["detail"].startswith("**On the data this service could read only")  # not a bare "no red flags"


# --- a pregnancy recorded long ago ----------------------------------------------------------

PREGNANCY_STATUS = (LOINC, "82810-3")
SAYS_PREGNANT = {"coding": [{"system": SNOMED, "code": "77386006"}]}
ACTIVE = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]}


def pregnancy_status(ident: str, **when: Any) -> dict[str, Any]:
    return observation(*PREGNANCY_STATUS, ident, valueCodeableConcept=SAYS_PREGNANT, **when)


def pregnancy_condition(ident: str, **when: Any) -> dict[str, Any]:
    return {**condition("77386006", ident), "clinicalStatus": ACTIVE, **when}


READ_ON = dt.date(2026, 6, 1)  # the day read() reads on
# at week 1 at the earliest when recorded, a pregnancy recorded 44 weeks ago is past week 44 now
ENDED, CURRENT = (READ_ON - dt.timedelta(weeks=44)).isoformat(), (READ_ON - dt.timedelta(weeks=44, days=-1)).isoformat()


@pytest.mark.parametrize(
    ("resource", "key"),
    [
        (pregnancy_status("ps", effectiveDateTime="2024-03-01"), "observations"),
        (pregnancy_status("ps", issued="2024-03-01T09:00:00Z"), "observations"),
        (pregnancy_status("ps", effectiveDateTime=ENDED), "observations"),
        (observation(SNOMED, "77386006", "ps", valueBoolean=True, effectiveDateTime="2024-03-01"), "observations"),
        (pregnancy_condition("ps", onsetDateTime="2022-01-10", recordedDate="2022-01-10"), "conditions"),
        (pregnancy_condition("ps", recordedDate="2022-01-10"), "conditions"),
        (pregnancy_condition("ps", onsetPeriod={"start": "2022-01-10", "end": "2022-02-01"}), "conditions"),
        (pregnancy_condition("ps", onsetDateTime=ENDED), "conditions"),
    ],
)
def test_a_pregnancy_recorded_longer_ago_than_a_pregnancy_lasts_is_not_a_pregnancy_now(
    app: Flask, resource: dict[str, Any], key: str
) -> None:
    """Recorded two years ago, or left active on the problem list since 2022, it was read as a
    pregnancy now, while its gestational age was already dropped as "ended"."""
    intake = read(app, {"patient": patient(), key: bundle(resource)})
    assert "pregnancy" not in intake.patient
    kind = resource["resourceType"]
    assert intake.unmapped == [f"{kind}/ps: a pregnancy recorded so long ago it would now be past week 44, not used"]
    assert not intake.unread  # nothing it says is lost: the record's own date tells it is over


@pytest.mark.parametrize(
    ("resource", "key"),
    [
        (pregnancy_status("ps", effectiveDateTime=CURRENT), "observations"),
        (pregnancy_status("ps", effectiveDateTime="2026-05-02"), "observations"),
        (pregnancy_status("ps", effectivePeriod={"start": "2025-01-01", "end": "2026-05-01"}), "observations"),
        (pregnancy_status("ps"), "observations"),  # undated: counted, as before
        (pregnancy_condition("ps", onsetDateTime=CURRENT, recordedDate="2026-05-01"), "conditions"),
        (pregnancy_condition("ps", recordedDate="2026-05-01"), "conditions"),
        (pregnancy_condition("ps"), "conditions"),
        # a period with no end runs to today (FHIR: ongoing), so the onset may have been lately
        (pregnancy_condition("ps", onsetPeriod={"start": "2022-01-10"}), "conditions"),
    ],
)
def test_a_pregnancy_recorded_within_44_weeks_or_undated_is_a_pregnancy_now(
    app: Flask, resource: dict[str, Any], key: str
) -> None:
    intake = read(app, {"patient": patient(), key: bundle(resource)})
    assert "pregnancy" in intake.patient and not intake.unmapped


def test_a_pregnancy_status_whose_gestational_age_has_ended_leaves_no_pregnancy(app: Flask) -> None:
    """The status and its gestational age from 2024: both are over, and both are listed."""
    observations = bundle(
        pregnancy_status("ps", effectiveDateTime="2024-03-01"), week("g1", 10, effectiveDateTime="2024-03-01")
    )
    intake = read(app, {"patient": patient(), "observations": observations})
    assert "pregnancy" not in intake.patient
    assert [line.split(":")[0] for line in intake.unmapped] == ["Observation/ps", "Observation/g1"]


def days_before_reading(days: int) -> str:
    return (READ_ON - dt.timedelta(days=days)).isoformat()


@pytest.mark.parametrize(
    "pregnancy",
    [
        pregnancy_condition("ps", recordedDate=days_before_reading(35)),  # the same day
        pregnancy_condition("ps", recordedDate=days_before_reading(90)),  # before
        pregnancy_condition("ps", recordedDate=days_before_reading(35)[:7]),  # its month: not placed after
        # under way 300 days ago, whenever it was written down: that pregnancy
        pregnancy_condition("ps", onsetDateTime=days_before_reading(300), recordedDate=days_before_reading(10)),
        pregnancy_status("ps", effectiveDateTime=days_before_reading(35)),
    ],
    ids=["same-day", "before", "same-month", "onset-before-recorded-after", "status-observation"],
)
def test_a_pregnancy_recorded_by_the_time_a_gestational_age_now_past_44_weeks_was_measured_has_ended(
    app: Flask, pregnancy: dict[str, Any]
) -> None:
    """Attack 8 finding 3: an active problem-list pregnancy beside the last antenatal gestational
    age (week 40, five weeks ago) kept a pregnancy at every week 1 to 44, where the gestational
    age alone shows it has ended. The record of that pregnancy (or an earlier one) ends too."""
    ga = week("g1", 40, effectiveDateTime=days_before_reading(35))
    if pregnancy["resourceType"] == "Condition":
        prefetch = {"observations": bundle(ga), "conditions": bundle(pregnancy)}
    else:
        prefetch = {"observations": bundle(pregnancy, ga)}
    intake = read(app, {"patient": patient(), **prefetch})
    assert "pregnancy" not in intake.patient
    kind = pregnancy["resourceType"]
    assert (
        f"{kind}/ps: a pregnancy recorded at or before Observation/g1, a gestational age now past week 44, not used"
        in (intake.unmapped)
    )


@pytest.mark.parametrize(
    ("beside", "key"),
    [
        # recorded after the measurement: may be a new pregnancy, whose red flags must not be lost
        (pregnancy_condition("ps", recordedDate=days_before_reading(10)), "conditions"),
        (pregnancy_condition("ps"), "conditions"),  # undated: nothing tells when it was made
        (week("g2", 8, effectiveDateTime=days_before_reading(1)), "observations"),  # today's pregnancy
    ],
    ids=["recorded-after", "undated", "current-gestational-age"],
)
def test_a_pregnancy_the_dates_do_not_place_by_a_gestational_age_now_past_44_weeks_is_kept(
    app: Flask, beside: dict[str, Any], key: str
) -> None:
    ended = week("g1", 40, effectiveDateTime=days_before_reading(35))
    prefetch = {"observations": bundle(ended, beside)} if key == "observations" else {key: bundle(beside)}
    intake = read(app, {"observations": bundle(ended), **prefetch, "patient": patient()})
    assert "pregnancy" in intake.patient


def test_a_pregnant_answer_beside_its_week_now_past_44_is_no_pregnancy(app: Flask) -> None:
    """One form answered five weeks ago, pregnant at week 40: the week was dropped, the pregnancy kept."""
    answers = {**INTAKE, "pregnant": [{"valueBoolean": True}], "gestational_week": [{"valueInteger": 40}]}
    response = {**questionnaire_response(answers, {}), "id": "q1", "authored": days_before_reading(35)}
    intake = read(app, {"patient": patient(), "questionnaireResponse": response})
    assert "pregnancy" not in intake.patient


def test_a_pregnancy_ended_by_its_gestational_age_keeps_the_possible_ectopic_urgent(cds: FlaskClient, ehr: Ehr) -> None:
    """Attack 8 finding 3 through the CDS door: urgent with the gestational age alone, routine
    (weeks 1 to 44 bracketed) once the problem list's pregnancy of the same day was added."""
    today = dt.datetime.now(dt.UTC).date()
    measured = (today - dt.timedelta(days=35)).isoformat()
    pain = observation(LOCAL, "one_sided_lower_abdominal_pain", "o1", valueBoolean=True)
    ga = week("g1", 40, effectiveDateTime=measured)
    prefetch = {
        "patient": patient(birth="1998-01-01"),
        "observations": bundle(pain, ga),
        "conditions": bundle(pregnancy_condition("ps", recordedDate=measured)),
    }
    found = cards(cds, ehr, prefetch)
    assert found[0]["extension"]["urgency"] == "urgent"
    assert "ESC-POSSIBLE-PREGNANCY-ONE-SIDED-PAIN" in found[0]["extension"]["red_flags"]
    assert not any("gestational week" in card["summary"] for card in found)
    assert "Condition/ps: a pregnancy recorded at or before Observation/g1" in found[-1]["detail"]


def test_a_stale_pregnancy_does_not_hide_a_possible_ruptured_ectopic(cds: FlaskClient, ehr: Ehr) -> None:
    """One-sided lower abdominal pain with fainting in a woman of 31 is an emergency (a possible
    ectopic pregnancy); a pregnancy-status Observation from two years ago made it "Self care"."""
    two_years_ago = (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=730)).isoformat()
    answers = {**INTAKE, "onset": [{"valueCoding": {"system": LOCAL, "code": "sudden"}}]}
    response = questionnaire_response(answers, {"one_sided_lower_abdominal_pain": True, "fainting_or_dizziness": True})
    for stale in (
        {"observations": bundle(pregnancy_status("ps", effectiveDateTime=two_years_ago))},
        {"conditions": bundle(pregnancy_condition("ps", onsetDateTime=two_years_ago))},
    ):
        found = cards(cds, ehr, {"patient": patient(birth="1995-06-01"), "questionnaireResponse": response, **stale})
        assert found[0]["indicator"] == "critical", found[0]["summary"]
        assert "ESC-POSSIBLE-PREGNANCY-ONE-SIDED-PAIN-FAINTING" in found[0]["extension"]["red_flags"]
        (not_used,) = [card for card in found if "not used" in card["summary"]]
        assert "past week 44, not used" in not_used["detail"] and two_years_ago not in not_used["detail"]
