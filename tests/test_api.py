"""HTTP behaviour: the contract's endpoints, status codes and problem+json errors."""

from __future__ import annotations

import gzip
import json
import logging

import pytest

from service.web.components import components
from tests.conftest import make_record

PROBLEM = "application/problem+json"
MARKER = "Zebra-Quokka-4711"  # a value that must never come back in an error or a log


def post(client, body, *, query: str = "", **kwargs):
    if isinstance(body, dict | list):
        return client.post(f"/v1/assessments{query}", json=body, **kwargs)
    return client.post(f"/v1/assessments{query}", data=body, content_type="application/json", **kwargs)


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status
    assert response.mimetype == PROBLEM
    body = response.get_json(force=True)
    assert {"type", "title", "status", "detail"} <= set(body)
    assert body["status"] == status
    assert "Traceback" not in response.get_data(as_text=True)
    return body


def test_a_valid_record_is_assessed(client, kb) -> None:
    response = post(client, make_record(findings={"present": ["pain_radiates_below_knee"]}))
    assert response.status_code == 200
    body = response.get_json()
    assert body["knowledge_base"] == {"version": kb.version, "sha256": kb.sha256}
    assert body["causes"][0]["id"] == "sciatica"
    assert body["disclaimer"] == kb.disclaimer
    assert body["trace"] == []


def test_explain_fills_the_trace_in_firing_order(client) -> None:
    body = post(client, make_record(findings={"present": ["saddle_anesthesia"]}), query="?explain=true").get_json()
    rules = [step["rule"] for step in body["trace"]]
    assert rules.index("DER-CES-SADDLE") < rules.index("CAUSE-CES-PATTERN")
    assert "ESC-CES-SADDLE" in rules


@pytest.mark.parametrize("value", ["maybe", "True", "1", ""])
def test_a_bad_explain_value_is_422(client, value) -> None:
    body = assert_problem(post(client, make_record(), query=f"?explain={value}"), 422)
    assert "$query.explain" in body["errors"]


@pytest.mark.parametrize(
    ("record", "path", "message"),
    [
        (
            make_record(findings={"present": ["saddle_anaesthesia"]}),
            "$.findings.present[0]",
            "Unknown finding id 'saddle_anaesthesia'.",
        ),
        (
            make_record(findings={"present": ["fever"], "absent": ["fever"]}),
            "$.findings.present",
            "fever",
        ),
        (
            make_record(patient={"sex": "male", "pregnancy": {"gestational_week": 20}}),
            "$.patient.pregnancy",
            "Pregnancy",
        ),
        (make_record(patient={"age": True}), "$.patient.age", "integer"),
        (make_record(patient={"age": "30"}), "$.patient.age", "integer"),
        (make_record(patient={"age": 121}), "$.patient.age", "120"),
        (
            make_record(patient={"pregnancy": {"gestational_week": 45}}),
            "$.patient.pregnancy.gestational_week",
            "44",
        ),
        (make_record(patient={"age": None}), "$.patient.age", "null"),
        (
            make_record(patient={"pregnancy": {"gestational_week": None}}),
            "$.patient.pregnancy.gestational_week",
            "null",
        ),
        (make_record(complaint={"severity": 11}), "$.complaint.severity", "10"),
        (make_record(complaint={"duration_days": -1}), "$.complaint.duration_days", "0"),
        (make_record(complaint={"locations": []}), "$.complaint.locations", "minimum"),
        (
            make_record(complaint={"locations": ["knee"]}),
            "$.complaint.locations[0]",
            "Must be one of",
        ),
        (make_record(complaint={"side": "middle"}), "$.complaint.side", "Must be one of"),
        (make_record(complaint={"onset": None}), "$.complaint.onset", "null"),
        (make_record(patient={"sexx": "female"}), "$.patient.sexx", "Unknown field"),
        (
            {**make_record(), "finding": {"present": ["saddle_anesthesia"]}},
            "$.finding",
            "Unknown field",
        ),
        (
            make_record(findings={"present": ["pregnant"]}),
            "$.findings.present[0]",
            "Unknown finding id 'pregnant'",
        ),
    ],
)
def test_contract_violations_are_422_with_json_paths(client, record, path, message) -> None:
    body = assert_problem(post(client, record), 422)
    assert path in body["errors"], body["errors"]
    assert any(message in m for m in body["errors"][path]), body["errors"][path]


def test_all_problems_are_reported_at_once(client) -> None:
    record = make_record(
        patient={"age": -1, "sex": "male", "pregnancy": {"gestational_week": 3}},
        findings={"present": ["fever", "nope"], "absent": ["fever"]},
    )
    errors = assert_problem(post(client, record), 422)["errors"]
    assert {
        "$.patient.age",
        "$.patient.pregnancy",
        "$.findings.present[1]",
        "$.findings.present",
    } <= set(errors)


def test_a_pregnant_male_is_reported_even_when_the_pregnancy_has_its_own_problem(client) -> None:
    record = make_record(patient={"sex": "male", "pregnancy": {"gestational_week": 50}})
    errors = assert_problem(post(client, record), 422)["errors"]
    assert errors["$.patient.pregnancy"] == ["Pregnancy cannot be recorded for sex 'male'."]
    assert "$.patient.pregnancy.gestational_week" in errors


