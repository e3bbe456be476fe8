"""The floors the service is measured against, served by the same gunicorn config.

- ``bare``: Flask parses the JSON body and answers with a ~1 KB JSON document; no
  validation, no rules. What HTTP and JSON cost on their own.
- ``validating``: the same plus the service's own record validation (marshmallow).

The benchmark reports the service as a ratio of each, measured in the same run.
"""

from __future__ import annotations

import json
from pathlib import Path

from flask import Flask, Response, jsonify, request

from service.knowledge.loader import load_knowledge_base
from service.reasoning.record import build_record_schema
from service.settings import Settings
from service.validation import InvalidInputError, validated

# about the size of a typical assessment's urgency, causes and disclaimer
ANSWER = {"urgency": {"level": "routine", "advice": "x" * 200}, "causes": [{"id": "c" * 20, "score": 0.5}] * 8}


def create_bare_app() -> Flask:
    app = Flask(__name__)

    @app.post("/v1/assessments")
    def echo() -> Response:
        body = json.loads(request.get_data(cache=False))
        return jsonify({**ANSWER, "keys": sorted(body)})

    return app


def create_validating_app() -> Flask:
    app = Flask(__name__)
    kb = load_knowledge_base(Path(Settings.from_env().rules_dir))
    schema = build_record_schema(kb.input_findings)()

    @app.post("/v1/assessments")
    def echo() -> Response | tuple[Response, int]:
        try:
            record = validated(schema, json.loads(request.get_data(cache=False)), "invalid")
        except (ValueError, InvalidInputError):
            return jsonify({"status": 422}), 422
        return jsonify({**ANSWER, "keys": sorted(record)})

    return app


bare = create_bare_app()
validating = create_validating_app()
