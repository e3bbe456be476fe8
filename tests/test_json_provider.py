"""The orjson provider writes the values Flask's own JSON provider writes, as UTF-8."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any

from flask import Flask
from flask.json.provider import DefaultJSONProvider
from flask.testing import FlaskClient
from hypothesis import given, settings
from hypothesis import strategies as st

from service.web.components import components
from service.web.documents import assessment_document
from service.web.json_provider import OrjsonProvider
from tests.reliability.records import varied_records


def providers(app: Flask) -> tuple[OrjsonProvider, DefaultJSONProvider]:
    ours, flasks = OrjsonProvider(app), DefaultJSONProvider(app)
    ours.sort_keys = flasks.sort_keys = False  # as the app sets it
    return ours, flasks


def written(provider: DefaultJSONProvider, value: Any) -> str:
    """What ``jsonify(value)`` sends with this provider, as text."""
    return provider.response(value).get_data().decode("utf-8")  # raises if the body is not UTF-8


def test_the_app_answers_with_the_orjson_provider(app) -> None:
    assert isinstance(app.json, OrjsonProvider)


def test_assessments_hold_the_values_flask_would_write(app, assessor, kb) -> None:
    """In every language; the non-ASCII text stays as it is (UTF-8), it is not escaped."""
    ours, flasks = providers(app)
    languages = list(components(app).languages)
    with app.app_context():
        for i, raw in enumerate(varied_records(kb, 400, seed=5)):
            texts = languages[i % len(languages)]
            document = assessment_document(assessor.assess(assessor.record(raw)), texts=texts, explain=True)
            text = written(ours, document)
            assert json.loads(text) == json.loads(written(flasks, document))
            assert "\\u" not in text  # nothing escaped: every text is written as itself


def test_an_answer_over_http_is_utf8_json(client: FlaskClient, kb) -> None:
    """Every language has text outside ASCII (English: the fever question's "38 °C")."""
    raw = {**varied_records(kb, 1, seed=6)[0], "findings": {"present": [], "absent": []}}  # fever unknown: asked
    for language in ("en", "zh", "es"):
        answer = client.post("/v1/assessments", json=raw, headers={"Accept-Language": language})
        assert answer.status_code == 200 and answer.mimetype == "application/json"
        body = answer.get_data().decode("utf-8")  # raises if the body is not UTF-8
        assert json.loads(body) == answer.get_json()
        assert not body.isascii() and "\\u" not in body, language


@dataclass
class _Item:
    name: str


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=500, deadline=None, database=None)
@given(value=json_values)
def test_any_json_value_reads_back_as_flask_writes_it(app, value: Any) -> None:
    """Lone surrogates and big integers included: those go to Flask's encoder."""
    ours, flasks = providers(app)
    assert json.loads(written(ours, value)) == json.loads(written(flasks, value))


def test_values_orjson_cannot_write_go_to_flasks_encoder(app) -> None:
    ours, flasks = providers(app)
    tricky: dict[str, Any] = {
        "tiny": 1e-05,
        "tinier": 1.192092896e-07,
        "text": "38 °C, \x7f, \U0001f600",
        "lone surrogate": "\ud800",
        "when": dt.datetime(2026, 11, 22, 5, 0, tzinfo=dt.UTC),
        "day": dt.date(2026, 11, 22),
        "id": uuid.UUID(int=7),
        "item": _Item("x"),
        "big": 2**80,
    }
    with app.app_context():
        for key, value in tricky.items():
            assert json.loads(written(ours, {key: value})) == json.loads(written(flasks, {key: value})), key
        assert written(ours, {"s": "\ud800"}) == written(flasks, {"s": "\ud800"})  # escaped
        assert written(ours, {1: "a"}) == written(flasks, {1: "a"})  # a key that is not a string
        assert written(ours, {"a": "é", "n": 1}) == '{"a":"é","n":1}\n'  # the newline jsonify ends with
        ours.compact = flasks.compact = False
        assert written(ours, {"a": "é"}) == written(flasks, {"a": "é"})  # not compact: Flask's provider
