"""The application factory: settings, knowledge base, reasoning, interop, then the web."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from service import metrics
from service.interop.cds_hooks.auth import TokenVerifier, load_clients
from service.interop.cds_hooks.replay import replay_store
from service.interop.fhir.resources import FhirResources
from service.knowledge.clinician import load_clinician_texts
from service.knowledge.loader import load_knowledge_base
from service.knowledge.medications import load_medications
from service.reasoning.startup import start_reasoning
from service.settings import Settings
from service.web import (
    api_docs,
    assessments,
    cds_hooks,
    cors,
    fhir,
    health,
    knowledge_base,
    knowledge_page,
    observability,
    openapi,
)
from service.web.components import Components, install
from service.web.json_provider import OrjsonProvider
from service.web.problems import register_problem_handlers


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app; refuse to start on bad settings or a knowledge base that fails its checks."""
    settings = Settings.from_env()
    app = Flask(__name__)
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        TRUSTED_PROXIES=settings.trusted_proxies,
        RULES_DIR=settings.rules_dir,
        CDS_CLIENTS=settings.cds_clients,
        PUBLIC_BASE_URL=settings.public_base_url,
        CORS_ORIGINS=settings.cors_origins,
        REPLAY_STORE=settings.replay_store,
        CDS_SILENT_ROLLOUT=settings.cds_silent_rollout,
    )
    app.config.update(config or {})
    app.json = OrjsonProvider(app)  # the same bytes as Flask's, about three times faster
    app.json.sort_keys = False

    rules_dir = Path(app.config["RULES_DIR"])
    kb = load_knowledge_base(rules_dir)
    metrics.KNOWLEDGE_BASE.labels(kb.version, kb.sha256).set(1)
    clinician = load_clinician_texts(rules_dir, kb)
    assessor = start_reasoning(kb)
    install(
        app,
        Components(
            assessor=assessor,
            fhir=FhirResources.build(rules_dir, kb, clinician.specialties),
            token_verifier=TokenVerifier(
                load_clients(app.config["CDS_CLIENTS"]),
                public_base_url=app.config["PUBLIC_BASE_URL"],
                replay=replay_store(app.config["REPLAY_STORE"]),
            ),
            openapi=openapi.build_openapi(assessor.record_schema),
            clinician=clinician,
            medications=load_medications(rules_dir, kb),
        ),
    )

    if hops := app.config["TRUSTED_PROXIES"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    observability.install(app)
    cors.install(app)
    register_problem_handlers(app)
    for blueprint in (assessments, knowledge_base, knowledge_page, health, cds_hooks, fhir, openapi, api_docs):
        app.register_blueprint(blueprint.bp)
    return app
