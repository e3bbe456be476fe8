"""The service this app offers EHRs: its id, hook, prefetch templates and discovery entry."""

from __future__ import annotations

from typing import Any

from service.interop.fhir.questionnaire import QUESTIONNAIRE_URL

SERVICE_ID = "buttock-pain-triage"
HOOK = "patient-view"
PREFETCH = {
    "patient": "Patient/{{context.patientId}}",
    "questionnaireResponse": "QuestionnaireResponse?subject={{context.patientId}}"
    f"&questionnaire={QUESTIONNAIRE_URL}&_sort=-authored&_count=1",
    "observations": "Observation?subject={{context.patientId}}&status=final,amended,preliminary",
    "conditions": "Condition?subject={{context.patientId}}",
}


def discovery() -> dict[str, Any]:
    return {
        "services": [
            {
                "hook": HOOK,
                "id": SERVICE_ID,
                "title": "Buttock and hip pain triage",
                "description": "Urgency, red flags, likely causes, care (contraindications removed) and the next "
                "questions for buttock or hip pain, including in pregnancy.",
                "prefetch": PREFETCH,
                "usageRequirements": "Answers best with the buttock-pain-intake QuestionnaireResponse prefetched.",
            }
        ]
    }