def test_non_finite_numbers_are_rejected(client) -> None:
    body = json.dumps(make_record()).replace('"locations"', '"severity": NaN, "locations"')
    assert "$.complaint.severity" in assert_problem(post(client, body), 422)["errors"]


@pytest.mark.parametrize("body", ["{", "", "[1,", '{"a": 1}}', "\xff"])
def test_malformed_json_is_400(client, body) -> None:
    assert_problem(post(client, body), 400)


def test_deeply_nested_json_is_400_not_500(client) -> None:
    assert_problem(post(client, "[" * 20000 + "]" * 20000), 400)


@pytest.mark.parametrize("body", ["[]", "3", '"text"', "null"])
def test_json_that_is_not_an_object_is_422(client, body) -> None:
    assert "$" in assert_problem(post(client, body), 422)["errors"]


def test_wrong_media_type_is_415(client) -> None:
    response = client.post("/v1/assessments", data=json.dumps(make_record()), content_type="text/plain")
    assert_problem(response, 415)


@pytest.mark.parametrize("coding", ["gzip", "br", "deflate"])
def test_a_compressed_body_is_415_not_misread(client, coding) -> None:
    body = json.dumps(make_record()).encode()
    for sent in (body, gzip.compress(body)):  # labelled but plain, and really compressed
        response = client.post(
            "/v1/assessments", data=sent, content_type="application/json", headers={"Content-Encoding": coding}
        )
        assert "Content-Encoding" in assert_problem(response, 415)["detail"]


def test_a_body_over_64_kib_is_413(client) -> None:
    record = make_record()
    record["padding"] = "x" * (64 * 1024)
    assert_problem(post(client, record), 413)


def test_unknown_route_is_404_and_wrong_method_is_405(client) -> None:
    assert_problem(client.get("/v1/nothing"), 404)
    response = client.get("/v1/assessments")
    assert_problem(response, 405)
    assert "POST" in response.headers["Allow"]


def test_errors_never_echo_the_record(client) -> None:
    record = make_record(patient={"age": MARKER, "sex": MARKER}, complaint={"locations": [MARKER]})
    record["extra"] = MARKER
    text = post(client, record).get_data(as_text=True)
    assert MARKER not in text


def test_an_overlong_unknown_id_is_shortened_in_the_error(client) -> None:
    long_id = "x" * 5000
    body = assert_problem(post(client, make_record(findings={"present": [long_id]})), 422)
    assert long_id not in json.dumps(body)


def test_an_unexpected_failure_is_a_bare_500_and_logs_no_patient_data(app, client, monkeypatch, caplog) -> None:
    def explode(record):
        raise KeyError(MARKER)

    monkeypatch.setattr(components(app).assessor, "assess", explode)
    with caplog.at_level(logging.ERROR):
        body = assert_problem(post(client, make_record(findings={"present": ["fever"]})), 500)
    assert MARKER not in json.dumps(body)
    assert "KeyError" in caplog.text
    assert MARKER not in caplog.text
    assert "fever" not in caplog.text


def test_duplicates_in_lists_are_folded(client, assess) -> None:
    twice = make_record(complaint={"locations": ["buttock", "buttock"]}, findings={"present": ["fever", "fever"]})
    once = make_record(findings={"present": ["fever"]})
    a, b = post(client, twice).get_json(), post(client, once).get_json()
    a.pop("assessment_id"), b.pop("assessment_id")
    assert a == b


def test_knowledge_base_endpoint_publishes_rules_with_sources(client, kb) -> None:
    body = client.get("/v1/knowledge-base").get_json()
    assert body["version"] == kb.version and body["sha256"] == kb.sha256
    assert {c["id"] for c in body["causes"]} == set(kb.causes)
    assert {f["id"] for f in body["findings"]} == set(kb.findings)
    rules = {r["id"]: r for r in body["rules"]}
    assert set(rules) == set(kb.rules)
    assert rules["ESC-CES-SADDLE"]["sources"] == ["NICE-NG59", "NICE-CKS-SCIATICA", "GIRFT-CES"]
    assert rules["ESC-CES-SADDLE"]["when"] == {"present": ["saddle_anesthesia"]}
    assert rules["CTX-TRIMESTER-2"]["when"]["gestational_week"] == {"min": 14, "max": 27}


def test_health_and_readiness(client, app, monkeypatch) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/readyz").get_json()["status"] == "ready"
    engine = components(app).assessor._engine  # an engine that fires nothing: the self-test fails
    monkeypatch.setattr(engine, "fire", lambda record: [])
    assert_problem(client.get("/readyz"), 503)


def test_a_record_without_findings_is_assessed(client) -> None:
    """The default for a record without ``findings`` once lacked ``not_known``: a 500."""
    record = {"patient": {"age": 40, "sex": "male"}, "complaint": {"locations": ["buttock"]}}
    response = client.post("/v1/assessments", json=record)
    assert response.status_code == 200, response.get_json()
