"""CDS triage reads what it can of a prefetched QuestionnaireResponse and lists the rest.

An answer of another kind or shape than its item takes (a sex coded in SNOMED CT, an age as a
decimal, two answers to one item, items nested under an answer) made the whole call a 400 with
no card, hiding an emergency recorded beside it. Such an item is now listed as not used, as
one that may hold a red flag, and the rest is assessed; ``$next-question`` still refuses it
(its app can ask the patient again: tests/test_next_question.py). The response
``$next-question`` itself completes (``#adaptive``, derived from the intake) is read as the
intake, and a response to another Questionnaire is listed as not counted."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.cds_tokens import Ehr
from tests.test_cds_hooks import LOCAL, NO, QUESTIONNAIRE, SNOMED, YES, bundle, observation, patient
from tests.test_fhir_trust import cards
from tests.test_next_question import NEXT, START, post, walk, yes_no

RETENTION = observation(SNOMED, "267064002", "u1", valueBoolean=True)  # urinary retention: an emergency
GENDER = "http://hl7.org/fhir/administrative-gender"
BUTTOCK = {"linkId": "locations", "answer": [{"valueCoding": {"system": LOCAL, "code": "buttock"}}]}
SADDLE = {"linkId": "saddle_anesthesia", "answer": [{"valueCoding": YES}]}


def response(*items: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "QuestionnaireResponse",
        "id": "q1",
        "status": "completed",
        "questionnaire": QUESTIONNAIRE,
        "subject": {"reference": "Patient/1288992"},
        "item": list(items),
        **extra,
    }


def coded(link_id: str, *codes: str, system: str = LOCAL) -> dict[str, Any]:
    return {"linkId": link_id, "answer": [{"valueCoding": {"system": system, "code": code}} for code in codes]}


NOT_READ = [
    ("sex in SNOMED CT", coded("sex", "248152002", system=SNOMED), "'sex' must be answered with a valueCoding"),
    ("age as a decimal", {"linkId": "age", "answer": [{"valueDecimal": 30.0}]}, "'age' must be answered"),
    (
        "age as a quantity",
        {"linkId": "age", "answer": [{"valueQuantity": {"value": 30, "unit": "a"}}]},
        "'age' must be answered with a valueInteger",
    ),
    ("pregnant as a coding", {"linkId": "pregnant", "answer": [{"valueCoding": YES}]}, "'pregnant' must be answered"),
    ("a finding as text", {"linkId": "numbness", "answer": [{"valueString": "Yes"}]}, "'numbness' must be answered"),
    (
        "two ages",
        {"linkId": "age", "answer": [{"valueInteger": 30}, {"valueInteger": 31}]},
        "'age' has conflicting answers",
    ),
    ("two onsets", coded("onset", "sudden", "gradual"), "'onset' has conflicting answers"),
    (
        "nested under an answer",
        {
            "linkId": "side",
            "answer": [{"valueCoding": {"system": LOCAL, "code": "left"}, "item": [yes_no("numbness", True)]}],
        },
        "'side' has items nested under an answer",
    ),
]


@pytest.mark.parametrize(("what", "item", "says"), NOT_READ, ids=[case[0] for case in NOT_READ])
def test_an_answer_of_another_kind_or_shape_is_listed_and_the_red_flags_beside_it_shown(
    cds: FlaskClient, ehr: Ehr, what: str, item: dict[str, Any], says: str
) -> None:
    prefetch = {
        "patient": patient(birth="1994-03-12"),
        "questionnaireResponse": response(BUTTOCK, item, SADDLE),
        "observations": bundle(RETENTION),
    }
    found = cards(cds, ehr, prefetch)
    summary, listing = found[0], found[-1]
    assert summary["indicator"] == "critical", what
    assert {"ESC-CES-RETENTION", "ESC-CES-SADDLE"} <= set(summary["extension"]["red_flags"])  # both doors' data
    assert summary["summary"].endswith("— 1 item(s) not read")
    assert listing["indicator"] == "warning" and listing["summary"].endswith("could hold a red flag, check them")
    (line,) = [line for line in listing["detail"].splitlines() if says in line]
    assert line.startswith(f"- `QuestionnaireResponse/q1: item {says}") and line.endswith("not used`")


def test_a_finding_answered_in_kinds_it_reads_and_one_it_does_not_is_not_read_in_part(
    cds: FlaskClient, ehr: Ehr
) -> None:
    """All of an item's answers are read, or none: its "no" alone must not stand for it."""
    item = {"linkId": "saddle_anesthesia", "answer": [{"valueCoding": NO}, {"valueString": "yes"}]}
    found = cards(cds, ehr, {"patient": patient(), "questionnaireResponse": response(BUTTOCK, item)})
    assert "saddle_anesthesia" not in found[0]["detail"]  # neither present nor the "no" used against a cause
    assert found[0]["summary"].endswith("— 1 item(s) not read")


