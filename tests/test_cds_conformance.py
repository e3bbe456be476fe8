"""Conformance an EHR vendor's certification checks: CDS Hooks 2.0 card shapes, coded referrals,
override reasons and their feedback, FHIR metadata, canonical URLs and CORS."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.codesystem import CodeSystem
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.servicerequest import ServiceRequest
from flask.testing import FlaskClient

from service.app import create_app
from tests.cds_card_schema import conformance_problems
from tests.cds_tokens import BASE, Ehr
from tests.test_cds_hooks import LOCAL, SNOMED, bundle, call, hook_request, observation, patient
from tests.test_order_sign import IBUPROFEN, order, order_sign, pregnant_at

PUBLIC = "https://cds.hospital.example.org"
FEEDBACK = "/cds-services/buttock-pain-triage/feedback"


CASES = {
    "emergency": {
        "patient": patient(gender="male"),
        "observations": bundle(observation(SNOMED, "267064002", "u1", valueBoolean=True)),
    },
    "self_care": {"patient": patient(gender="male")},
    "missing_age": {"patient": {"resourceType": "Patient", "id": "1288992", "gender": "female"}},
    "unmapped": {"patient": patient(), "observations": bundle(observation(SNOMED, "999999999", "x9"))},
    "pregnancy_fever": {
        "patient": patient(birth="1995-01-01"),
        "observations": bundle(
            observation("http://loinc.org", "49051-6", "g1", valueQuantity={"value": 30, "unit": "wk"}),
            observation(SNOMED, "386661006", "f1", valueBoolean=True),
        ),
    },
}


@pytest.mark.parametrize("case", CASES)
def test_every_triage_response_has_the_cds_hooks_2_shapes_and_no_empty_value(
    cds: FlaskClient, ehr: Ehr, case: str
) -> None:
    response = call(cds, ehr, hook_request(CASES[case]))
    assert response.status_code == 200
    assert conformance_problems(response.get_json()) == []


def test_the_card_schema_rejects_what_the_specification_forbids() -> None:
    card = {
        "uuid": "not-a-uuid",
        "summary": "x" * 141,
        "indicator": "critical",
        "source": {"label": "s", "url": "https://x.example"},
        "suggestions": [{"label": "l", "uuid": str(uuid.uuid4()), "actions": [{"type": "delete", "description": "d"}]}],
        "links": [{"label": "l", "url": "https://x.example", "type": "iframe"}],
        "extension": {"red_flags": []},
    }
    problems = " | ".join(conformance_problems({"cards": [card]}))
    for expected in (
        "is not a 'uuid'",
        "is too long",
        "'resourceId' is a required property",
        "'selectionBehavior' is a required property",
        "'overrideReasons' is a required property",
        "'iframe' is not one of",
        "extension.red_flags: empty",
    ):
        assert expected in problems


def test_the_referral_is_a_coded_service_request_per_specialty(cds: FlaskClient, ehr: Ehr) -> None:
    summary = call(cds, ehr, hook_request(CASES["emergency"])).get_json()["cards"][0]
    assert summary["selectionBehavior"] == "at-most-one"
    (suggestion,) = summary["suggestions"]
    requests = [ServiceRequest.model_validate(a["resource"]) for a in suggestion["actions"]]
    specialties = {r.performerType.coding[0].code: r.performerType.coding[0].system for r in requests}
    assert specialties == {"394576009": SNOMED, "spinal_surgery": LOCAL}  # emergency department; spinal surgery
    for request in requests:
        assert request.priority == "stat" and request.subject.reference == "Patient/1288992"
        reason = request.reasonCode[0]
        assert (reason.coding[0].system, reason.coding[0].code) == (SNOMED, "267064002")  # retention of urine
        assert "ESC-CES-RETENTION" in request.note[0].text


def test_warning_and_critical_cards_offer_hl7_override_reasons(cds: FlaskClient, ehr: Ehr) -> None:
    for case in ("emergency", "missing_age", "pregnancy_fever"):
        cards = call(cds, ehr, hook_request(CASES[case])).get_json()["cards"]
        alerting = [card for card in cards if card["indicator"] in ("warning", "critical")]
        assert alerting, case
        for card in alerting:
            systems = {r["system"] for r in card["overrideReasons"]}
            assert systems == {"http://terminology.hl7.org/CodeSystem/v3-ActCode"}


def test_cards_speak_to_clinicians_not_patients(cds: FlaskClient, ehr: Ehr, kb) -> None:
    summary = call(cds, ehr, hook_request(CASES["emergency"])).get_json()["cards"][0]
    assert "suspected cauda equina syndrome" in summary["detail"]
    assert kb.levels["emergency"].advice not in summary["detail"]  # "Go to an emergency department now…"
    assert kb.rules["ESC-CES-RETENTION"].reason not in summary["detail"]


def _override(code: str, system: str = "http://terminology.hl7.org/CodeSystem/v3-ActCode") -> dict[str, Any]:
    return {
        "card": str(uuid.uuid4()),
        "outcome": "overridden",
        "outcomeTimestamp": "2026-11-21T10:00:00.123+01:00",
        "overrideReason": {"reason": {"system": system, "code": code, "display": "x"}, "userComment": "seen"},
    }


def _metric(client: FlaskClient, sample: str) -> float:
    text = client.get("/metrics").get_data(as_text=True)
    return next((float(line.split()[-1]) for line in text.splitlines() if line.startswith(sample)), 0.0)


def test_feedback_counts_overrides_by_reason_code(cds: FlaskClient, ehr: Ehr) -> None:
    therapy, other = 'cds_hooks_overrides_total{reason="1"}', 'cds_hooks_overrides_total{reason="other"}'
    before = (_metric(cds, therapy), _metric(cds, other))
    body = {"feedback": [_override("1"), _override("1"), _override("1", system="https://elsewhere.example/cs")]}
    response = cds.post(FEEDBACK, json=body, headers=ehr.header(audience=f"{BASE}{FEEDBACK}"))
    assert response.status_code == 200
    assert (_metric(cds, therapy), _metric(cds, other)) == (before[0] + 2, before[1] + 1)


@pytest.mark.parametrize(
    "stamp",
    [
        "2026-11-21",
        "2026-11-21T10:00:00",
        "21/11/2026 10:00",
        "2026-11-21T25:00:00Z",
        "2026-11-21T10:00:00Z\n",  # `$` alone matches before a final newline
        "2026-02-30T10:00:00Z",  # the pattern allows it; the calendar does not
        "2025-02-29T10:00:00Z",
    ],
)
def test_feedback_timestamps_must_be_fhir_instants(cds: FlaskClient, ehr: Ehr, stamp: str) -> None:
    body = {"feedback": [{"card": str(uuid.uuid4()), "outcome": "accepted", "outcomeTimestamp": stamp}]}
    response = cds.post(FEEDBACK, json=body, headers=ehr.header(audience=f"{BASE}{FEEDBACK}"))
    assert response.status_code == 422
    assert "$.feedback[0].outcomeTimestamp" in response.get_json()["errors"]


@pytest.mark.parametrize("card", ["<the card uuid>", f"{uuid.uuid4()}\n"])
def test_feedback_must_name_a_card_by_its_uuid(cds: FlaskClient, ehr: Ehr, card: str) -> None:
    body = {"feedback": [{"card": card, "outcome": "accepted", "outcomeTimestamp": "2026-11-21T10:00:00Z"}]}
    response = cds.post(FEEDBACK, json=body, headers=ehr.header(audience=f"{BASE}{FEEDBACK}"))
    assert response.status_code == 422
    assert response.get_json()["errors"] == {
        "$.feedback[0].card": ["Must be the uuid of a card this service returned."]
    }


def test_the_medication_service_takes_feedback_too(cds: FlaskClient, ehr: Ehr) -> None:
    url = "/cds-services/buttock-pain-medication-safety/feedback"
    body = {"feedback": [_override("2")]}
    assert cds.post(url, json=body, headers=ehr.header(audience=f"{BASE}{url}")).status_code == 200


def test_fhir_metadata_is_a_capability_statement_of_what_is_served(cds: FlaskClient, kb) -> None:
    response = cds.get("/fhir/metadata")
    assert response.status_code == 200 and response.mimetype == "application/fhir+json"
    statement = CapabilityStatement.model_validate(response.get_json())
    assert statement.kind == "instance" and statement.software.version == kb.version
    (rest,) = statement.rest
    served = {(r.type, r.interaction[0].code) for r in rest.resource}
    assert served == {("Questionnaire", "read"), ("CodeSystem", "read")}
    assert statement.url == f"{BASE}/fhir/metadata" and statement.experimental is True


def test_published_resources_say_who_published_them_and_on_what_knowledge(cds: FlaskClient, kb) -> None:
    questionnaire = Questionnaire.model_validate(cds.get("/fhir/Questionnaire/buttock-pain-intake").get_json())
    code_system = CodeSystem.model_validate(cds.get("/fhir/CodeSystem/buttock-pain").get_json())
    for resource in (questionnaire, code_system):
        assert resource.publisher and resource.status == "active" and resource.experimental is True
        assert resource.version == kb.version and str(resource.date) == kb.version[:7].replace(".", "-")
    assert all(c.definition for c in code_system.concept)
    assert {"spinal_surgery", "physiotherapy"} <= {c.code for c in code_system.concept}


def test_canonical_urls_and_links_derive_from_the_public_base_url(ehr: Ehr, tmp_path) -> None:
    clients = ehr.write_clients(tmp_path / "clients.json")
    client = create_app({"TESTING": True, "CDS_CLIENTS": str(clients), "PUBLIC_BASE_URL": PUBLIC}).test_client()
    questionnaire = client.get("/fhir/Questionnaire/buttock-pain-intake").get_json()
    assert questionnaire["url"] == f"{PUBLIC}/fhir/Questionnaire/buttock-pain-intake"
    assert client.get("/fhir/CodeSystem/buttock-pain").get_json()["url"] == f"{PUBLIC}/fhir/CodeSystem/buttock-pain"
    served = [
        client.get(path).get_data(as_text=True)
        for path in ("/cds-services", "/fhir/metadata", "/fhir/Questionnaire/buttock-pain-intake")
    ]
    triage = f"{PUBLIC}/cds-services/buttock-pain-triage"
    body = hook_request(
        {"patient": patient(), "observations": bundle(observation(SNOMED, "386661006", "f", valueBoolean=True))}
    )
    cards = client.post(
        "/cds-services/buttock-pain-triage", json=body, base_url=PUBLIC, headers=ehr.header(audience=triage)
    )
    served.append(cards.get_data(as_text=True))
    assert all(".invalid" not in text for text in served)
    card = cards.get_json()["cards"][0]
    assert card["source"]["url"] == f"{PUBLIC}/v1/knowledge-base"
    links = [link["url"] for c in cards.get_json()["cards"] for link in c.get("links", [])]
    assert links and all(url.startswith(PUBLIC) for url in links)


def test_without_a_public_base_url_fhir_reads_answer_under_the_requested_host(client: FlaskClient) -> None:
    response = client.get("/fhir/Questionnaire/buttock-pain-intake", base_url="https://fhir.example.org")
    assert response.get_json()["url"] == "https://fhir.example.org/fhir/Questionnaire/buttock-pain-intake"
    assert ".invalid" not in json.dumps(client.get("/fhir/CodeSystem/buttock-pain").get_json())


def test_an_order_sign_answer_is_conformant_too(cds: FlaskClient, ehr: Ehr) -> None:
    assert order_sign(cds, ehr, pregnant_at(30), order("ibu", IBUPROFEN))["cards"]  # order_sign checks the shapes


def test_cors_answers_only_the_allowed_origins() -> None:
    client = create_app({"TESTING": True, "CORS_ORIGINS": ("https://app.example.org",)}).test_client()
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
    allowed = client.options(
        "/cds-services/buttock-pain-triage", headers={"Origin": "https://app.example.org", **preflight}
    )
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://app.example.org"
    assert allowed.status_code == 204 and allowed.data == b"" and "Content-Type" not in allowed.headers
    assert "POST" in allowed.headers["Access-Control-Allow-Methods"]
    assert "Authorization" in allowed.headers["Access-Control-Allow-Headers"]
    other = client.options("/cds-services/buttock-pain-triage", headers={"Origin": "https://evil.example", **preflight})
    assert "Access-Control-Allow-Origin" not in other.headers
    simple = client.get("/cds-services", headers={"Origin": "https://app.example.org"})
    assert simple.headers["Access-Control-Allow-Origin"] == "https://app.example.org"
    assert "Origin" in simple.headers["Vary"]


def test_cors_is_off_by_default(client: FlaskClient) -> None:
    response = client.get("/cds-services", headers={"Origin": "https://app.example.org"})
    assert "Access-Control-Allow-Origin" not in response.headers
