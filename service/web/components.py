"""What the app is built from, and typed access to it from inside a request.

``create_app`` assembles one :class:`Components`; views read it through :func:`components`
instead of string lookups in ``current_app.extensions``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app

from service.interop.cds_hooks.auth import TokenVerifier
from service.interop.fhir.resources import FhirResources
from service.knowledge.clinician import ClinicianTexts
from service.knowledge.medications import MedicationTable
from service.knowledge.translations import Languages
from service.reasoning.assessor import Assessor

_KEY = "buttock_pain_cds"


@dataclass(frozen=True)
class Components:
    assessor: Assessor
    fhir: FhirResources
    token_verifier: TokenVerifier
    openapi: dict[str, Any]
    clinician: ClinicianTexts
    medications: MedicationTable
    languages: Languages


def install(app: Flask, parts: Components) -> None:
    app.extensions[_KEY] = parts


def components(app: Flask | None = None) -> Components:
    return (app or current_app).extensions[_KEY]  # type: ignore[no-any-return]
