"""Clinical decision support for buttock and hip pain, including pain in pregnancy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from service import api, cds_hooks, health, metrics, observability
from service.cds_auth import TokenVerifier, load_clients
from service.fhir import fhir_resources
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
        CDS_CLIENTS=settings.cds_clients,
    )
    app.config.update(config or {})
    app.json.sort_keys = False

    rules_dir = Path(app.config["RULES_DIR"])
    runtime = app.extensions["cds"] = Runtime.start(rules_dir)
    kb = runtime.knowledge_base
    metrics.KNOWLEDGE_BASE.labels(kb.version, kb.sha256).set(1)

    app.extensions["fhir"] = fhir_resources(rules_dir, kb)
    app.extensions["cds_auth"] = TokenVerifier(load_clients(app.config["CDS_CLIENTS"]))

    if app.config["TRUSTED_PROXIES"]:
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    observability.install(app)
    register_problem_handlers(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(cds_hooks.bp)
    return app
