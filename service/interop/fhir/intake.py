"""FHIR R4 data → the contract's symptom record.

Two inputs are understood: a QuestionnaireResponse to our intake Questionnaire, and a
Patient with Observations and Conditions coded as in rules/fhir.yaml. Whatever cannot be
mapped, or does not count (an entered-in-error or in-progress response, a cancelled
Observation, a resolved Condition), is reported back (``unmapped``), never silently dropped;
what the record still needs is reported too (``missing``). The record then goes through the
same validation as ``POST /v1/assessments``.

Data is trusted only as far as it is checked: every resource must be about the patient in
context (400 naming the resource otherwise), numbers are range-checked before they are
converted, and a finding answered both ways is taken as present (the safe side for a red
flag) and reported as a conflict.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from service import vocabulary as vocab
from service.interop.fhir.parsing import FhirInputError, parse
from service.interop.fhir.terminology import Terminology

FHIR_NUMBER_LIMIT = 10**6  # no number this service reads is anywhere near; checked before converting
_UNCOUNTED_RESPONSES = {"in-progress", "entered-in-error"}
_UNCOUNTED_OBSERVATIONS = {"cancelled", "entered-in-error"}
_PAST_CONDITIONS = {"inactive", "remission", "resolved"}  # clinicalStatus: not present now
_WEEKS = {"wk", "week", "weeks"}
_DAYS = {"d", "day", "days"}
_LEAP_SECOND = re.compile(r"(T\d\d:\d\d):60")


Span = tuple[dt.datetime, dt.datetime]  # when something was recorded: the span its FHIR date covers


@dataclass(frozen=True)
class Source:
    """The resource a single-valued field came from, and when it was recorded, if it says."""

    label: str
    recorded: Span | None = None


def recorded_span(value: dt.datetime | dt.date | str | None) -> Span | None:
    """The span a FHIR date, dateTime or instant covers: an instant is a point; a day, a month
    (``2024-03``) or a year (``2024``) its whole length, read in UTC.

    The FHIR library keeps as text what Python cannot hold: a partial date, and a leap second
    (``2016-12-31T23:59:60Z``, valid FHIR), read as the second before it."""
    if value is None:
        return None
    if isinstance(value, str) and "T" in value:
        value = dt.datetime.fromisoformat(_LEAP_SECOND.sub(r"\1:59", value, count=1))
    if isinstance(value, dt.datetime):
        instant = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
        return instant, instant
    if isinstance(value, dt.date):
        start = dt.datetime.combine(value, dt.time(), dt.UTC)
        return start, _after(lambda: start + dt.timedelta(days=1))
    year, _, month = value.partition("-")
    start = dt.datetime(int(year), int(month or 1), 1, tzinfo=dt.UTC)
    after = (int(year), int(month) + 1) if month and int(month) < 12 else (int(year) + 1, 1)
    return start, _after(lambda: dt.datetime(*after, 1, tzinfo=dt.UTC))


def _after(end: Callable[[], dt.datetime]) -> dt.datetime:
    """The end of a span, or the last moment Python can hold for one that runs to the end of
    year 9999 (a valid FHIR date: its end is past what a datetime can be)."""
    try:
        return end()
    except (OverflowError, ValueError):
        return dt.datetime.max.replace(tzinfo=dt.UTC)


def later(first: Span | None, second: Span | None) -> bool:
    """Whether ``first`` was recorded after ``second`` as far as the dates tell: an undated
    record counts as the oldest, and spans that overlap (a day and a time on it) tell nothing."""
    if first is None:
        return False
    return second is None or (first[0] >= second[1] and first[0] > second[0])


@dataclass
class Intake:
    patient_id: str  # context.patientId: every resource read must be about this patient
    patient: dict[str, Any] = field(default_factory=dict)
    complaint: dict[str, Any] = field(default_factory=dict)
    present: list[str] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)  # "Observation/7: http://snomed.info/sct|1234"
    # the unmapped Observations and Conditions that count but could not be read: any may hold a red flag
    unread: list[str] = field(default_factory=list)
    differing: list[str] = field(default_factory=list)  # one value recorded differently: which was assessed
    sources: dict[str, Source] = field(default_factory=dict)  # of the single-valued fields set so far
    # gestational weeks recorded differently with no date to tell which is current: the week is
    # left out of the record and each of these is assessed (service.reasoning.unrecorded)
    candidate_weeks: set[int] = field(default_factory=set)
    today: dt.date | None = None  # for the EHR's dated Observations: a gestational age measured weeks ago
    # an answer outside the contract (a severity of 11, a location 'knee'): kept, for the
    # contract's validation to refuse naming its item, when the patient's app can ask again;
    # from an EHR's record, listed as not used and the rest assessed
    can_ask_again: bool = False

    @property
    def missing(self) -> list[str]:
        needed = [("age", self.patient), ("sex", self.patient), ("locations", self.complaint)]
        return [name for name, part in needed if name not in part]

    @property
    def conflicts(self) -> list[str]:
        """Findings recorded both present and absent; the record takes them as present."""
        return [f for f in dict.fromkeys(self.present) if f in self.absent]

    def record(self) -> dict[str, Any]:
        present = list(dict.fromkeys(self.present))
        absent = [f for f in dict.fromkeys(self.absent) if f not in present]  # a yes outweighs a no
        return {
            "patient": self.patient,
            "complaint": self.complaint,
            "findings": {"present": present, "absent": absent},
        }


def _about_the_patient(reference: Any, intake: Intake, label: str) -> None:
    """Refuse a resource whose subject is not ``Patient/<context.patientId>`` (relative or absolute)."""
    target = (reference.reference or "") if reference is not None else ""
    target = target.split("/_history/")[0]
    wanted = f"Patient/{intake.patient_id}"
    if target != wanted and not target.endswith(f"/{wanted}"):
        raise FhirInputError(f"{label} is not about the patient in context (context.patientId)")


def _bounded(value: Any, label: str, what: str) -> Decimal | int | float:
    """``value`` if it is a finite number of sane size; checked before any conversion, because
    converting a number like 1e999999 to an integer takes a worker minutes."""
    finite = value.is_finite() if isinstance(value, Decimal) else not isinstance(value, float) or math.isfinite(value)
    if not finite or abs(value) > FHIR_NUMBER_LIMIT:
        raise FhirInputError(f"{label}: {what} is out of range")
    return value  # type: ignore[no-any-return]


def label_of(resource: Any) -> str:
    """How a parsed resource is named in refusals and reports: ``Observation/7``."""
    return f"{resource.get_resource_type()}/{(resource.id or '?')[:64]}"


def counts(response: Any, intake: Intake) -> bool:
    """Whether a parsed QuestionnaireResponse informs the triage: one in progress or entered in
    error does not, and is reported as not counted."""
    if response.status in _UNCOUNTED_RESPONSES:
        intake.unmapped.append(f"{label_of(response)}: status {response.status}, not counted")
        return False
    return True


def from_questionnaire_response(response: Any, terms: Terminology, intake: Intake) -> None:
    """The answers of a parsed QuestionnaireResponse that counts (:func:`counts`), if it is
    about the patient. Several may be read into one intake (responses the dates cannot
    order): their answers then meet as those of several resources do (see :func:`_single`)."""
    label = label_of(response)
    if response.questionnaire and response.questionnaire.split("|")[0] != terms.questionnaire:
        raise FhirInputError(f"{label} answers another Questionnaire, not {terms.questionnaire}")
    _about_the_patient(response.subject, intake, label)
    read_answers(response, terms, intake, label)


def parse_questionnaire_response(resource: Any) -> Any:
    """``resource`` as an R4 QuestionnaireResponse model, or :class:`FhirInputError`."""
    return parse(QuestionnaireResponse, resource, "QuestionnaireResponse")


def read_answers(response: Any, terms: Terminology, intake: Intake, label: str) -> None:
    """The answers of a parsed QuestionnaireResponse to items of the intake Questionnaire
    (at any depth), into ``intake``; items it does not know are reported as unmapped.

    Items nested under an answer (``answer.item``, which FHIR allows) are refused: the intake
    Questionnaire nests none, and read past, a "yes" nested there would be lost for good (the
    interview counts an item as asked once it appears)."""
    answers: dict[str, list[Any]] = {}

    def walk(items: list[Any] | None) -> None:
        for item in items or ():
            if any(answer.item for answer in item.answer or ()):
                raise FhirInputError(
                    f"{label}: item '{item.linkId[:64]}' has items nested under an answer; "
                    "the intake Questionnaire nests none there"
                )
            answers.setdefault(item.linkId, []).extend(item.answer or ())  # an item given twice keeps both
            walk(item.item)

    walk(response.item)
    pregnant = answers.get("pregnant") or ()
    if pregnant and all(value.valueBoolean is False for value in pregnant) and answers.pop("gestational_week", []):
        # a week left over from an earlier answer made a pregnancy the patient had just denied
        intake.differing.append(f"{label}: a gestational week, though pregnancy was answered no: not used")
    source = Source(label, recorded_span(response.authored))
    for link_id, values in answers.items():
        if values:
            _answer(link_id, values, terms, intake, source)


def _one(link_id: str, values: list[Any], label: str) -> Any:
    """The one answer a single-valued item has; different answers to it are refused, not guessed."""
    if any(value != values[0] for value in values[1:]):  # compared as models: never serialised
        raise FhirInputError(f"{label}: item '{link_id}' has conflicting answers")
    return values[0]


def _answer(link_id: str, values: list[Any], terms: Terminology, intake: Intake, source: Source) -> None:
    """Read one item's answers into ``intake``.

    An answer that is not of the item's type — a yes as text, a pregnancy as a coding, an age as
    a decimal — is refused, never skipped: the interview counts an item as asked once it has an
    answer, so a skipped "yes" to a red-flag question would be lost for good. A coding is read by
    its code when it names no system, and refused when it names another system than the item's.
    """
    label = source.label
    if link_id == "findings":
        raise FhirInputError(f"{label}: item 'findings' is a group, answered in its items, not itself")
    reader = _READERS.get(link_id)
    if terms.finding_for(terms.local, link_id):
        _finding(link_id, values, terms, intake, source)
    elif reader is None:
        intake.unmapped.append(f"QuestionnaireResponse item '{link_id[:64]}'")
    else:
        reader(link_id, values, terms, intake, source)


def _finding(link_id: str, values: list[Any], terms: Terminology, intake: Intake, source: Source) -> None:
    """Yes, no or unknown; every answer counts: a yes and a no make a conflict, taken as present."""
    label = source.label
    yes_no, unknown = terms.systems["yes_no"], terms.systems["null_flavor"]
    systems = {"Y": yes_no, "N": yes_no, "UNK": unknown}
    for value in values:
        coding = value.valueCoding
        if value.valueBoolean is not None:
            said: bool | None = value.valueBoolean
        elif coding is not None and coding.code in systems and coding.system in (None, systems[coding.code]):
            said = {"Y": True, "N": False}.get(coding.code)
        else:
            raise FhirInputError(
                f"{label}: item '{link_id}' must be answered {yes_no}|Y, {yes_no}|N, {unknown}|UNK or a valueBoolean"
            )
        if said is not None:
            (intake.present if said else intake.absent).append(link_id)


def _pregnant(link_id: str, values: list[Any], terms: Terminology, intake: Intake, source: Source) -> None:
    """The safe side: pregnant if any answer says so."""
    label = source.label
    if any(value.valueBoolean is None for value in values):
        raise FhirInputError(f"{label}: item '{link_id}' must be answered with a valueBoolean")
    if any(value.valueBoolean for value in values):
        intake.patient.setdefault("pregnancy", {})


def _locations(link_id: str, values: list[Any], terms: Terminology, intake: Intake, source: Source) -> None:
    """Where it hurts; another response's locations (the dates cannot order them) are kept too:
    each location has red flags of its own."""
    codes = [_coded(value, (terms.local,), link_id, source.label) for value in values]
    kept = [code for code in dict.fromkeys(codes) if _a_contract_code(intake, source, link_id, code)]
    if not kept:  # none left: the location is not recorded
        return
    held = intake.complaint.get("locations")
    if held is not None and set(held) != set(kept):
        intake.differing.append(f"{source.label}: locations differ from another response's, all are assessed")
    intake.complaint["locations"] = list(dict.fromkeys([*(held or ()), *kept]))
    intake.sources.setdefault("locations", source)


# Of a choice answered differently by responses the dates cannot order, the answer kept
# (rules/derived.yaml; tests/test_fhir_trust.py checks these against the rules). The red
# flags test a sudden onset, a worsening course (from 50, worsening pain at night), and pain
# on both sides (cauda equina, an emergency) or on one side (first-trimester groin pain,
# urgent): both sides outweigh one, and the left and the right fire the same rules. They take
# an unknown course as not settled, like a worsening or recurring one, so any other pair is
# taken as unknown. A sex is left out instead, and every sex assessed, as when none is recorded.
OUTWEIGHS = {"onset": "sudden", "course": "worsening", "side": "both"}
SAME_RULES = {"side": frozenset({"left", "right"})}


def _choice(link_id: str, values: list[Any], terms: Terminology, intake: Intake, source: Source) -> None:
    label = source.label
    part, system = (intake.patient, terms.systems["gender"]) if link_id == "sex" else (intake.complaint, terms.local)
    code = _coded(_one(link_id, values, label), (system,), link_id, label)
    if not _a_contract_code(intake, source, link_id, code):
        return
    if link_id == "sex":
        _sex(intake, code, source)
        return
    held = intake.sources.get(link_id)
    if held is None or part.get(link_id) == code:
        intake.sources.setdefault(link_id, source)
        part[link_id] = code
        return
    answered = {code, part[link_id]}
    if OUTWEIGHS.get(link_id) in answered:
        part[link_id] = OUTWEIGHS[link_id]
    elif answered <= SAME_RULES.get(link_id, frozenset()):
        part[link_id] = min(answered)  # either: not picked by the order of the data
    else:
        part[link_id] = "unknown"
    intake.differing.append(f"{label}: {link_id} differs from {held.label}'s, '{part[link_id]}' is assessed")


def _sex(intake: Intake, code: str, source: Source) -> None:
    """A sex from a questionnaire or the Patient; two that differ are both left out and every
    sex assessed (as when none is recorded), never one picked by the order of the data."""
    held = intake.sources.get("sex")
    if held is None:
        intake.sources["sex"] = source
        intake.patient["sex"] = code
    elif "sex" not in intake.patient:  # already left out: two records disagreed
        intake.differing.append(f"{source.label}: sex not used either, the records disagree: every sex is assessed")
    elif intake.patient["sex"] != code:
        del intake.patient["sex"]
        intake.differing.append(
            f"{source.label}: sex differs from {held.label}'s, neither is used: every sex is assessed"
        )


def _whole_number(link_id: str, values: list[Any], terms: Terminology, intake: Intake, source: Source) -> None:
    label = source.label
    number = _one(link_id, values, label).valueInteger
    if number is None:
        raise FhirInputError(f"{label}: item '{link_id}' must be answered with a valueInteger")
    _answered_number(intake, link_id, int(_bounded(number, label, link_id.replace("_", " "))), source)


def _quantity(link_id: str, values: list[Any], terms: Terminology, intake: Intake, source: Source) -> None:
    label = source.label
    first = _one(link_id, values, label)
    number = first.valueDecimal if first.valueDecimal is not None else first.valueInteger
    if number is None:
        raise FhirInputError(f"{label}: item '{link_id}' must be answered with a valueDecimal or valueInteger")
    number = _bounded(number, label, link_id)
    _answered_number(intake, link_id, float(number) if isinstance(number, Decimal) else number, source)


# what the contract holds for each answer (service.reasoning.record)
_CONTRACT_CODES = {
    "locations": vocab.LOCATIONS,
    "sex": vocab.SEXES,
    "side": vocab.SIDES,
    "onset": vocab.ONSETS,
    "course": vocab.COURSES,
}
_CONTRACT_RANGES = {
    "age": vocab.AGE_RANGE,
    "gestational_week": vocab.GESTATIONAL_WEEK_RANGE,
    "severity": vocab.SEVERITY_RANGE,
    "duration_days": (0, FHIR_NUMBER_LIMIT),
}


def _a_contract_code(intake: Intake, source: Source, link_id: str, code: str) -> bool:
    """Whether an answer's code is one the contract has (or is kept for it to refuse, see
    ``Intake.can_ask_again``); one it has not (sex ``F``, location ``knee``) is listed as not used."""
    if intake.can_ask_again or code in _CONTRACT_CODES[link_id]:
        return True
    intake.unmapped.append(f"{source.label}: {link_id} '{code[:40]}' is not a code of the intake, not used")
    return False


def _answered_number(intake: Intake, link_id: str, value: float, source: Source) -> None:
    """A number answered for ``link_id``, if the contract can hold it (see ``Intake.can_ask_again``).

    An age or a gestational week is counted on from when the response was ``authored`` to
    the day read, as a gestational age Observation is from when it was measured: ages only
    grow, and a questionnaire answered at 62 four years ago must not hide the red flags of 66."""
    what, limits = link_id.replace("_", " "), _CONTRACT_RANGES[link_id]
    if intake.can_ask_again:
        _single(intake, link_id, value, source)
        return
    if not _recorded_in_range(intake, source.label, what, value, limits):
        return
    if link_id == "age":
        value += _years_since(source.recorded, intake.today)
    elif link_id == "gestational_week":
        value += _weeks_since(source.recorded, intake.today)
    if value > limits[1]:
        intake.unmapped.append(f"{source.label}: {what} would now be {int(value)}, not used")
        return
    _single(intake, link_id, value, source)


def _coded(value: Any, systems: tuple[str, ...], link_id: str, label: str) -> str:
    """The code of an answer that must be a coding from one of ``systems`` (or naming none)."""
    coding = value.valueCoding
    if coding is None or coding.code is None or (coding.system is not None and coding.system not in systems):
        raise FhirInputError(
            f"{label}: item '{link_id}' must be answered with a valueCoding from {' or '.join(systems)}"
        )
    return str(coding.code)


_READERS = {
    "pregnant": _pregnant,
    "locations": _locations,
    "sex": _choice,
    "side": _choice,
    "onset": _choice,
    "course": _choice,
    "age": _whole_number,
    "gestational_week": _whole_number,
    "duration_days": _quantity,
    "severity": _quantity,
}


def from_patient(resource: dict[str, Any], intake: Intake, today: dt.date) -> None:
    patient = parse(Patient, resource, "Patient")
    if patient.id != intake.patient_id:
        raise FhirInputError(f"Patient/{(patient.id or '?')[:64]} is not the patient in context (context.patientId)")
    if patient.birthDate is not None:
        label, age = f"Patient/{patient.id[:64]} birthDate", age_on(today, patient.birthDate)
        if _recorded_in_range(intake, label, "age", age, vocab.AGE_RANGE):
            _single(intake, "age", age, Source(label))
    if patient.gender is not None:  # one of the four administrative genders: parse refuses any other
        _sex(intake, patient.gender, Source(f"Patient/{patient.id[:64]} gender"))


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
    ident = resource.get("id")
    label = f"{kind}/{ident[:64] if isinstance(ident, str) and ident else '?'}"  # names it in a refusal too
    parsed = parse(Observation if kind == "Observation" else Condition, resource, label)
    _about_the_patient(parsed.subject, intake, label)
    if reason := _not_counted(parsed, kind, terms):
        intake.unmapped.append(f"{label}: {reason}, not counted")
        return
    for coding in (parsed.code.coding if parsed.code else None) or ():
        if _apply(
            system=coding.system, code=coding.code, parsed=parsed, kind=kind, label=label, terms=terms, intake=intake
        ):
            return
    codes = [f"{c.system}|{c.code}" for c in ((parsed.code.coding if parsed.code else None) or ())]
    intake.unmapped.append(f"{label}: {', '.join(codes) or 'no code'}"[:200])
    intake.unread.append(label)


def _not_counted(parsed: Any, kind: str, terms: Terminology) -> str | None:
    """Why this Observation or Condition says nothing about the patient now, if it does not.

    A past Condition still counts for a finding about the past (``history`` in fhir.yaml)."""
    if kind == "Observation":
        return f"status {parsed.status}" if parsed.status in _UNCOUNTED_OBSERVATIONS else None
    verification = _status(parsed.verificationStatus)
    if verification == "entered-in-error":
        return "entered in error"
    clinical = _status(parsed.clinicalStatus)
    if clinical in _PAST_CONDITIONS and verification != "refuted":  # refuted still says "absent"
        codings = (parsed.code.coding if parsed.code else None) or ()
        if any(terms.finding_for(c.system, c.code) in terms.history for c in codings):
            return None
        return f"clinical status {clinical}"
    return None


def _status(concept: Any) -> str | None:
    return concept.coding[0].code if concept is not None and concept.coding else None


def _apply(
    *, system: str | None, code: str | None, parsed: Any, kind: str, label: str, terms: Terminology, intake: Intake
) -> bool:
    if terms.field_is("pregnant", system, code) or (terms.is_pregnancy_status(system, code) and kind == "Observation"):
        _pregnancy(
            status=terms.is_pregnancy_status(system, code),
            parsed=parsed,
            kind=kind,
            label=label,
            terms=terms,
            intake=intake,
        )
        return True
    if terms.field_is("gestational_week", system, code) and kind == "Observation":
        week, recorded = _gestational_week(parsed, label, intake), _observed_at(parsed)
        if week is None:
            return True
        week += _weeks_since(recorded, intake.today)
        if week > vocab.GESTATIONAL_WEEK_RANGE[1]:  # the pregnancy it was measured in has ended
            intake.unmapped.append(f"{label}: gestational age would now be past week {week - 1}, not used")
        elif _recorded_in_range(intake, label, "gestational age", week, vocab.GESTATIONAL_WEEK_RANGE):
            _single(intake, "gestational_week", week, Source(label, recorded))
        return True
    if terms.field_is("severity", system, code) and kind == "Observation":
        severity = _number(parsed)
        if severity is None:
            intake.unmapped.append(f"{label}: severity not given as a valueInteger or valueQuantity, not used")
        else:
            value = float(_bounded(severity, label, "severity"))
            if _recorded_in_range(intake, label, "severity", value, vocab.SEVERITY_RANGE):
                _single(intake, "severity", value, Source(label))
        return True
    finding = terms.finding_for(system, code)
    if finding is None:
        return False
    (intake.absent if _negated(parsed, kind) else intake.present).append(finding)
    return True


def _pregnancy(*, status: bool, parsed: Any, kind: str, label: str, terms: Terminology, intake: Intake) -> None:
    """Pregnant, as a finding is read (an Observation "false" or "No" is not pregnant), or from
    a pregnancy-status Observation's answer (``status``: LOINC 82810-3), listed when not read."""
    if not status:
        pregnant: bool | None = not _negated(parsed, kind)
    else:
        value = parsed.valueCodeableConcept
        pregnant = terms.pregnant_by((c.system, c.code) for c in ((value.coding if value else None) or ()))
        if pregnant is None:
            intake.unmapped.append(f"{label}: pregnancy status answer not read, not used")
            intake.unread.append(label)
    if pregnant:
        intake.patient.setdefault("pregnancy", {})


