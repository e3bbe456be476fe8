"""The echo floor: the same JSON parsing and marshmallow validation as the service, no rules.

Served by the same gunicorn config, it measures what HTTP, JSON and validation cost on
their own, so the benchmark can report the service as a ratio of it.
"""

from __future__ import annotations

import json
from pathlib import Path

from flask import Flask, Response, jsonify, request
from marshmallow import ValidationError

from service.knowledge.loader import load_knowledge_base
from service.schemas import build_request_schema
from service.settings import Settings


def create_echo_app() -> Flask:
    app = Flask(__name__)
    kb = load_knowledge_base(Path(Settings.from_env().rules_dir))
    schema = build_request_schema(kb.input_findings)()

    @app.post("/v1/assessments")
    def echo() -> Response | tuple[Response, int]:
        try:
            record = schema.load(json.loads(request.get_data(cache=False)))
        except (ValueError, ValidationError):
            return jsonify({"status": 422}), 422
        return jsonify(record)

    return app


app = create_echo_app()
