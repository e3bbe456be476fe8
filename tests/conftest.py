"""Shared fixtures: one app per test session (the knowledge base compiles once)."""

from __future__ import annotations

import copy
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient

from service.app import create_app
from service.knowledge.model import KnowledgeBase
from service.knowledge.translations import Catalogue
from service.reasoning.assessor import Assessor
from service.settings import PROJECT_RULES
from service.web.components import components
from service.web.documents import assessment_document
from tests import schemathesis_hooks  # noqa: F401  (registers the hooks for the schemathesis tests)
from tests.cds_tokens import Ehr

BASE_RECORD: dict[str, Any] = {
    "patient": {"age": 40, "sex": "female"},
    "complaint": {"locations": ["buttock"]},
    "findings": {"present": [], "absent": []},
}


@pytest.fixture(scope="session")
def app() -> Flask:
    return create_app({"TESTING": True})


@pytest.fixture(scope="session")
def ehr() -> Ehr:
    """An EHR with its own signing keys, for CDS Hooks calls."""
    return Ehr()


@pytest.fixture(scope="module")
def cds(ehr: Ehr, tmp_path_factory: pytest.TempPathFactory) -> FlaskClient:
    """A test client of an app that trusts ``ehr`` at the public URL ``tests.cds_tokens.BASE``."""
    return create_app(
        {"TESTING": True, **ehr.app_config(tmp_path_factory.mktemp("cds") / "clients.json")}
    ).test_client()


@pytest.fixture()
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture(scope="session")
def assessor(app: Flask) -> Assessor:
    return components(app).assessor


@pytest.fixture(scope="session")
def kb(assessor: Assessor) -> KnowledgeBase:
    return assessor.kb


@pytest.fixture(scope="session")
def english(app: Flask) -> Catalogue:
    """The English wording (the source texts of the knowledge base)."""
    return components(app).languages.english


def make_record(**parts: Any) -> dict[str, Any]:
    """BASE_RECORD with top-level parts merged in (``patient={...}`` replaces keys inside)."""
    record = copy.deepcopy(BASE_RECORD)
    for key, value in parts.items():
        record[key].update(value)
    return record


@pytest.fixture(scope="session")
def assess(assessor: Assessor, english: Catalogue) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Validate a record exactly as the API does, then assess it with the trace on (in English)."""

    def _assess(record: dict[str, Any]) -> dict[str, Any]:
        return assessment_document(assessor.assess(assessor.record(record)), texts=english, explain=True)

    return _assess


@pytest.fixture()
def rules_copy(tmp_path: Path) -> Path:
    """A copy of rules/ that a test may break."""
    target = tmp_path / "rules"
    shutil.copytree(PROJECT_RULES, target)
    return target


def edit(directory: Path, name: str, change: Callable[[dict[str, Any]], None]) -> None:
    """Change one YAML file of a rules copy in place (``name`` relative to the directory)."""
    path = directory / name
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(document)
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
