"""FHIR SDC ``Questionnaire/$next-question``: the same interview as the REST API, for FHIR apps.

The simulated patients of tests/interviews/patients.yaml are interviewed again through the
adaptive form, answering each item from their hidden truth; they must end at the same urgency
after the same questions as through ``POST /v1/assessments``. Bad input is a problem+json
400/415/422 that never quotes the submitted answers, never a 500.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from flask.testing import FlaskClient

from tests.sdc_renderer import shown
from tests.test_interview_simulation import MAX_TURNS, PATIENTS, interview

NEXT = "/fhir/Questionnaire/$next-question"
GENDER = "http://hl7.org/fhir/administrative-gender"
YES_NO = "http://terminology.hl7.org/CodeSystem/v2-0136"
ABOUT_THE_PAIN = ("side", "onset", "duration_days", "severity", "course")  # items put again while unknown
START: dict[str, Any] = {
    "resourceType": "QuestionnaireResponse",
    "status": "in-progress",
    "contained": [{"resourceType": "Questionnaire", "id": "q", "status": "active"}],
    "questionnaire": "#q",
}


@pytest.fixture(scope="module")
def local(app) -> str:
    return app.test_client().get("/fhir/CodeSystem/buttock-pain").get_json()["url"]


def answers(record: dict[str, Any], local: str) -> list[dict[str, Any]]:
    """A symptom record as the intake Questionnaire's answers."""
    patient, complaint = record["patient"], record["complaint"]
    items = [
        {"linkId": "age", "answer": [{"valueInteger": patient["age"]}]},
        {"linkId": "sex", "answer": [{"valueCoding": {"system": GENDER, "code": patient["sex"]}}]},
        {
            "linkId": "locations",
            "answer": [{"valueCoding": {"system": local, "code": c}} for c in complaint["locations"]],
        },
    ]
    if "pregnancy" in patient:
        items.append({"linkId": "pregnant", "answer": [{"valueBoolean": True}]})
        items.append(
            {"linkId": "gestational_week", "answer": [{"valueInteger": patient["pregnancy"]["gestational_week"]}]}
        )
    for key in ("side", "onset", "course"):
        if key in complaint:
            items.append({"linkId": key, "answer": [{"valueCoding": {"system": local, "code": complaint[key]}}]})
    if "duration_days" in complaint:
        items.append({"linkId": "duration_days", "answer": [{"valueDecimal": complaint["duration_days"]}]})
    if "severity" in complaint:
        items.append({"linkId": "severity", "answer": [{"valueInteger": complaint["severity"]}]})
    findings = record["findings"]
    items += [yes_no(f, True) for f in findings.get("present", [])]
    items += [yes_no(f, False) for f in findings.get("absent", [])]
    return items


def yes_no(finding: str, yes: bool) -> dict[str, Any]:
    return {"linkId": finding, "answer": [{"valueCoding": {"system": YES_NO, "code": "Y" if yes else "N"}}]}


def walk(
    client: FlaskClient, answer: dict[str, Any], reply: Callable[[str], dict[str, Any]]
) -> tuple[dict[str, Any], list[str]]:
    """Answer each next item with ``reply(finding)`` until the response is completed (bounded:
    the interview ends within the questions there are); the last response and the items asked."""
    asked: list[str] = []
    for _ in range(60):
        if answer["status"] == "completed":
            break
        finding = answer["contained"][0]["item"][-1]["linkId"]
        asked.append(finding)
        body = {**answer, "item": [*answer["item"], reply(finding)]}
        assert len(json.dumps(body)) < 48 * 1024  # the app sends it all back: far from the 64 KiB limit
        answer = post(client, body)
    return answer, asked


def post(client: FlaskClient, body: Any) -> dict[str, Any]:
    response = client.post(NEXT, json=body, headers={"Content-Type": "application/fhir+json"})
    assert response.status_code == 200, response.get_json()
    assert response.mimetype == "application/fhir+json"
    answer = response.get_json()
    QuestionnaireResponse.model_validate(answer)  # valid R4 every time
    return answer


