"""Hostile input is cheap to refuse and cannot be amplified: small answers, 4xx never 5xx."""

from __future__ import annotations

import http.client
import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from service.settings import Settings
from service.validation import MAX_REPORTED_ERRORS
from tests.conftest import make_record
from tests.servers import gunicorn

MAX_BODY_BYTES = Settings().max_body_bytes


def post_raw(client: FlaskClient, body: str | bytes) -> Any:
    return client.post("/v1/assessments", data=body, content_type="application/json")


@pytest.mark.parametrize("where", ["locations", "findings"])
def test_fifteen_thousand_bad_ids_get_one_small_422(client: FlaskClient, where: str) -> None:
    ids = ["x"] * 15_000
    record = (
        make_record(complaint={"locations": ids}) if where == "locations" else make_record(findings={"present": ids})
    )
    body = json.dumps(record, separators=(",", ":"))
    assert 60_000 < len(body) <= MAX_BODY_BYTES  # the attack: as many bad ids as the body limit allows
    response = post_raw(client, body)
    assert response.status_code == 422
    assert len(response.get_data()) < 16 * 1024
    errors = response.get_json()["errors"]
    assert any("Longer than maximum length" in m for messages in errors.values() for m in messages), errors


def test_the_number_of_reported_errors_is_capped(client: FlaskClient) -> None:
    record = make_record()
    record["patient"].update({f"k{i}": i for i in range(4000)})  # 4,000 unknown fields
    response = post_raw(client, json.dumps(record))
    body = response.get_json()
    assert response.status_code == 422 and len(response.get_data()) < 16 * 1024
    assert len(body["errors"]) == MAX_REPORTED_ERRORS
    assert f"The first {MAX_REPORTED_ERRORS} of 4000 problems are listed." in body["detail"]


@pytest.mark.parametrize(
    ("body", "key"),
    [
        (  # the second, empty findings would have hidden saddle anaesthesia
            '{"patient": {"age": 40, "sex": "female"}, "complaint": {"locations": ["buttock"]},'
            ' "findings": {"present": ["saddle_anesthesia"]}, "findings": {"present": []}}',
            "findings",
        ),
        ('{"patient": {"age": 40, "age": 4, "sex": "female"}, "complaint": {"locations": ["buttock"]}}', "age"),
    ],
)
def test_a_key_given_twice_is_refused_with_400_naming_it(client: FlaskClient, body: str, key: str) -> None:
    response = post_raw(client, body)
    assert response.status_code == 400 and response.mimetype == "application/problem+json"
    assert f"'{key}' more than once" in response.get_json()["detail"]


@pytest.mark.parametrize("field", ["duration_days", "severity"])
def test_a_400_digit_integer_is_a_422_not_an_overflow(client: FlaskClient, field: str) -> None:
    body = json.dumps(make_record(complaint={field: 0}))
    body = body.replace(f'"{field}": 0', f'"{field}": 1{"0" * 399}')
    response = post_raw(client, body)
    assert response.status_code == 422
    assert response.get_json()["errors"] == {f"$.complaint.{field}": ["Must be a finite number."]}


def test_an_integer_longer_than_python_converts_is_a_400_that_says_so(client: FlaskClient) -> None:
    body = json.dumps(make_record(complaint={"duration_days": 0})).replace(
        '"duration_days": 0', '"duration_days": ' + "9" * 5000
    )
    response = post_raw(client, body)
    assert response.status_code == 400 and response.mimetype == "application/problem+json"
    assert (
        response.get_json()["detail"]
        == f"A number in the request body has more than {sys.get_int_max_str_digits()} digits."
    )


def test_json_nested_120_deep_is_a_400(client: FlaskClient) -> None:
    response = post_raw(client, '{"patient": ' + "[" * 120 + "]" * 120 + "}")
    assert response.status_code == 400
    assert "nests arrays and objects more than" in response.get_json()["detail"]


def oversized_record() -> bytes:
    record = make_record()
    record["patient"]["note"] = "a" * (MAX_BODY_BYTES + 1024)
    return json.dumps(record).encode()


def test_a_chunked_body_over_the_limit_is_413_in_the_app(client: FlaskClient) -> None:
    """Without Content-Length: as gunicorn does, the server de-chunks and says the stream ends."""

    def chunked(body: bytes) -> Any:
        return client.post(
            "/v1/assessments",
            input_stream=io.BytesIO(body),
            headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
            environ_overrides={"wsgi.input_terminated": True},
        )

    assert chunked(oversized_record()).status_code == 413
    assert chunked(json.dumps(make_record()).encode()).status_code == 200  # chunked bodies are read


def _send_chunked(port: int, body: bytes) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        connection.putrequest("POST", "/v1/assessments")
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Transfer-Encoding", "chunked")
        connection.endheaders()
        try:
            for start in range(0, len(body), 8192):
                chunk = body[start : start + 8192]
                connection.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            connection.send(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before reading everything
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type") or ""
    finally:
        connection.close()


def test_a_chunked_body_over_the_limit_is_413_through_gunicorn(tmp_path: Path) -> None:
    with gunicorn(tmp_path) as service:
        assert _send_chunked(service.port, oversized_record()) == (413, "application/problem+json")
        assert _send_chunked(service.port, json.dumps(make_record()).encode())[0] == 200
