"""The services this app offers EHRs: ids, hooks, prefetch templates and the discovery document."""

from __future__ import annotations

from typing import Any

from service.interop.fhir.canonical import questionnaire_url

SERVICE_ID = "buttock-pain-triage"
HOOK = "patient-view"
MEDICATION_SERVICE_ID = "buttock-pain-medication-safety"
MEDICATION_HOOK = "order-sign"
HOOKS = {SERVICE_ID: HOOK, MEDICATION_SERVICE_ID: MEDICATION_HOOK}

_PATIENT = {
    "patient": "Patient/{{context.patientId}}",
    "observations": "Observation?subject={{context.patientId}}&status=final,amended,preliminary",
    "conditions": "Condition?subject={{context.patientId}}",
}


def discovery(base: str) -> dict[str, Any]:
    """The discovery document; the Questionnaire prefetch names its canonical URL under ``base``."""
    return {
        "services": [
            {
                "hook": HOOK,
                "id": SERVICE_ID,
                "title": "Buttock and hip pain triage",
                "description": "Urgency, red flags, likely causes, care (contraindications removed) and the next "
                "questions for buttock or hip pain, including in pregnancy.",
                "prefetch": {
                    "patient": _PATIENT["patient"],
                    "questionnaireResponse": "QuestionnaireResponse?subject={{context.patientId}}"
                    f"&questionnaire={questionnaire_url(base)}&_sort=-authored&_count=1",
                    "observations": _PATIENT["observations"],
                    "conditions": _PATIENT["conditions"],
                },
                "usageRequirements": "Answers best with the buttock-pain-intake QuestionnaireResponse prefetched.",
            },
            {
                "hook": MEDICATION_HOOK,
                "id": MEDICATION_SERVICE_ID,
                "title": "Medication safety for buttock and hip pain",
                "description": "Checks each draft MedicationRequest against the knowledge base's contraindication "
                "rules for this patient (pregnancy and gestational week, and the other contraindications it "
                "holds) and proposes removing a contraindicated order, with an alternative where there is one.",
                "prefetch": _PATIENT,
                "usageRequirements": "Needs the Patient (age, sex) and pregnancy status with the gestational "
                "week; an order is checked for every value the record lacks, and a card asks for it.",
            },
        ]
    }
