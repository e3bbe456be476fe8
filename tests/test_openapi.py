"""The published OpenAPI document is valid and is exactly what the app serves."""

from __future__ import annotations

from pathlib import Path

import yaml
from openapi_spec_validator import validate

OPENAPI_FILE = Path(__file__).parent.parent / "openapi" / "openapi.yaml"


def test_the_committed_document_is_what_the_schemas_generate(client) -> None:
    served = client.get("/openapi.json").get_json()
    committed = yaml.safe_load(OPENAPI_FILE.read_text())
    assert committed == served, "openapi/openapi.yaml is stale: run `make openapi`"


def test_the_document_is_valid_openapi() -> None:
    validate(yaml.safe_load(OPENAPI_FILE.read_text()))


def test_the_finding_enum_is_the_knowledge_base_input_vocabulary(client, kb) -> None:
    request = client.get("/openapi.json").get_json()["components"]["schemas"]["AssessmentRequest"]
    present = request["properties"]["findings"]["properties"]["present"]["items"]["enum"]
    assert present == kb.input_findings


def test_every_route_is_documented(app, client) -> None:
    documented = set(client.get("/openapi.json").get_json()["paths"])
    routes = {rule.rule for rule in app.url_map.iter_rules() if not rule.endpoint.endswith("static")}
    assert routes == documented


def test_every_operation_is_described_tagged_secured_and_has_examples() -> None:
    document = yaml.safe_load(OPENAPI_FILE.read_text())
    assert document["info"]["license"]["identifier"] == "Apache-2.0" and document["info"]["contact"]
    assert document["servers"]
    tags = {tag["name"] for tag in document["tags"]}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            where = f"{method.upper()} {path}"
            assert operation["summary"] and operation["description"] and operation["tags"], where
            assert set(operation["tags"]) <= tags, where
            assert "security" in operation, where
            secured = path.startswith("/cds-services/")
            assert (operation["security"] == [{"ehrJwt": []}]) == secured, where
            if "requestBody" in operation:
                assert operation["requestBody"]["content"]["application/json"]["examples"], where
            answered = [c for r in operation["responses"].values() for c in r.get("content", {}).values()]
            assert (
                any("examples" in content for content in answered) or "content" not in operation["responses"]["200"]
            ), where