_KEPT = {
    "age": "the older is assessed",
    "duration_days": "the shorter is assessed",
    "severity": "the higher is assessed",
    "gestational_week": "the later is assessed",
}


def _single(intake: Intake, name: str, value: float, source: Source) -> None:
    """Set a single-valued field (age, severity, duration, gestational week) from ``source``.

    A value another resource gave differently is never overwritten or kept silently, by the
    order of the data: severity takes the higher (the safe side); gestational age the later
    record (early and late pregnancy each have red flags of their own, so no week is the safe
    side), and when the dates do not tell which is later, neither: the week is left out and
    the triage assesses each of the weeks recorded (``candidate_weeks``); age the older (the
    bands of fracture, aneurysm and cancer rise with age, so no red flag is lost; an answered
    age is first counted on from when it was answered); a duration, which only responses the
    dates cannot order give twice, the shorter. The value not used is reported, with the
    resource it came from."""
    if name == "gestational_week":
        part = intake.patient.setdefault("pregnancy", {})
    else:
        part = intake.patient if name == "age" else intake.complaint
    if name == "gestational_week" and intake.candidate_weeks:
        intake.candidate_weeks.add(int(value))
        intake.differing.append(f"{source.label}: gestational week {int(value)}, also assessed (the records disagree)")
        return
    held = intake.sources.get(name)
    if held is None or part[name] == value:
        intake.sources.setdefault(name, source)
        part[name] = value
        return
    if name in ("severity", "age"):
        replace = value > part[name]
    elif name == "duration_days":  # new symptoms are the cauda equina pathway's; not given is taken as new
        replace = value < part[name]
    else:  # the gestational week
        replace = later(source.recorded, held.recorded)
        if not replace and not later(held.recorded, source.recorded):
            intake.candidate_weeks.update((int(part[name]), int(value)))
            del part[name]
            intake.differing.append(
                f"{source.label} and {held.label}: different gestational ages, and their dates do not tell which "
                "is current; each is assessed"
            )
            return
    kept, dropped = (source, held) if replace else (held, source)
    if replace:
        part[name], intake.sources[name] = value, source
    why = _KEPT[name]
    intake.differing.append(f"{dropped.label}: {name.replace('_', ' ')} differs from {kept.label}'s, not used ({why})")


