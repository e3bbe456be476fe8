"""Clinical decision support for buttock and hip pain, including pain in pregnancy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from service import api, health, metrics, observability
from service.problems import register_problem_handlers
from service.runtime import Runtime
from service.settings import Settings


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app: settings, the compiled knowledge base, observability, errors, routes."""
    settings = Settings.from_env()
    app = Flask(__name__)
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        TRUSTED_PROXIES=settings.trusted_proxies,
        RULES_DIR=settings.rules_dir,
    )
    app.config.update(config or {})
    app.json.sort_keys = False

    runtime = app.extensions["cds"] = Runtime.start(Path(app.config["RULES_DIR"]))
    kb = runtime.knowledge_base
    metrics.KNOWLEDGE_BASE.labels(kb.version, kb.sha256).set(1)

    if app.config["TRUSTED_PROXIES"]:
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    observability.install(app)
    register_problem_handlers(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(health.bp)
    return app