def extension(response: dict[str, Any]) -> dict[str, list[Any]]:
    (assessment,) = [e for e in response["extension"] if e["url"].endswith("/fhir/StructureDefinition/assessment")]
    parts: dict[str, list[Any]] = {}
    for part in assessment["extension"]:
        parts.setdefault(part["url"], []).append(part)
    return parts


def test_the_first_call_asks_about_the_patient_and_the_pain(client: FlaskClient) -> None:
    answer = post(client, START)
    asked = [item["linkId"] for item in answer["contained"][0]["item"]]
    assert asked[:5] == ["age", "sex", "pregnant", "gestational_week", "locations"]
    assert answer["status"] == "in-progress" and answer["questionnaire"] == "#q"
    adaptive = answer["contained"][0]["extension"]
    assert {
        "url": "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-questionnaireAdaptive",
        "valueBoolean": True,
    } in adaptive


@pytest.mark.parametrize("patient", PATIENTS, ids=[p["name"] for p in PATIENTS])
def test_the_adaptive_form_interviews_like_the_rest_api(patient, app, local) -> None:
    client = app.test_client()
    rest = interview(client, patient)
    response = copy.deepcopy(START)
    response["item"] = answers(
        {**patient["known"], "findings": {"present": patient["known"]["findings"]["present"]}}, local
    )
    truth, asked = set(patient["truth"]), []
    for _ in range(MAX_TURNS):
        response = post(client, response)
        if response["status"] == "completed":
            break
        item = response["contained"][0]["item"][-1]
        asked.append(item["linkId"])
        response["item"].append(yes_no(item["linkId"], item["linkId"] in truth))
    assert response["status"] == "completed"
    assert tuple(asked) == rest.asked
    parts = extension(response)
    assert parts["urgency"][0]["valueCode"] == rest.last["urgency"]["level"]
    assert [p["extension"][0]["valueCode"] for p in parts.get("redFlag", [])] == [
        f["id"] for f in rest.last["red_flags"]
    ]
    assert [p["extension"][0]["valueCode"] for p in parts.get("cause", [])] == [c["id"] for c in rest.last["causes"]]
    assert parts["interviewComplete"][0]["valueBoolean"] is True
    assert parts["askedEnoughReason"][0]["valueString"] == rest.last["interview"]["asked_enough_reason"]


def test_parameters_input_and_an_unknown_answer_are_not_asked_again(client: FlaskClient, local: str) -> None:
    record = {"patient": {"age": 40, "sex": "male"}, "complaint": {"locations": ["buttock"]}, "findings": {}}
    response = {**copy.deepcopy(START), "item": answers(record, local)}
    wrapped = {"resourceType": "Parameters", "parameter": [{"name": "questionnaire-response", "resource": response}]}
    first = post(client, wrapped)
    item = first["contained"][0]["item"][-1]["linkId"]
    first["item"].append(
        {
            "linkId": item,
            "answer": [
                {"valueCoding": {"system": "http://terminology.hl7.org/CodeSystem/v3-NullFlavor", "code": "UNK"}}
            ],
        }
    )
    second = post(client, first)
    assert second["status"] == "completed" or second["contained"][0]["item"][-1]["linkId"] != item


def test_the_capability_statement_declares_the_operation(client: FlaskClient) -> None:
    (questionnaire,) = [
        r for r in client.get("/fhir/metadata").get_json()["rest"][0]["resource"] if r["type"] == "Questionnaire"
    ]
    assert questionnaire["operation"][0]["definition"].endswith("/OperationDefinition/Questionnaire-next-question")