def _observed_at(observation: Any) -> Span | None:
    """When an Observation was made (effective[x]), or else issued; None if it does not say."""
    period = observation.effectivePeriod
    return recorded_span(
        observation.effectiveDateTime
        or observation.effectiveInstant
        or (period.end or period.start if period is not None else None)
        or observation.issued
    )


def _number(observation: Any) -> Decimal | int | None:
    """An Observation's value if it is a number (a valueInteger, or a valueQuantity's value);
    any other kind of value (text, a code, components) is not guessed at."""
    if observation.valueInteger is not None:
        return observation.valueInteger  # type: ignore[no-any-return]
    return observation.valueQuantity.value if observation.valueQuantity is not None else None


def _recorded_in_range(intake: Intake, label: str, what: str, value: float, limits: tuple[int, int]) -> bool:
    """Whether an EHR's value is within the contract's range; one outside it (a severity of 11,
    a gestational age of 3 days, a birth date in the future) is reported as not used, so the
    rest of the record is still assessed, rather than refusing the whole call and every card."""
    if limits[0] <= value <= limits[1]:
        return True
    intake.unmapped.append(f"{label}: {what} outside {limits[0]}-{limits[1]}, not used")
    return False


def _weeks_since(recorded: Span | None, today: dt.date | None) -> int:
    """Whole weeks from when a gestational age was measured to today: a pregnancy goes on, and
    an age recorded at a visit months ago would put a woman at 28 weeks back on the early
    pregnancy pathway. Counted from the latest moment the date allows (a month: its last day),
    so no week is added that may not have passed; undated, none."""
    if recorded is None or today is None:
        return 0
    return max(0, (today - _last_day(recorded)).days) // 7


