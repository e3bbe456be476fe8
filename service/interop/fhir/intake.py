"""FHIR R4 data → the contract's symptom record.

Two inputs are understood: a QuestionnaireResponse to our intake Questionnaire, and a
Patient with Observations and Conditions coded as in rules/fhir.yaml. Whatever cannot be
mapped is reported back (``unmapped``), never silently dropped; what the record still needs
is reported too (``missing``). The record then goes through the same validation as
``POST /v1/assessments``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from fhir_core.fhirabstractmodel import FHIRAbstractModel as FhirModel
from pydantic import ValidationError as FhirValidationError

from service.interop.fhir.terminology import Terminology

_SEXES = {"female", "male", "other", "unknown"}


class FhirInputError(ValueError):
    """A FHIR resource is malformed; the message names the resource and the problem."""


@dataclass
class Intake:
    patient: dict[str, Any] = field(default_factory=dict)
    complaint: dict[str, Any] = field(default_factory=dict)
    present: list[str] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)  # "Observation/7: http://snomed.info/sct|1234"

    @property
    def missing(self) -> list[str]:
        needed = [("age", self.patient), ("sex", self.patient), ("locations", self.complaint)]
        return [name for name, part in needed if name not in part]

    def record(self) -> dict[str, Any]:
        present = list(dict.fromkeys(self.present))
        absent = [f for f in dict.fromkeys(self.absent) if f not in present]  # a yes outweighs a no
        return {
            "patient": self.patient,
            "complaint": self.complaint,
            "findings": {"present": present, "absent": absent},
        }


def _parse(model: type[FhirModel], resource: Any, label: str) -> Any:
    try:
        return model.model_validate(resource)
    except FhirValidationError as error:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()[:5])
        raise FhirInputError(f"{label} is not a valid R4 {model.__name__}: {problems}") from None


def from_questionnaire_response(resource: dict[str, Any], terms: Terminology, intake: Intake) -> None:
    response = _parse(QuestionnaireResponse, resource, "QuestionnaireResponse")
    if response.questionnaire and response.questionnaire.split("|")[0] != terms.questionnaire:
        raise FhirInputError(f"QuestionnaireResponse answers {response.questionnaire}, not {terms.questionnaire}")
    answers: dict[str, list[Any]] = {}

    def walk(items: list[Any] | None) -> None:
        for item in items or ():
            answers[item.linkId] = list(item.answer or ())
            walk(item.item)

    walk(response.item)
    for link_id, values in answers.items():
        if values:
            _answer(link_id, values, terms, intake)


def _answer(link_id: str, values: list[Any], terms: Terminology, intake: Intake) -> None:  # noqa: PLR0912
    first = values[0]
    if link_id == "findings":
        return
    if link_id == "age" and first.valueInteger is not None:
        intake.patient["age"] = first.valueInteger
    elif link_id == "sex" and first.valueCoding is not None:
        intake.patient["sex"] = first.valueCoding.code
    elif link_id == "pregnant" and first.valueBoolean is not None:
        if first.valueBoolean:
            intake.patient.setdefault("pregnancy", {})
    elif link_id == "gestational_week" and first.valueInteger is not None:
        intake.patient.setdefault("pregnancy", {})["gestational_week"] = first.valueInteger
    elif link_id == "locations":
        intake.complaint["locations"] = [v.valueCoding.code for v in values if v.valueCoding is not None]
    elif link_id in ("side", "onset", "course") and first.valueCoding is not None:
        intake.complaint[link_id] = first.valueCoding.code
    elif link_id in ("duration_days", "severity"):
        number = first.valueDecimal if first.valueDecimal is not None else first.valueInteger
        if number is not None:
            intake.complaint[link_id] = float(number) if link_id == "duration_days" else number
    elif terms.finding_for(terms.local, link_id):
        answer = first.valueCoding.code if first.valueCoding is not None else first.valueBoolean
        if answer in ("Y", True):
            intake.present.append(link_id)
        elif answer in ("N", False):
            intake.absent.append(link_id)
    else:
        intake.unmapped.append(f"QuestionnaireResponse item '{link_id[:64]}'")


def from_patient(resource: dict[str, Any], intake: Intake, today: dt.date) -> None:
    patient = _parse(Patient, resource, "Patient")
    if patient.birthDate is not None:
        intake.patient.setdefault("age", age_on(today, patient.birthDate))
    if patient.gender in _SEXES:
        intake.patient.setdefault("sex", patient.gender)


def age_on(today: dt.date, born: dt.date | str) -> int:
    """Whole years. FHIR allows a partial birth date ("1980", "1980-05"); then the younger of the
    possible ages is used, because the red flags that depend on age concern children."""
    if isinstance(born, str):  # partial: the latest day it could be
        year, _, rest = born.partition("-")
        month = int(rest) if rest else 12
        born = dt.date(int(year), month, 28 if month == 2 else 30 if month in (4, 6, 9, 11) else 31)
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def from_observation_or_condition(resource: dict[str, Any], terms: Terminology, intake: Intake) -> None:
    kind = resource.get("resourceType") if isinstance(resource, dict) else None
    if kind not in ("Observation", "Condition"):
        intake.unmapped.append(f"{str(kind)[:40]} resource")
        return
    parsed = _parse(Observation if kind == "Observation" else Condition, resource, kind)
    label = f"{kind}/{parsed.id or '?'}"
    if kind == "Observation" and parsed.status == "entered-in-error":
        return
    if kind == "Condition" and _status(parsed.verificationStatus) == "entered-in-error":
        return
    for coding in (parsed.code.coding if parsed.code else None) or ():
        if _apply(system=coding.system, code=coding.code, parsed=parsed, kind=kind, terms=terms, intake=intake):
            return
    codes = [f"{c.system}|{c.code}" for c in ((parsed.code.coding if parsed.code else None) or ())]
    intake.unmapped.append(f"{label}: {', '.join(codes) or 'no code'}"[:200])


def _status(concept: Any) -> str | None:
    return concept.coding[0].code if concept is not None and concept.coding else None


def _apply(*, system: str | None, code: str | None, parsed: Any, kind: str, terms: Terminology, intake: Intake) -> bool:
    if terms.field_is("pregnant", system, code):
        negated = kind == "Condition" and _status(parsed.verificationStatus) == "refuted"
        if not negated:
            intake.patient.setdefault("pregnancy", {})
        return True
    if terms.field_is("gestational_week", system, code) and kind == "Observation":
        if parsed.valueQuantity is not None and parsed.valueQuantity.value is not None:
            intake.patient.setdefault("pregnancy", {})["gestational_week"] = int(parsed.valueQuantity.value)
        return True
    if terms.field_is("severity", system, code) and kind == "Observation":
        value = (
            parsed.valueInteger
            if parsed.valueInteger is not None
            else (parsed.valueQuantity.value if parsed.valueQuantity is not None else None)
        )
        if value is not None:
            intake.complaint["severity"] = float(value)
        return True
    finding = terms.finding_for(system, code)
    if finding is None:
        return False
    (intake.absent if _negated(parsed, kind) else intake.present).append(finding)
    return True


def _negated(parsed: Any, kind: str) -> bool:
    if kind == "Condition":
        return _status(parsed.verificationStatus) == "refuted"
    if parsed.valueBoolean is not None:
        return not parsed.valueBoolean
    if parsed.valueCodeableConcept is not None and parsed.valueCodeableConcept.coding:
        return parsed.valueCodeableConcept.coding[0].code in ("N", "373067005")  # No (SNOMED CT)
    return False