SECRET = 4242  # an answer value that must never come back in an error
OK = {"patient": {"age": 30, "sex": "male"}, "complaint": {"locations": ["buttock"]}, "findings": {}}
PREGNANT_AT_20 = [
    {"linkId": "pregnant", "answer": [{"valueBoolean": True}]},
    {"linkId": "gestational_week", "answer": [{"valueInteger": 20}]},
]
BAD: list[tuple[str, Any, int]] = [  # what, body (or a function of the local code system), status
    ("not an object", [1, 2], 400),
    ("not a QuestionnaireResponse", {"resourceType": "Patient", "id": "p"}, 400),
    ("no status", {"resourceType": "QuestionnaireResponse"}, 400),
    ("another Questionnaire", {**START, "contained": [], "questionnaire": "http://other.example/Q/1"}, 400),
    ("an unknown item", {**START, "item": [{"linkId": "colour", "answer": [{"valueInteger": SECRET}]}]}, 400),
    (
        "two ages",
        {**START, "item": [{"linkId": "age", "answer": [{"valueInteger": 30}, {"valueInteger": SECRET}]}]},
        400,
    ),
    ("an absurd age", {**START, "item": [{"linkId": "age", "answer": [{"valueInteger": SECRET * 10**6}]}]}, 400),
    ("Parameters without the response", {"resourceType": "Parameters", "parameter": []}, 400),
    (
        "a contained Questionnaire without an id, not referenced",
        {
            "resourceType": "QuestionnaireResponse",
            "status": "in-progress",
            "contained": [{"resourceType": "Questionnaire", "status": "active"}],
        },
        400,
    ),
    (
        "a reference to a contained Questionnaire without an id",
        {**START, "contained": [{"resourceType": "Questionnaire", "status": "active"}], "questionnaire": "#None"},
        400,
    ),
    ("an age as text", {**START, "item": [{"linkId": "age", "answer": [{"valueString": str(SECRET)}]}]}, 400),
    ("a yes as text", {**START, "item": [{"linkId": "fever", "answer": [{"valueString": f"yes {SECRET}"}]}]}, 400),
    (
        "a yes from another code system",
        {
            **START,
            "item": [{"linkId": "fever", "answer": [{"valueCoding": {"system": "http://x.example", "code": "Y"}}]}],
        },
        400,
    ),
    (
        "an unknown answer code",
        {**START, "item": [{"linkId": "fever", "answer": [{"valueCoding": {"system": YES_NO, "code": "maybe"}}]}]},
        400,
    ),
    (
        "a pregnancy as a coding",
        {**START, "item": [{"linkId": "pregnant", "answer": [{"valueCoding": {"system": YES_NO, "code": "Y"}}]}]},
        400,
    ),
    ("a pregnant male", lambda local: {**START, "item": [*answers(OK, local), *PREGNANT_AT_20]}, 422),
    (
        "an age out of range",
        lambda local: {**START, "item": answers({**OK, "patient": {"age": SECRET, "sex": "male"}}, local)},
        422,
    ),
]


def quoted(response: Any) -> str:
    """What a problem says, but its random request id (a hex id held '4242' once, by chance)."""
    return json.dumps({key: value for key, value in response.get_json().items() if key != "request_id"})


