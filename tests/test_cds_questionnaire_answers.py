"""CDS triage reads what it can of a prefetched QuestionnaireResponse and lists the rest.

An answer of another kind or shape than its item takes (a sex coded in SNOMED CT, an age as a
decimal, two answers to one item, items nested under an answer) made the whole call a 400 with
no card, hiding an emergency recorded beside it. Such an item is now listed as not used, as
one that may hold a red flag, and the rest is assessed; ``$next-question`` still refuses it
(its app can ask the patient again: tests/test_next_question.py)."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.cds_tokens import Ehr
from tests.test_cds_hooks import LOCAL, NO, QUESTIONNAIRE, SNOMED, YES, bundle, observation, patient
from tests.test_fhir_trust import cards
from tests.test_next_question import NEXT, START, yes_no

RETENTION = observation(SNOMED, "267064002", "u1", valueBoolean=True)  # urinary retention: an emergency
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


def test_next_question_still_refuses_an_answer_of_another_kind(cds: FlaskClient) -> None:
    """Its app can ask again: the 400 names the item (a skipped yes would count as asked)."""
    body = {**START, "item": [{"linkId": "age", "answer": [{"valueInteger": 30}, {"valueInteger": 31}]}]}
    answer = cds.post(NEXT, json=body)
    assert answer.status_code == 400 and "item 'age' has conflicting answers" in answer.get_json()["detail"]
