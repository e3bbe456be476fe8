"""Every FHIR door parses FHIR JSON as strictly as it is written (service.interop.fhir.parsing):
what the FHIR library would coerce (a ``true`` age, a ``"no"`` boolean), a contained resource of
no R4 type and a status or gender outside its value set are refused naming the resource and the
element, never a 500 and never quoting the value: a 400, except for a draft order in order-sign,
which is listed as not read (``extension.unread_orders``) while the other orders are checked."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.cds_tokens import BASE, Ehr
from tests.test_cds_hooks import (
    SNOMED,
    bundle,
    call,
    condition,
    hook_request,
    observation,
    patient,
)
from tests.test_next_question import NEXT, START
from tests.test_order_sign import SERVICE as ORDER_SIGN
from tests.test_order_sign import order

SECRET = "Zq9secret"  # planted in a submitted value: it must never come back
INTAKE_ITEMS = [
    {"linkId": "age", "answer": [{"valueInteger": 40}]},
    {"linkId": "sex", "answer": [{"valueCoding": {"code": "male"}}]},
    {"linkId": "locations", "answer": [{"valueCoding": {"code": "buttock"}}]},
]
Door = Callable[[FlaskClient, FlaskClient, Ehr, dict[str, Any]], Any]


def next_question(client: FlaskClient, cds: FlaskClient, ehr: Ehr, change: dict[str, Any]) -> Any:
    return client.post(NEXT, json={**copy.deepcopy(START), **change})


def triage_patient(client: FlaskClient, cds: FlaskClient, ehr: Ehr, change: dict[str, Any]) -> Any:
    return call(cds, ehr, hook_request({"patient": {**patient(), **change}}))


def triage_observation(client: FlaskClient, cds: FlaskClient, ehr: Ehr, change: dict[str, Any]) -> Any:
    retention = {**observation(SNOMED, "267064002", "o1", valueBoolean=True), **change}
    return call(cds, ehr, hook_request({"patient": patient(), "observations": bundle(retention)}))


def triage_condition(client: FlaskClient, cds: FlaskClient, ehr: Ehr, change: dict[str, Any]) -> Any:
    cancer = {**condition("363346000", "c1"), **change}
    return call(cds, ehr, hook_request({"patient": patient(), "conditions": bundle(cancer)}))


def draft_order(client: FlaskClient, cds: FlaskClient, ehr: Ehr, change: dict[str, Any]) -> Any:
    body = {
        "hook": "order-sign",
        "hookInstance": str(uuid.uuid4()),
        "context": {
            "userId": "Practitioner/example",
            "patientId": "1288992",
            "draftOrders": bundle({**order("m1", ("http://www.nlm.nih.gov/research/umls/rxnorm", "5640")), **change}),
        },
        "prefetch": {"patient": patient()},
    }
    return cds.post(ORDER_SIGN, json=body, headers=ehr.header(audience=f"{BASE}{ORDER_SIGN}"))


DOORS: dict[str, Door] = {
    "$next-question": next_question,
    "triage Patient": triage_patient,
    "triage Observation": triage_observation,
    "triage Condition": triage_condition,
    "order-sign MedicationRequest": draft_order,
}
NAMES = {
    "$next-question": "QuestionnaireResponse",
    "triage Patient": "Patient",
    "triage Observation": "Observation/o1",
    "triage Condition": "Condition/c1",
    "order-sign MedicationRequest": "MedicationRequest",
}


LISTED = {"order-sign MedicationRequest"}  # the call goes on: the order is listed as not read, and carded


def refused(door: str, client: FlaskClient, cds: FlaskClient, ehr: Ehr, change: dict[str, Any]) -> str:
    response = DOORS[door](client, cds, ehr, change)
    assert SECRET not in response.get_data(as_text=True)
    detail: str
    if door in LISTED:
        assert response.status_code == 200, response.get_json()
        (detail,) = response.get_json()["extension"]["unread_orders"]
    else:
        assert response.status_code == 400, response.get_json()
        assert response.mimetype == "application/problem+json"
        detail = response.get_json()["detail"]
    assert NAMES[door] in detail
    return detail


@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize("kind", [SECRET, 5, None, "", SECRET.lower(), "Coding", ["Patient"]])
def test_a_contained_resource_of_no_r4_type_is_refused_in_every_door(
    door: str, kind: Any, client: FlaskClient, cds: FlaskClient, ehr: Ehr
) -> None:
    detail = refused(door, client, cds, ehr, {"contained": [{"resourceType": kind, "id": "x"}]})
    assert "contained[0] is not a FHIR R4 resource" in detail


@pytest.mark.parametrize("door", DOORS)
def test_a_resource_of_no_r4_type_nested_in_a_contained_one_is_refused(
    door: str, client: FlaskClient, cds: FlaskClient, ehr: Ehr
) -> None:
    inner = {"resourceType": "Basic", "id": "b", "code": {"text": "x"}, "contained": [{"resourceType": SECRET}]}
    assert "contained[0].contained[0] is not a FHIR R4 resource" in refused(
        door, client, cds, ehr, {"contained": [inner]}
    )


@pytest.mark.parametrize("door", DOORS)
def test_an_unknown_key_is_cut_to_64_characters(door: str, client: FlaskClient, cds: FlaskClient, ehr: Ehr) -> None:
    key = "k" * 400
    detail = refused(door, client, cds, ehr, {key: 1})
    assert "k" * 64 + "…" in detail and "k" * 65 not in detail


@pytest.mark.parametrize(
    ("answer", "element", "written_as"),
    [
        ({"valueInteger": True}, "valueInteger", "a JSON integer"),  # an age of 1: a child
        ({"valueInteger": "40"}, "valueInteger", "a JSON integer"),
        ({"valueInteger": 40.0}, "valueInteger", "a JSON integer"),
        ({"valueBoolean": "no"}, "valueBoolean", "true or false"),
        ({"valueBoolean": "off"}, "valueBoolean", "true or false"),
        ({"valueBoolean": 0}, "valueBoolean", "true or false"),
        ({"valueDecimal": "7"}, "valueDecimal", "a JSON number"),
        ({"valueDecimal": True}, "valueDecimal", "a JSON number"),
        ({"valueCoding": {"code": 5}}, "valueCoding.code", "a JSON string"),
        ({"valueDate": 20240101}, "valueDate", "a JSON string"),
    ],
)
def test_a_value_fhir_json_does_not_write_so_is_refused_not_coerced(
    answer: dict[str, Any], element: str, written_as: str, client: FlaskClient
) -> None:
    response = client.post(NEXT, json={**START, "item": [{"linkId": "age", "answer": [answer]}]})
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["detail"] == (
        f"QuestionnaireResponse is not valid FHIR JSON: QuestionnaireResponse.item[0].answer[0].{element} "
        f"must be {written_as}"
    )


@pytest.mark.parametrize(
    "change",
    [
        {"valueBoolean": "true"},
        {"valueBoolean": 1},
        {"status": True},
        {"code": {"coding": [{"system": SNOMED, "code": 267064002}]}},
        {"effectiveDateTime": 2024},
    ],
)
def test_prefetched_observations_are_read_strictly_too(change: dict[str, Any], cds: FlaskClient, ehr: Ehr) -> None:
    response = triage_observation(cds, cds, ehr, change)
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["detail"].startswith("Observation/o1 is not valid FHIR JSON: Observation.")


def test_valid_fhir_json_still_parses(client: FlaskClient) -> None:
    """Decimals as integers or fractions, nulls beside extensions in a repeating primitive."""
    items = [
        *INTAKE_ITEMS,
        {"linkId": "severity", "answer": [{"valueDecimal": 7}]},
        {"linkId": "duration_days", "answer": [{"valueDecimal": 2.5}]},
        {"linkId": "fever", "answer": [{"valueBoolean": False}]},
    ]
    contained = {
        "resourceType": "Patient",
        "id": "p",
        "name": [
            {"given": ["A", None], "_given": [None, {"extension": [{"url": "http://x.example", "valueInteger": 1}]}]}
        ],
    }
    body = {**START, "contained": [*START["contained"], contained], "item": items}
    response = client.post(NEXT, json=body)
    assert response.status_code == 200, response.get_json()


@pytest.mark.parametrize(
    ("door", "change", "element"),
    [
        ("triage Observation", {"status": "Cancelled"}, "Observation.status"),  # was counted: not "cancelled"
        ("triage Observation", {"status": SECRET}, "Observation.status"),
        ("triage Patient", {"gender": SECRET}, "Patient.gender"),  # gave the "missing sex" card
        ("triage Patient", {"gender": "Female"}, "Patient.gender"),
        ("$next-question", {"status": "Completed"}, "QuestionnaireResponse.status"),
        ("$next-question", {"contained": [{"resourceType": "Questionnaire", "id": "q", "status": SECRET}]}, "status"),
        ("order-sign MedicationRequest", {"status": SECRET}, "MedicationRequest.status"),
    ],
)
def test_a_status_or_gender_outside_its_value_set_is_refused_naming_the_element(
    door: str, change: dict[str, Any], element: str, *, client: FlaskClient, cds: FlaskClient, ehr: Ehr
) -> None:
    detail = refused(door, client, cds, ehr, change)
    assert f"{element} is not a code of its required value set" in detail
