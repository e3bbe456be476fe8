"""Fuzzing the assessment endpoint: no input may produce a 5xx.

schemathesis with every check and 1,000 generated cases per operation, plus hypothesis
JSON of arbitrary shape (and of nearly the right shape) posted to /v1/assessments.
"""

from __future__ import annotations

import json

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service import vocabulary as vocab
from service.app import create_app
from tests.cds_tokens import Ehr

pytestmark = pytest.mark.reliability
schema = schemathesis.openapi.from_wsgi("/openapi.json", create_app({"TESTING": True}))
FUZZ = settings(
    max_examples=1000,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
)


@schema.parametrize()
@FUZZ
def test_every_operation_conforms_over_1000_cases(case) -> None:
    case.call_and_validate()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=30,
)
words = st.sampled_from(
    [
        "patient",
        "complaint",
        "findings",
        "present",
        "absent",
        "age",
        "sex",
        "pregnancy",
        "gestational_week",
        "locations",
        "side",
        "onset",
        "severity",
        "course",
        "duration_days",
        *vocab.LOCATIONS,
        *vocab.SEXES,
        "fever",
        "saddle_anesthesia",
    ]
)
near_records = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 200) | st.floats() | words,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(words, children, max_size=6),
    max_leaves=40,
)


@FUZZ
@given(body=st.one_of(json_values, near_records))
def test_arbitrary_json_never_causes_a_server_error(client, body) -> None:
    text = json.dumps(body)  # NaN and infinity included: Python writes them, Flask reads them
    for query in ("", "?explain=true"):
        response = client.post(f"/v1/assessments{query}", data=text, content_type="application/json")
        assert response.status_code < 500, text
        assert response.status_code in (200, 400, 413, 422)


fhir_words = st.sampled_from(
    [
        "resourceType",
        "Patient",
        "Observation",
        "Condition",
        "Bundle",
        "QuestionnaireResponse",
        "entry",
        "resource",
        "code",
        "coding",
        "system",
        "http://snomed.info/sct",
        "http://loinc.org",
        "386661006",
        "77386006",
        "49051-6",
        "birthDate",
        "2010",
        "2010-05",
        "1980-02-30",
        "gender",
        "female",
        "status",
        "final",
        "valueBoolean",
        "valueQuantity",
        "value",
        "valueInteger",
        "item",
        "linkId",
        "answer",
        "valueCoding",
        "verificationStatus",
        "questionnaire",
        "https://cds.example.invalid/fhir/Questionnaire/buttock-pain-intake",
        "age",
        "Y",
        "N",
    ]
)
fhir_like = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 3000) | st.floats(allow_nan=False, allow_infinity=False) | fhir_words,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(fhir_words, children, max_size=6),
    max_leaves=40,
)


@FUZZ
@given(
    prefetch=st.dictionaries(
        st.sampled_from(["patient", "questionnaireResponse", "observations", "conditions"]), fhir_like, max_size=4
    )
)
def test_arbitrary_fhir_prefetch_never_causes_a_server_error(cds_client, prefetch) -> None:
    client, ehr = cds_client
    body = {
        "hook": "patient-view",
        "hookInstance": "fuzz",
        "context": {"userId": "u", "patientId": "p"},
        "prefetch": prefetch,
    }
    response = client.post("/cds-services/buttock-pain-triage", json=body, headers=ehr.header())
    assert response.status_code in (200, 400, 412, 422), json.dumps(prefetch)


@pytest.fixture(scope="module")
def cds_client(tmp_path_factory):
    ehr = Ehr()
    config = ehr.app_config(tmp_path_factory.mktemp("fuzz") / "clients.json")
    return create_app({"TESTING": True, **config}).test_client(), ehr
