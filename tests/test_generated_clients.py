"""Clients generated from the OpenAPI document keep the contract's rules.

A generator may only make a field required when the contract does: openapi-typescript reads a
``default`` as "always present", so the request states its defaults in words, and the
cross-field rules are written in the descriptions a developer sees in the generated code.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DOCUMENT = yaml.safe_load((ROOT / "openapi/openapi.yaml").read_text())
REQUEST = DOCUMENT["components"]["schemas"]["AssessmentRequest"]
OPENAPI_TYPESCRIPT = ROOT / "node_modules/.bin/openapi-typescript"
OPTIONAL_WITH_DEFAULTS = ("side", "onset", "course")


def properties(schema: dict[str, Any], path: str = "$") -> Iterator[tuple[str, dict[str, Any], bool]]:
    """Every property below ``schema``: its path, its schema and whether it is required."""
    for name, field in schema.get("properties", {}).items():
        yield f"{path}.{name}", field, name in schema.get("required", [])
        yield from properties(field, f"{path}.{name}")


def test_no_request_field_carries_a_default_or_is_required_because_of_one() -> None:
    fields = {path: (field, required) for path, field, required in properties(REQUEST)}
    assert not [path for path, (field, _) in fields.items() if "default" in field]
    for name in OPTIONAL_WITH_DEFAULTS:
        field, required = fields[f"$.complaint.{name}"]
        assert not required
        assert "Omitted: `unknown`." in field["description"]


def test_the_male_pregnancy_rule_is_stated_where_clients_read_it() -> None:
    patient = REQUEST["properties"]["patient"]
    for described in (patient, patient["properties"]["sex"], patient["properties"]["pregnancy"]):
        assert "Pregnancy may not be recorded for sex `male`" in described["description"]
    assert "may be in only one of the lists" in REQUEST["properties"]["findings"]["description"]


@pytest.mark.skipif(not OPENAPI_TYPESCRIPT.exists(), reason="openapi-typescript not installed (make lint installs it)")
def test_openapi_typescript_makes_defaulted_fields_optional(tmp_path: Path) -> None:
    out = tmp_path / "api.d.ts"
    subprocess.run(
        [str(OPENAPI_TYPESCRIPT), str(ROOT / "openapi/openapi.yaml"), "-o", str(out)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    typescript = out.read_text()
    request = typescript[typescript.index("AssessmentRequest: {") : typescript.index("Assessment: {")]
    for name in OPTIONAL_WITH_DEFAULTS:
        assert re.search(rf"\b{name}\?: ", request), f"{name} is required in the generated TypeScript"
    assert re.search(r"\bsex: ", request) and re.search(r"\blocations: \(", request)
    assert re.search(r"\bage\?: number", request)  # left out when not known: every age band is assessed
    assert "Pregnancy may not be recorded for sex `male`" in request