@pytest.mark.parametrize(("what", "body", "status"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_a_problem_that_quotes_nothing(what, body, status, client: FlaskClient, local: str) -> None:
    response = client.post(NEXT, json=body(local) if callable(body) else body)
    assert response.status_code == status, response.get_json()
    assert response.mimetype == "application/problem+json"
    assert str(SECRET) not in quoted(response)


@pytest.mark.parametrize(
    ("item", "says"),
    [
        ("age", "'age' must be answered with a valueInteger"),
        ("fever", "'fever' must be answered http://terminology.hl7.org/CodeSystem/v2-0136|Y"),
        ("pregnant", "'pregnant' must be answered with a valueBoolean"),
        ("locations", "'locations' must be answered with a valueCoding from"),
        ("sex", "'sex' must be answered with a valueCoding from http://hl7.org/fhir/administrative-gender"),
    ],
)
def test_an_answer_of_the_wrong_kind_is_refused_with_what_the_item_takes(item, says, client: FlaskClient) -> None:
    """Skipped, it would be lost: the item counts as asked, so a "yes" to a red flag never came back."""
    body = {**START, "item": [{"linkId": item, "answer": [{"valueString": "yes"}]}]}
    response = client.post(NEXT, json=body)
    assert response.status_code == 400 and says in response.get_json()["detail"]


def test_a_record_that_breaks_the_contract_is_a_422_keyed_by_the_items_that_gave_it(
    client: FlaskClient, local: str
) -> None:
    asked = post(client, START)  # every item about the patient and the pain: locations asked
    items = [
        {"linkId": "age", "answer": [{"valueInteger": SECRET}]},
        {"linkId": "sex", "answer": [{"valueCoding": {"system": GENDER, "code": "male"}}]},
        *PREGNANT_AT_20,
    ]
    response = client.post(NEXT, json={**asked, "item": items})
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {
        "QuestionnaireResponse.item.where(linkId='age')",  # out of range
        "QuestionnaireResponse.item.where(linkId='pregnant')",  # a pregnant male
        "QuestionnaireResponse.item.where(linkId='locations')",  # asked, not answered
    }
    assert str(SECRET) not in quoted(response)


@pytest.mark.parametrize(
    ("item", "answer"),
    [
        ("severity", {"valueInteger": 11}),
        ("sex", {"valueCoding": {"system": GENDER, "code": "F"}}),
        ("locations", {"valueCoding": {"code": "knee"}}),
    ],
)
def test_an_answer_outside_the_contract_is_a_422_naming_its_item_even_beside_a_red_flag(
    client: FlaskClient, item: str, answer: dict[str, Any]
) -> None:
    """Unlike an EHR's record (not used, the rest assessed), the patient's app can ask again:
    it is told which item to put right, not given an assessment that left the answer out."""
    given = {"age": {"valueInteger": 40}, "sex": {"valueCoding": {"system": GENDER, "code": "female"}}}
    given["locations"] = {"valueCoding": {"code": "buttock"}}
    items = [{"linkId": link, "answer": [value]} for link, value in {**given, item: answer}.items()]
    items.append(yes_no("saddle_anesthesia", True))
    response = client.post(NEXT, json={**START, "item": items})
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {f"QuestionnaireResponse.item.where(linkId='{item}')"}


def test_a_coding_that_names_no_system_is_read_by_its_code(client: FlaskClient, local: str) -> None:
    items = [
        {"linkId": "age", "answer": [{"valueInteger": 40}]},
        {"linkId": "sex", "answer": [{"valueCoding": {"code": "female"}}]},
        {"linkId": "locations", "answer": [{"valueCoding": {"code": "buttock"}}]},
        {"linkId": "saddle_anesthesia", "answer": [{"valueCoding": {"code": "Y"}}]},
    ]
    answer = post(client, {**START, "item": items})
    assert answer["status"] == "completed"  # a red flag: an emergency, nothing more to ask
    assert extension(answer)["urgency"][0]["valueCode"] == "emergency"


def test_another_resource_is_refused_by_its_type_in_plain_words(client: FlaskClient) -> None:
    response = client.post(NEXT, json={"resourceType": "Patient", "id": "p"})
    assert response.status_code == 400
    assert response.get_json()["detail"] == (
        "QuestionnaireResponse must be a FHIR R4 QuestionnaireResponse (resourceType 'QuestionnaireResponse')"
    )


def test_a_body_that_is_not_json_is_415(client: FlaskClient) -> None:
    response = client.post(NEXT, data="<QuestionnaireResponse/>", content_type="application/fhir+xml")
    assert response.status_code == 415 and response.mimetype == "application/problem+json"


def test_an_item_nested_under_an_answer_is_refused_not_counted_as_asked(client: FlaskClient) -> None:
    """Counted as asked and read past, the "yes" to saddle anaesthesia was never asked again:
    the interview ended in self-care, where the same answer at its place is an emergency."""
    items = [
        {"linkId": "age", "answer": [{"valueInteger": 40, "item": [yes_no("saddle_anesthesia", True)]}]},
        {"linkId": "sex", "answer": [{"valueCoding": {"system": GENDER, "code": "male"}}]},
        {"linkId": "locations", "answer": [{"valueCoding": {"code": "buttock"}}]},
    ]
    response = client.post(NEXT, json={**START, "item": items})
    assert response.status_code == 400
    assert "item 'age' has items nested under an answer" in response.get_json()["detail"]


def pregnant_without_a_week(local: str) -> list[dict[str, Any]]:
    """The first answers of a pregnant patient who leaves the week unanswered."""
    return [
        {"linkId": "age", "answer": [{"valueInteger": 29}]},
        {"linkId": "sex", "answer": [{"valueCoding": {"system": GENDER, "code": "female"}}]},
        {"linkId": "pregnant", "answer": [{"valueBoolean": True}]},
        {"linkId": "locations", "answer": [{"valueCoding": {"system": local, "code": "buttock"}}]},
    ]


@pytest.mark.parametrize(("finding", "level"), [("fluid_leakage", "emergency"), ("vaginal_bleeding", "emergency")])
def test_a_pregnant_patient_who_does_not_know_her_week_is_answered_for_the_week_that_needs_most_care(
    client: FlaskClient, local: str, finding: str, level: str
) -> None:
    """Every call was a 422 asking for the week, so she could never be assessed; bleeding is
    urgent before week 24 and an emergency from it, so not knowing the week means now."""
    asked = post(client, START)
    items = [*pregnant_without_a_week(local), yes_no(finding, True)]
    answer = post(client, {**asked, "item": items})
    assert answer["status"] == "completed"
    assert extension(answer)["urgency"][0]["valueCode"] == level


def test_without_her_week_and_without_a_red_flag_the_interview_goes_on(client: FlaskClient, local: str) -> None:
    asked = post(client, START)
    items = pregnant_without_a_week(local)
    answer = post(client, {**asked, "item": items})
    assert answer["status"] == "in-progress"  # the next question, not a 422


def test_without_her_week_she_is_asked_what_every_stretch_of_pregnancy_needs(client: FlaskClient, local: str) -> None:
    """Reduced fetal movements matter from week 24 only; asked the questions of the earliest
    stretch alone, she was never asked about them and the interview ended in self-care."""
    answer, asked = walk(
        client,
        post(client, {**post(client, START), "item": pregnant_without_a_week(local)}),
        # "no" to every finding; an item about the pain put again (its severity) left blank again
        lambda f: {"linkId": f} if f in ABOUT_THE_PAIN else yes_no(f, False),
    )
    assert answer["status"] == "completed"
    assert "reduced_fetal_movements" in asked and "one_sided_lower_abdominal_pain" in asked


@pytest.mark.parametrize("authored", ["9999", "9999-12", "9999-12-31", "2016-12-31T23:59:60Z", "9999-12-31T23:59:60Z"])
def test_a_response_authored_at_the_end_of_year_9999_is_read(client: FlaskClient, authored: str) -> None:
    """A valid FHIR date whose end is past what Python's datetime holds was a 500, and so was a
    leap second (``23:59:60``), which the FHIR library keeps as text."""
    response = client.post(
        NEXT, json={**START, "authored": authored}, headers={"Content-Type": "application/fhir+json"}
    )
    assert response.status_code == 200, response.get_json()


def _denied_pregnancy_with_a_week(local: str, sex: str, finding: str) -> list[dict[str, Any]]:
    return [
        {"linkId": "age", "answer": [{"valueInteger": 40}]},
        {"linkId": "sex", "answer": [{"valueCoding": {"system": GENDER, "code": sex}}]},
        {"linkId": "pregnant", "answer": [{"valueBoolean": False}]},
        {"linkId": "gestational_week", "answer": [{"valueInteger": 30}]},
        {"linkId": "locations", "answer": [{"valueCoding": {"system": local, "code": "buttock"}}]},
        yes_no(finding, True),
    ]


def test_a_week_left_over_after_pregnancy_was_answered_no_hides_no_red_flag(client: FlaskClient, local: str) -> None:
    """The week made a pregnancy the patient had denied: a man's saddle anaesthesia became a
    422 blaming 'pregnant'."""
    items = _denied_pregnancy_with_a_week(local, "male", "saddle_anesthesia")
    answer = post(client, {**post(client, START), "item": items})
    assert answer["status"] == "completed" and extension(answer)["urgency"][0]["valueCode"] == "emergency"


def test_a_week_left_over_after_pregnancy_was_answered_no_makes_no_pregnancy(client: FlaskClient, local: str) -> None:
    """Bleeding at 30 weeks of a pregnancy is an emergency; with the pregnancy denied it is not."""
    items = _denied_pregnancy_with_a_week(local, "female", "vaginal_bleeding")
    answer = post(client, {**post(client, START), "item": items})
    assert answer["status"] == "in-progress"  # asked on, not sent to the emergency department as pregnant


def test_a_dont_know_answer_opens_the_other_ways_to_the_same_red_flag(client: FlaskClient, local: str) -> None:
    """Fever with a nerve deficit is an emergency; numbness is the first way to the deficit asked.
    Answered "don't know", the interview ended there (completed, urgent) and tingling, the other
    way, was never asked (fourth attack round)."""
    unknown = {"valueCoding": {"system": "http://terminology.hl7.org/CodeSystem/v3-NullFlavor", "code": "UNK"}}
    record = {"patient": {"age": 40, "sex": "male"}, "complaint": {"locations": ["buttock"]}, "findings": {}}
    start = post(client, {**copy.deepcopy(START), "item": [*answers(record, local), yes_no("fever", True)]})
    answer, asked = walk(
        client,
        start,
        lambda f: {"linkId": f, "answer": [unknown]} if f == "numbness" else yes_no(f, f == "tingling"),
    )
    assert "numbness" in asked and "tingling" in asked
    assert extension(answer)["urgency"][0]["valueCode"] == "emergency"


def test_the_rest_door_asks_the_other_ways_once_one_is_not_known(client: FlaskClient) -> None:
    record = {
        "patient": {"age": 40, "sex": "male"},
        "complaint": {"locations": ["buttock"]},
        "findings": {"present": ["fever"], "absent": [], "not_known": ["numbness"]},
    }
    answer = client.post("/v1/assessments", json=record).get_json()
    asked = [q["finding"] for q in answer["questions"]]
    assert "numbness" not in asked and "tingling" in asked
    record["findings"]["absent"] = ["numbness"]
    refused = client.post("/v1/assessments", json=record)
    assert refused.status_code == 422 and "$.findings.not_known" in refused.get_json()["errors"]


def test_a_dont_know_to_leg_weakness_still_asks_whether_it_is_getting_worse(client: FlaskClient, local: str) -> None:
    """Worsening weakness is asked only after a "yes" to weakness; a "don't know" was taken as
    the "no" that drops it, and a patient whose leg was getting weaker ended "completed" at
    self-care, not the emergency of a progressive deficit (fifth attack round)."""
    unknown = {"valueCoding": {"system": "http://terminology.hl7.org/CodeSystem/v3-NullFlavor", "code": "UNK"}}
    record = {"patient": {"age": 45, "sex": "male"}, "complaint": {"locations": ["buttock"]}, "findings": {}}
    start = post(client, {**copy.deepcopy(START), "item": answers(record, local)})
    answer, asked = walk(
        client,
        start,
        lambda f: (
            {"linkId": f, "answer": [unknown]} if f == "leg_weakness" else yes_no(f, f == "progressive_leg_weakness")
        ),
    )
    assert "progressive_leg_weakness" in asked
    assert extension(answer)["urgency"][0]["valueCode"] == "emergency"
    rest = {**record, "findings": {"present": [], "absent": ["leg_weakness"]}}
    questions = client.post("/v1/assessments", json=rest).get_json()["questions"]
    assert "progressive_leg_weakness" not in [q["finding"] for q in questions]


def test_an_interview_ended_on_dont_know_does_not_say_everything_was_answered(client: FlaskClient, kb) -> None:
    """Answering "don't know" to every question ended with "All the questions that matter ...
    have been answered", though nothing was ruled out (fifth attack round)."""
    record = {
        "patient": {"age": 40, "sex": "male"},
        "complaint": {"locations": ["low_back"], "onset": "gradual", "severity": 3, "course": "stable", "side": "left"},
    }  # the complaint in full: a field left out would be asked too (interview.record_fields)

    def ask(findings: dict[str, list[str]]) -> dict:
        return client.post("/v1/assessments", json={**record, "findings": findings}).get_json()

    for key in ("not_known", "absent"):
        findings: dict[str, list[str]] = {"present": [], "absent": [], "not_known": []}
        while questions := ask(findings)["questions"]:
            findings[key].append(questions[0]["finding"])
        interview = ask(findings)["interview"]
        stop = "unanswered" if key == "not_known" else "answered"
        assert interview["complete"] and interview["asked_enough_reason"] == kb.interview.stop_reasons[stop]


def _about(sex: str | None, pregnant: bool | None, local: str) -> list[dict[str, Any]]:
    items = [
        {"linkId": "age", "answer": [{"valueInteger": 30}]},
        {"linkId": "locations", "answer": [{"valueCoding": {"system": local, "code": "groin"}}]},
        {"linkId": "side", "answer": [{"valueCoding": {"system": local, "code": "left"}}]},
        {"linkId": "onset", "answer": [{"valueCoding": {"system": local, "code": "sudden"}}]},
        {"linkId": "severity", "answer": [{"valueInteger": 8}]},
    ]
    if sex is not None:
        items.append({"linkId": "sex", "answer": [{"valueCoding": {"system": GENDER, "code": sex}}]})
    if pregnant is not None:
        items.append({"linkId": "pregnant", "answer": [{"valueBoolean": pregnant}]})
    return items


def _intake_findings(client: FlaskClient) -> dict[str, dict[str, Any]]:
    questionnaire = client.get("/fhir/Questionnaire/buttock-pain-intake").get_json()
    group = next(i for i in questionnaire["item"] if i["linkId"] == "findings")
    return {item["linkId"]: item for item in group["item"]}


@pytest.mark.parametrize("literal", [True, False], ids=["not-equal-holds-unanswered", "not-equal-needs-an-answer"])
@pytest.mark.parametrize(
    ("sex", "pregnant"),
    [
        ("female", False),
        ("female", None),
        (None, False),
        ("unknown", False),
        ("other", None),
        ("female", True),
        ("male", False),
    ],
)
def test_the_ectopic_questions_are_shown_to_everyone_who_is_not_male(
    client: FlaskClient, local: str, sex: str | None, pregnant: bool | None, literal: bool
) -> None:
    """They were enabled only when ``pregnant`` = true, yet the possible-pregnancy red flags
    need them from a woman *not* known to be pregnant: an SDC renderer hid them from her."""
    items, given = _intake_findings(client), _about(sex, pregnant, local)
    for finding in ("one_sided_lower_abdominal_pain", "vaginal_bleeding"):
        assert shown(items[finding], given, literal=literal) is (sex != "male"), finding
    assert shown(items["reduced_fetal_movements"], given, literal=literal) is (pregnant is True)


def test_every_finding_a_possible_pregnancy_red_flag_needs_is_shown_to_a_woman_not_pregnant(
    client: FlaskClient, local: str, kb
) -> None:
    items = _intake_findings(client)
    needed = {
        f
        for rule in kb.rules.values()
        if "pregnancy_possible" in rule.when.present
        for f in rule.when.present
        if f in items
    }
    assert {"one_sided_lower_abdominal_pain", "vaginal_bleeding"} <= needed
    for literal in (True, False):
        assert all(shown(items[f], _about("female", False, local), literal=literal) for f in needed)


def test_a_renderer_that_hides_disabled_items_lets_a_woman_not_known_pregnant_reach_the_emergency(
    client: FlaskClient, local: str
) -> None:
    """A woman of 30 answering ``pregnant`` no, whose truth is one-sided lower-tummy pain,
    bleeding and fainting, answering only the items a conformant renderer shows: the form
    completed at routine, where her answers mean emergency."""
    truth = {"one_sided_lower_abdominal_pain", "vaginal_bleeding", "fainting_or_dizziness"}
    answer = post(client, {**post(client, START), "item": _about("female", False, local)})
    for _ in range(60):
        if answer["status"] == "completed":
            break
        item = answer["contained"][0]["item"][-1]
        if shown(item, answer["item"], literal=False):
            answer["item"].append(yes_no(item["linkId"], item["linkId"] in truth))
        answer = post(client, answer)
    assert answer["status"] == "completed"
    assert extension(answer)["urgency"][0]["valueCode"] == "emergency"


def test_an_onset_left_unknown_that_could_raise_the_urgency_is_put_again_once(client: FlaskClient, local: str) -> None:
    """An 80-year-old who cannot bear weight answers the onset "unknown": once no finding
    question is left the onset item is put again (sudden would make it an emergency); a
    "sudden" then gives the emergency, a second "unknown" completes the form at urgent."""
    record = {
        "patient": {"age": 80, "sex": "male"},
        "complaint": {"locations": ["hip"], "onset": "unknown", "course": "worsening"},
        "findings": {},
    }
    again = post(client, {**copy.deepcopy(START), "item": answers(record, local)})
    asked = []
    for _ in range(MAX_TURNS):
        assert again["status"] == "in-progress"
        finding = again["contained"][0]["item"][-1]["linkId"]
        if finding == "onset":
            break
        asked.append(finding)
        again = post(client, {**again, "item": [*again["item"], yes_no(finding, finding == "cannot_bear_weight")]})
    assert "cannot_bear_weight" in asked  # the findings first, then the onset
    onset = again["contained"][0]["item"][-1]
    assert onset["type"] == "choice"
    assert {"url": "http://localhost/fhir/StructureDefinition/asked-again", "valueBoolean": True} in onset["extension"]
    assert [i["linkId"] for i in again["contained"][0]["item"]].count("onset") == 1  # a link id is once in a form
    assert "onset" not in {i["linkId"] for i in again["item"]}  # the "unknown" taken out: a new question

    def answered(code: str) -> dict[str, Any]:
        item = {"linkId": "onset", "answer": [{"valueCoding": {"system": local, "code": code}}]}
        return post(client, {**again, "item": [*again["item"], item]})

    sudden = answered("sudden")
    assert sudden["status"] == "completed"
    assert extension(sudden)["urgency"][0]["valueCode"] == "emergency"
    unknown = answered("unknown")
    assert unknown["status"] == "completed"
    parts = extension(unknown)
    assert parts["urgency"][0]["valueCode"] == "urgent"
    assert parts["askedEnoughReason"][0]["valueString"].startswith("There are no more questions to ask, but some")
    blank = post(client, again)  # left blank the second time: the same
    assert blank["status"] == "completed" and extension(blank)["urgency"][0]["valueCode"] == "urgent"


def test_with_the_sex_left_blank_two_fields_a_red_flag_needs_together_are_put_again(
    client: FlaskClient, local: str
) -> None:
    """A sudden onset and severe pain with vascular disease is an aneurysm. With the sex left
    blank (it is optional on the about page), the fields were tried one at a time, neither was
    put again, and the form completed at routine (eighth attack round)."""

    def coded(link_id: str, code: str) -> dict[str, Any]:
        return {"linkId": link_id, "answer": [{"valueCoding": {"system": local, "code": code}}]}

    items = [
        {"linkId": "age", "answer": [{"valueInteger": 62}]},
        coded("locations", "hip"),
        coded("side", "left"),
        coded("course", "recurrent"),
        {"linkId": "duration_days", "answer": [{"valueDecimal": 2}]},
    ]

    def reply(finding: str) -> dict[str, Any]:
        if finding == "onset":
            return coded("onset", "sudden")
        return (
            {"linkId": finding} if finding in ABOUT_THE_PAIN else yes_no(finding, finding == "cardiovascular_disease")
        )

    answer, asked = walk(client, post(client, {**post(client, START), "item": items}), reply)
    assert "cardiovascular_disease" in asked
    assert asked[-2:] == ["onset", "severity"]  # both put again: the onset first, then the severity
    assert extension(answer)["urgency"][0]["valueCode"] == "routine"  # the severity left blank again