def test_a_response_to_another_questionnaire_is_not_counted_and_the_rest_assessed(cds: FlaskClient, ehr: Ehr) -> None:
    other = response(BUTTOCK, questionnaire="https://other.example/Questionnaire/x")
    found = cards(cds, ehr, {"patient": patient(), "questionnaireResponse": other, "observations": bundle(RETENTION)})
    assert "ESC-CES-RETENTION" in found[0]["extension"]["red_flags"]
    assert (
        f"- `QuestionnaireResponse/q1: answers another Questionnaire than {QUESTIONNAIRE}, not counted`"
        in found[-1]["detail"].splitlines()
    )


def test_a_response_to_another_questionnaire_does_not_hide_the_latest_intake(cds: FlaskClient, ehr: Ehr) -> None:
    """Newer, it would have made the intake response "not the latest" and set its answers aside."""
    other = response(BUTTOCK, questionnaire="https://other.example/Questionnaire/x", authored="2026-05-02")
    other["id"] = "q2"
    intake = response(BUTTOCK, SADDLE, authored="2026-05-01")
    found = cards(cds, ehr, {"patient": patient(), "questionnaireResponse": bundle(other, intake)})
    assert "ESC-CES-SADDLE" in found[0]["extension"]["red_flags"]


def _completed_interview(cds: FlaskClient) -> dict[str, Any]:
    """A 40-year-old man with low back pain interviewed through ``$next-question``, saddle
    anaesthesia answered yes: the response the service completes, as the EHR files it."""
    about = [
        {"linkId": "age", "answer": [{"valueInteger": 40}]},
        {"linkId": "sex", "answer": [{"valueCoding": {"system": GENDER, "code": "male"}}]},
        coded("locations", "low_back"),
    ]
    first = post(cds, {**START, "item": about})
    done, asked = walk(cds, first, lambda finding: yes_no(finding, finding == "saddle_anesthesia"))
    assert done["status"] == "completed" and "saddle_anesthesia" in asked
    return {**done, "id": "adaptive-1", "subject": {"reference": "Patient/1288992"}, "authored": "2026-11-22T10:00:00Z"}


def test_the_response_next_question_completes_is_read_as_the_intake(cds: FlaskClient, ehr: Ehr) -> None:
    """Filed by the EHR and prefetched, it was refused with 400 ("answers another Questionnaire")."""
    filed = _completed_interview(cds)
    assert filed["questionnaire"] == "#q" and filed["contained"][0]["derivedFrom"] == [QUESTIONNAIRE]
    found = cards(cds, ehr, {"patient": patient(birth="1986-01-01", gender="male"), "questionnaireResponse": filed})
    assert found[0]["indicator"] == "critical" and "ESC-CES-SADDLE" in found[0]["extension"]["red_flags"]
    assert "adaptive-1" not in "".join(card["detail"] for card in found[1:])  # nothing of it listed as not used


@pytest.mark.parametrize(
    "change",
    [
        lambda filed: filed["contained"][0].pop("derivedFrom"),
        lambda filed: filed["contained"][0].update(derivedFrom=["https://other.example/Questionnaire/x"]),
        lambda filed: filed.update(questionnaire="#elsewhere"),
    ],
    ids=["not derived", "derived from another", "no such contained"],
)
def test_a_contained_questionnaire_not_derived_from_the_intake_is_not_counted(
    cds: FlaskClient, ehr: Ehr, change: Any
) -> None:
    filed = copy.deepcopy(_completed_interview(cds))
    change(filed)
    found = cards(cds, ehr, {"patient": patient(gender="male"), "questionnaireResponse": filed})
    assert "QuestionnaireResponse/adaptive-1: answers another Questionnaire" in found[-1]["detail"]


def test_next_question_still_refuses_an_answer_of_another_kind(cds: FlaskClient) -> None:
    """Its app can ask again: the 400 names the item (a skipped yes would count as asked)."""
    body = {**START, "item": [{"linkId": "age", "answer": [{"valueInteger": 30}, {"valueInteger": 31}]}]}
    answer = cds.post(NEXT, json=body)
    assert answer.status_code == 400 and "item 'age' has conflicting answers" in answer.get_json()["detail"]