def _years_since(recorded: Span | None, today: dt.date | None) -> int:
    """Whole years from when an age was answered to today, counted like :func:`_weeks_since`
    from the latest day the date allows; undated, none."""
    if recorded is None or today is None:
        return 0
    return max(0, age_on(today, _last_day(recorded)))


def _last_day(recorded: Span) -> dt.date:
    start, after = recorded  # a span of a day or more ends just before `after`
    return start.date() if after == start else (after - dt.timedelta(microseconds=1)).date()


def _gestational_week(observation: Any, label: str, intake: Intake) -> int | None:
    """Completed weeks from a quantity in weeks or days (UCUM ``wk``/``d``; no unit, or a
    valueInteger: weeks, as the LOINC code says). None, reported as not used, if the
    Observation gives no number, or gives it in any other unit: a month is no fixed number of
    weeks, and a UCUM annotation such as ``{wk}`` is a bare number, so either taken as weeks
    could put a pregnancy on the wrong side of a rule's week; the pregnancy is then assessed
    for every week (:mod:`service.reasoning.unrecorded`), and the other cards still shown."""
    number = _number(observation)
    if number is None:
        intake.unmapped.append(f"{label}: gestational age not given as a valueQuantity or valueInteger, not used")
        return None
    value = _bounded(number, label, "gestational age")
    quantity = observation.valueQuantity
    unit = (((quantity.code or quantity.unit) if quantity is not None else None) or "wk").strip().lower()
    if unit in _WEEKS:
        return int(value)
    if unit in _DAYS:
        return int(value) // 7
    intake.unmapped.append(f"{label}: gestational age in '{unit[:40]}', not weeks (wk) or days (d), not used")
    return None


def _negated(parsed: Any, kind: str) -> bool:
    if kind == "Condition":
        return _status(parsed.verificationStatus) == "refuted"
    if parsed.valueBoolean is not None:
        return not parsed.valueBoolean
    if parsed.valueCodeableConcept is not None and parsed.valueCodeableConcept.coding:
        return parsed.valueCodeableConcept.coding[0].code in ("N", "373067005")  # No (SNOMED CT)
    return False
