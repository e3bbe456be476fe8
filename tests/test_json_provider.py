"""The orjson provider writes exactly the bytes Flask's own JSON provider writes."""

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

COMPACT = {"separators": (",", ":")}  # what jsonify passes outside debug mode


def providers(app: Flask) -> tuple[OrjsonProvider, DefaultJSONProvider]:
    ours, flasks = OrjsonProvider(app), DefaultJSONProvider(app)
    ours.sort_keys = flasks.sort_keys = False  # as the app sets it
    return ours, flasks


def test_the_app_answers_with_the_orjson_provider(app) -> None:
    assert isinstance(app.json, OrjsonProvider)


def test_assessments_are_written_byte_for_byte_as_flask_writes_them(app, assessor, kb) -> None:
    """In every language: Chinese and Spanish answers (non-ASCII text) are handed to Flask's encoder."""
    ours, flasks = providers(app)
    languages = list(components(app).languages)
    with app.app_context():
        for i, raw in enumerate(varied_records(kb, 400, seed=5)):
            texts = languages[i % len(languages)]
            document = assessment_document(assessor.assess(assessor.record(raw)), texts=texts, explain=True)
            assert ours.dumps(document, **COMPACT) == flasks.dumps(document, **COMPACT)


def test_an_answer_over_http_is_what_flask_would_have_sent(app, client: FlaskClient, kb) -> None:
    _, flasks = providers(app)
    for i, raw in enumerate(varied_records(kb, 21, seed=6)):
        language = ("en", "zh", "es")[i % 3]
        answer = client.post("/v1/assessments?explain=true", json=raw, headers={"Accept-Language": language})
        body = answer.get_data(as_text=True)
        assert body == flasks.dumps(json.loads(body), **COMPACT) + "\n"


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
def test_any_json_value_is_written_as_flask_writes_it(app, value: Any) -> None:
    ours, flasks = providers(app)
    assert ours.dumps(value, **COMPACT) == flasks.dumps(value, **COMPACT)


def test_values_orjson_writes_its_own_way_go_to_flasks_encoder(app) -> None:
    ours, flasks = providers(app)
    tricky: dict[str, Any] = {
        "tiny": 1e-05,
        "tinier": 1.192092896e-07,
        "tiny in text": "1e-7 and 0.00001",
        "text": "38 °C, \x7f, \U0001f600, \ud800",
        "when": dt.datetime(2026, 11, 22, 5, 0, tzinfo=dt.UTC),
        "day": dt.date(2026, 11, 22),
        "id": uuid.UUID(int=7),
        "item": _Item("x"),
        "big": 2**80,
    }
    with app.app_context():
        for key, value in tricky.items():
            assert ours.dumps({key: value}, **COMPACT) == flasks.dumps({key: value}, **COMPACT), key
        assert ours.dumps({1: "a"}, **COMPACT) == flasks.dumps({1: "a"}, **COMPACT)  # a key that is not a string
        assert ours.dumps({"a": 1}) == flasks.dumps({"a": 1})  # not compact: Flask's encoder
