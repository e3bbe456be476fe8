"""Canonical URLs of what this service publishes, all under the public base URL.

A canonical URL names a resource for every EHR that stores answers against it, so it is the
address the EHR reaches the service at (``PUBLIC_BASE_URL``), never a placeholder host.
"""

from __future__ import annotations

QUESTIONNAIRE_ID = "buttock-pain-intake"
CODE_SYSTEM_ID = "buttock-pain"


def fhir_base(base: str) -> str:
    return f"{base}/fhir"


def questionnaire_url(base: str) -> str:
    return f"{fhir_base(base)}/Questionnaire/{QUESTIONNAIRE_ID}"


def code_system_url(base: str) -> str:
    return f"{fhir_base(base)}/CodeSystem/{CODE_SYSTEM_ID}"
