"""Prefetched FHIR data → an :class:`~service.interop.fhir.intake.Intake`.

This service never queries the FHIR server: it reads only what the EHR prefetched, so the
Patient or the intake QuestionnaireResponse must be there, and all of it must be about the
patient in the hook's context (``context.patientId``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from service.interop.fhir.intake import (
    Intake,
    counts,
    end_pregnancies_measured_over,
    from_observation_or_condition,
    from_patient,
    from_questionnaire_response,
    label_of,
    later,
    not_male_when_pregnant,
    parse_questionnaire_response,
    recorded_span,
)
from service.interop.fhir.parsing import FhirInputError
from service.interop.fhir.terminology import Terminology


def has_patient_data(prefetch: dict[str, Any]) -> bool:
    return bool(prefetch.get("patient") or prefetch.get("questionnaireResponse"))


def read_prefetch(prefetch: dict[str, Any], terms: Terminology, today: dt.date, patient_id: str) -> Intake:
    intake = Intake(patient_id, today=today)
    if prefetch.get("questionnaireResponse"):
        latest, older = _latest_responses(prefetch["questionnaireResponse"], terms, intake)
        for response in latest:
            from_questionnaire_response(response, terms, intake)
        for response in older:
            _set_aside(response, terms, intake)
    if prefetch.get("patient"):
        from_patient(prefetch["patient"], intake, today)
    for key in ("observations", "conditions"):
        for resource in _entries(prefetch.get(key), intake):
            from_observation_or_condition(resource, terms, intake)
    end_pregnancies_measured_over(intake)
    not_male_when_pregnant(intake)
    return intake


def _entries(bundle: Any, intake: Intake) -> list[Any]:
    """The resources of a prefetched Bundle; an entry that holds none is reported, not skipped."""
    if bundle is None:
        return []
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise FhirInputError("prefetched searches must be FHIR Bundles")
    entries = bundle.get("entry") or []
    if not isinstance(entries, list):
        raise FhirInputError("Bundle.entry must be a list")
    resources = []
    for index, entry in enumerate(entries):
        if isinstance(entry, dict) and isinstance(entry.get("resource"), dict):
            resources.append(entry["resource"])
        else:
            intake.unmapped.append(f"Bundle.entry[{index}]: no resource, not used")
    return resources


def _latest_responses(value: Any, terms: Terminology, intake: Intake) -> tuple[list[Any], list[Any]]:
    """The most recently authored QuestionnaireResponses that count (the one, or a Bundle's),
    parsed, and the older ones that count.

    The prefetch template asks for the latest (``_sort=-authored&_count=1``), but an EHR that
    ignores the sort or the count would otherwise have an old answer read for the current one.
    A response that does not count (in progress, entered in error, to another Questionnaire)
    is set aside first: a form the patient started today must not hide yesterday's completed one. One without
    ``authored`` counts as the oldest. Responses the dates cannot order are never picked
    between by their order in the data: each of them is read, and their answers meet as
    those of several resources do (a yes in either is present). The older ones are not used
    (:func:`_set_aside`)."""
    one = isinstance(value, dict) and value.get("resourceType") == "QuestionnaireResponse"
    parsed = [parse_questionnaire_response(r) for r in ([value] if one else _entries(value, intake))]
    responses = [response for response in parsed if counts(response, terms, intake)]
    spans = [recorded_span(response.authored) for response in responses]
    newest = [not any(later(other, span) for other in spans) for span in spans]
    pairs = list(zip(responses, newest, strict=True))
    return [r for r, kept in pairs if kept], [r for r, kept in pairs if not kept]


def _set_aside(response: Any, terms: Terminology, intake: Intake) -> None:
    """An older response, not used; a "yes" in it that the latest do not give is named, and
    makes the not-used card a warning: the symptom may have passed, or the newer form may
    simply not have asked (a saddle anaesthesia answered five minutes earlier)."""
    label, older = label_of(response), Intake(intake.patient_id, today=intake.today)
    try:
        from_questionnaire_response(response, terms, older)
    except FhirInputError:
        intake.unmapped.append(f"{label}: not the latest authored, not used (and not readable)")
        return
    if yes := [finding for finding in older.present if finding not in intake.present]:
        intake.unmapped.append(f"{label}: not the latest authored, not used; it answered yes to {', '.join(yes)}")
        intake.unread.append(label)
    else:
        intake.unmapped.append(f"{label}: not the latest authored, not used")
