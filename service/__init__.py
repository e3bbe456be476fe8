"""Clinical decision support for buttock and hip pain, including pain in pregnancy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from service import api, health
from service.config import DEFAULTS
from service.problems import register_problem_handlers
from service.runtime import Runtime


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app: settings, the compiled knowledge base, error handling, routes."""
    app = Flask(__name__)
    app.config.update(DEFAULTS)
    app.config.update(config or {})
    app.json.sort_keys = app.config["JSON_SORT_KEYS"]

    app.extensions["cds"] = Runtime.start(Path(app.config["RULES_DIR"]))

    register_problem_handlers(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(health.bp)
    return app
