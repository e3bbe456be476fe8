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
from collections.abc import Set as AbstractSet
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
from service.reasoning.unrecorded import PATHS, UNKNOWN

FHIR_NUMBER_LIMIT = 10**6  # no number this service reads is anywhere near; checked before converting
_UNCOUNTED_RESPONSES = {"in-progress", "entered-in-error"}
_UNCOUNTED_OBSERVATIONS = {"cancelled", "entered-in-error"}
_PAST_CONDITIONS = {"inactive", "remission", "resolved"}  # clinicalStatus: not present now
_WEEKS = {"wk", "week", "weeks"}
_DAYS = {"d", "day", "days"}
_LEAP_SECOND = re.compile(r"(T\d\d:\d\d):60")


Span = tuple[dt.datetime, dt.datetime]  # when something was recorded: the span its FHIR date covers
Counting = Callable[[int, dt.date, dt.date, dt.date], range]  # a value recorded from a first to a last day, on a day


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
    return None if value is None else span_of(value)


def span_of(value: dt.datetime | dt.date | str) -> Span:
    """The span of a FHIR date, dateTime or instant that is given (see :func:`recorded_span`)."""
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


# each of the record's fields by the name service.reasoning.unrecorded gives it
_NAMES = {path[-1]: name for name, path in PATHS.items()}


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
    # the gestational weeks or ages the records allow when they do not fix one (records that
    # disagree with no date to tell which is current; a measurement or birth date given only
    # to the month or year): the value is left out of the record and each of these is
    # assessed (service.reasoning.unrecorded)
    candidate_weeks: set[int] = field(default_factory=set)
    candidate_ages: set[int] = field(default_factory=set)
    # the same for a sex, an onset, a course, a side or a duration the records give differently,
    # and a severity given only as a bound, by the record's field: each value some record gives
    candidate_values: dict[str, set[Any]] = field(default_factory=dict)
    # weeks from records whose dates cannot tell which is current: every later week joins them
    weeks_undecided: bool = False
    ages_undecided: bool = False  # the same for ages two records allow none of in common
    today: dt.date | None = None  # for the EHR's dated Observations: a gestational age measured weeks ago
    # the pregnancy records read as current by their own dates, each with when it says the
    # pregnancy was under way, and the gestational ages whose pregnancy has ended, each with
    # when it was measured: :func:`end_pregnancies_measured_over` reads them together
    pregnancy_records: list[tuple[str, Span | None]] = field(default_factory=list)
    ended_gestations: list[tuple[str, Span]] = field(default_factory=list)
    # an answer outside the contract (a severity of 11, a location 'knee'): kept, for the
    # contract's validation to refuse naming its item, when the patient's app can ask again;
    # from an EHR's record, listed as not used and the rest assessed. So is an answer of
    # another kind or shape than its item takes (UnreadAnswerError): refused, or listed as unread
    can_ask_again: bool = False

    @property
    def missing(self) -> list[str]:
        needed = [("age", self.patient), ("sex", self.patient), ("locations", self.complaint)]
        return [name for name, part in needed if name not in part]

    @property
    def candidates(self) -> dict[str, tuple[int, ...]]:
        """The values the record leaves out but the records narrow down, by the name
        :func:`service.reasoning.record.missing_values` gives them."""
        found = {"age": self.candidate_ages, "gestational week": self.candidate_weeks}
        found |= {_NAMES[name]: values for name, values in self.candidate_values.items()}
        return {name: tuple(sorted(values)) for name, values in found.items() if values}

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


def counts(response: Any, terms: Terminology, intake: Intake) -> bool:
    """Whether a parsed QuestionnaireResponse informs the triage: one in progress or entered in
    error does not, nor one to another Questionnaire (its link ids mean something else there);
    each is reported as not counted, and the rest of the call assessed. Before, another
    Questionnaire made the call a 400 that hid every card."""
    label = label_of(response)
    if response.status in _UNCOUNTED_RESPONSES:
        intake.unmapped.append(f"{label}: status {response.status}, not counted")
        return False
    if not answers_the_intake(response, terms):
        intake.unmapped.append(f"{label}: answers another Questionnaire than {terms.questionnaire}, not counted")
        return False
    return True


def answers_the_intake(response: Any, terms: Terminology) -> bool:
    """Whether a parsed QuestionnaireResponse answers the intake Questionnaire: it names the
    intake's canonical URL (any version) or no Questionnaire, or references a contained one
    ``derivedFrom`` the intake, as the adaptive form ``$next-question`` completes does
    (``#adaptive``): an EHR may file that response as it is, and its answers, the
    patient's to the intake's own items, must count (they were refused with 400)."""
    reference = response.questionnaire
    if not reference:
        return True
    if not reference.startswith("#"):
        return _canonical(reference) == terms.questionnaire
    contained = (r for r in response.contained or () if r.get_resource_type() == "Questionnaire")
    derived = next((q for q in contained if q.id == reference[1:]), None)
    return derived is not None and any(_canonical(url) == terms.questionnaire for url in derived.derivedFrom or ())


def _canonical(url: str) -> str:
    """A canonical reference without its ``|version``."""
    return url.split("|", maxsplit=1)[0]


def from_questionnaire_response(response: Any, terms: Terminology, intake: Intake) -> None:
    """The answers of a parsed QuestionnaireResponse that counts (:func:`counts`), if it is
    about the patient. Several may be read into one intake (responses the dates cannot
    order): their answers then meet as those of several resources do (see :func:`_chosen`)."""
    label = label_of(response)
    _about_the_patient(response.subject, intake, label)
    read_answers(response, terms, intake, label)


def parse_questionnaire_response(resource: Any) -> Any:
    """``resource`` as an R4 QuestionnaireResponse model, or :class:`FhirInputError`."""
    return parse(QuestionnaireResponse, resource, "QuestionnaireResponse")


class UnreadAnswerError(FhirInputError):
    """An answer of another kind or shape than its item takes: a yes as text, an age as a
    decimal, a sex coded in SNOMED CT, two different answers to a single-valued item, items
    nested under an answer. It is never skipped as if unanswered. Where the patient can be
    asked again (``$next-question``, ``Intake.can_ask_again``) it is refused, a 400 naming the
    item: the interview counts an item as asked once it has an answer, so a skipped "yes" to a
    red-flag question would be lost for good. From an EHR's record, which nobody can correct
    during the call, the item is listed as not used, as one that may hold a red flag, and the
    rest is assessed: a 400 there hid every card, an emergency recorded beside it among them."""


def _not_read(intake: Intake, error: UnreadAnswerError, what: str) -> None:
    """Refuse ``error`` where the patient can be asked again, else list ``what`` as not used
    and as unread (the summary then says its answer rests on the data read only)."""
    if intake.can_ask_again:
        raise error
    intake.unmapped.append(f"{error}: {what} not used")
    intake.unread.append(str(error))


def read_answers(response: Any, terms: Terminology, intake: Intake, label: str) -> None:
    """The answers of a parsed QuestionnaireResponse to items of the intake Questionnaire
    (at any depth), into ``intake``; items it does not know are reported as unmapped, and
    answers that are not of their item's kind or shape are not read (:class:`UnreadAnswerError`).

    Items nested under an answer (``answer.item``, which FHIR allows) are not read: the intake
    Questionnaire nests none there, and read past, a "yes" nested there would be lost for good
    (the interview counts an item as asked once it appears)."""
    answers: dict[str, list[Any]] = {}

    def walk(items: list[Any] | None) -> None:
        for item in items or ():
            if nested := [child.linkId[:64] for answer in item.answer or () for child in answer.item or ()]:
                error = UnreadAnswerError(
                    f"{label}: item '{item.linkId[:64]}' has items nested under an answer; "
                    "the intake Questionnaire nests none there"
                )
                _not_read(intake, error, f"the items nested there ({', '.join(nested[:5])})")
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
            try:
                _answer(link_id, values, terms, intake, source)
            except UnreadAnswerError as error:
                _not_read(intake, error, "its answer is")


def _one(link_id: str, values: list[Any], label: str) -> Any:
    """The one answer a single-valued item has; different answers to it are not guessed between."""
    if any(value != values[0] for value in values[1:]):  # compared as models: never serialised
        raise UnreadAnswerError(f"{label}: item '{link_id}' has conflicting answers")
    return values[0]


def _answer(link_id: str, values: list[Any], terms: Terminology, intake: Intake, source: Source) -> None:
    """Read one item's answers into ``intake``, all of them or none (:class:`UnreadAnswerError`).

    An answer that is not of the item's type — a yes as text, a pregnancy as a coding, an age as
    a decimal — is never skipped as if unanswered. A coding is read by its code when it names no
    system, and not read when it names another system than the item's.
    """
    label = source.label
    if link_id == "findings":
        raise UnreadAnswerError(f"{label}: item 'findings' is a group, answered in its items, not itself")
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
    answers: list[bool | None] = []
    for value in values:
        coding = value.valueCoding
        if value.valueBoolean is not None:
            answers.append(value.valueBoolean)
        elif coding is not None and coding.code in systems and coding.system in (None, systems[coding.code]):
            answers.append({"Y": True, "N": False}.get(coding.code))
        else:
            raise UnreadAnswerError(
                f"{label}: item '{link_id}' must be answered {yes_no}|Y, {yes_no}|N, {unknown}|UNK or a valueBoolean"
            )
    for said in answers:
        if said is not None:
            (intake.present if said else intake.absent).append(link_id)


def _pregnant(link_id: str, values: list[Any], terms: Terminology, intake: Intake, source: Source) -> None:
    """The safe side: pregnant if any answer says so, unless the response was authored 44
    weeks ago or more (:func:`_pregnant_now`)."""
    label = source.label
    if any(value.valueBoolean is None for value in values):
        raise UnreadAnswerError(f"{label}: item '{link_id}' must be answered with a valueBoolean")
    if any(value.valueBoolean for value in values):
        _pregnant_now(intake, label, source.recorded)


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


def _choice(link_id: str, values: list[Any], terms: Terminology, intake: Intake, source: Source) -> None:
    label = source.label
    part, system = (intake.patient, terms.systems["gender"]) if link_id == "sex" else (intake.complaint, terms.local)
    code = _coded(_one(link_id, values, label), (system,), link_id, label)
    if _a_contract_code(intake, source, link_id, code):
        _chosen(intake, part, link_id, code, source)


def _chosen(intake: Intake, part: dict[str, Any], name: str, code: str, source: Source) -> None:
    """A sex, onset, course or side from ``source``, into ``part`` (the patient's or the complaint's).

    ``unknown`` says nothing a known value does not: beside one, it is no answer (a form's sex
    ``unknown`` left a Patient's ``female`` out, and every sex was assessed, male included; a
    second form's side ``unknown`` replaced ``left``, and the first-trimester one-sided groin
    pain was lost). Known values that differ are never picked between by the order of the data,
    nor replaced by one no record gives: each is a candidate, and the triage assesses each
    (:mod:`service.reasoning.unrecorded`; values that fire the same rules, left and right,
    female and other, as one). No value outweighs the others: pain on both sides fires the
    cauda equina red flags, pain on one side the first-trimester groin pain's; a sudden onset
    fires some red flags, one not sudden others (a blood thinner with a leg that cannot bear
    weight)."""
    held = intake.sources.get(name)
    candidates = intake.candidate_values.setdefault(name, set())
    current = _held(part, name, candidates)
    if held is None or current == {UNKNOWN}:
        if held is None or code != UNKNOWN:
            intake.sources[name] = source
            _narrowed(part, name, candidates, {code})
        return
    if code == UNKNOWN or code in current:
        return
    _narrowed(part, name, candidates, current | {code})
    intake.differing.append(f"{source.label}: {name} '{code}' differs from {held.label}'s, each is assessed")


def not_male_when_pregnant(intake: Intake) -> None:
    """A sex male beside a pregnancy: the contract refuses the pair, and an administrative
    gender need not match the body (a pregnant trans man), so the pregnancy is believed and
    the male left out: every other sex is assessed, or the others the records give."""
    candidates = intake.candidate_values.get("sex", set())
    if "pregnancy" not in intake.patient or "male" not in _held(intake.patient, "sex", candidates):
        return
    if candidates:
        _narrowed(intake.patient, "sex", candidates, candidates - {"male"})
    else:
        del intake.patient["sex"]
    intake.differing.append("sex male, with a pregnancy recorded: not used (the pregnancy is believed)")


def _whole_number(link_id: str, values: list[Any], terms: Terminology, intake: Intake, source: Source) -> None:
    label = source.label
    number = _one(link_id, values, label).valueInteger
    if number is None:
        raise UnreadAnswerError(f"{label}: item '{link_id}' must be answered with a valueInteger")
    _answered_number(intake, link_id, int(_bounded(number, label, link_id.replace("_", " "))), source)


def _quantity(link_id: str, values: list[Any], terms: Terminology, intake: Intake, source: Source) -> None:
    label = source.label
    first = _one(link_id, values, label)
    number = first.valueDecimal if first.valueDecimal is not None else first.valueInteger
    if number is None:
        raise UnreadAnswerError(f"{label}: item '{link_id}' must be answered with a valueDecimal or valueInteger")
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
    grow, and a questionnaire answered at 62 four years ago must not hide the red flags of 66.
    A response authored on a partial date gives every value it can have now
    (:func:`_counted_on`)."""
    what, limits = link_id.replace("_", " "), _CONTRACT_RANGES[link_id]
    counted = _COUNTED.get(link_id)
    if counted is None:
        if intake.can_ask_again or _recorded_in_range(intake, source.label, what, value, limits):
            if link_id == "severity":
                _severity(intake, {value}, source)
            else:
                _duration(intake, value, source)
        return
    keep, count = counted
    if intake.can_ask_again:  # the interview's answer, as given: the contract names what is wrong with it
        keep(intake, range(int(value), int(value) + 1), source)
        return
    if not _recorded_in_range(intake, source.label, what, value, limits):
        return
    now = _counted_on(int(value), source.recorded, intake.today, count)
    if now.start > limits[1]:
        intake.unmapped.append(f"{source.label}: {what} would now be {now.start}, not used")
        if link_id == "gestational_week" and source.recorded is not None:  # its pregnancy has ended
            intake.ended_gestations.append((source.label, source.recorded))
        return
    keep(intake, _within(intake, source.label, what, now, limits), source)


def _coded(value: Any, systems: tuple[str, ...], link_id: str, label: str) -> str:
    """The code of an answer that must be a coding from one of ``systems`` (or naming none)."""
    coding = value.valueCoding
    if coding is None or coding.code is None or (coding.system is not None and coding.system not in systems):
        raise UnreadAnswerError(
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
        label = f"Patient/{patient.id[:64]} birthDate"
        if ages := _within(intake, label, "age", ages_on(today, patient.birthDate), vocab.AGE_RANGE):
            _age(intake, ages, Source(label))
    if patient.gender is not None:  # one of the four administrative genders: parse refuses any other
        _chosen(intake, intake.patient, "sex", patient.gender, Source(f"Patient/{patient.id[:64]} gender"))


def age_on(today: dt.date, born: dt.date) -> int:
    """Whole years from ``born`` to ``today``: the age on ``today`` of someone born on ``born``
    (negative for a day after ``today``). For a birth date FHIR gives only in part, see
    :func:`ages_on`."""
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def ages_on(today: dt.date, born: dt.date | str) -> range:
    """Every age the patient can be on ``today``: one for a full birth date; for a partial one
    (FHIR allows "1980" and "1980-05") each age from its last possible day to its first.

    No age among them is the safe side: the red flags of childhood fall with age, while
    aneurysm (from 50), a fall (from 65) and sudden pain (from 75) rise with it; read as its
    latest day, "1976" hid an aneurysm for most of the year a patient turned 50. So each is
    assessed (``Intake.candidate_ages``). A day after ``today`` was not the birthday."""
    span = span_of(born)
    first = span[0].date()
    last = max(first, min(_last_day(span), today))
    return range(age_on(today, last), age_on(today, first) + 1)


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
        measured, recorded = _gestational_weeks(parsed, label, intake), _observed_at(parsed, intake.today)
        if measured is None:
            return True
        least, most = (_counted_on(week, recorded, intake.today, _weeks_now) for week in (measured[0], measured[-1]))
        weeks, limits = range(least.start, most.stop), vocab.GESTATIONAL_WEEK_RANGE
        if _ended(weeks):  # the pregnancy it was measured in has ended
            intake.unmapped.append(f"{label}: gestational age would now be past week {weeks.start - 1}, not used")
            if recorded is not None:
                intake.ended_gestations.append((label, recorded))
        elif weeks := _within(intake, label, "gestational age", weeks, limits):
            _week(intake, weeks, Source(label, recorded))
        return True
    if terms.field_is("severity", system, code) and kind == "Observation":
        _observed_severity(parsed, label, intake)
        return True
    finding = terms.finding_for(system, code)
    if finding is None:
        return False
    (intake.absent if _negated(parsed, kind) else intake.present).append(finding)
    return True


def _observed_severity(observation: Any, label: str, intake: Intake) -> None:
    """A severity Observation's value; given only as a bound (``>= 7``), every whole severity
    it allows, each assessed where the records leave them (:func:`_severity`): read as 7, a
    bound ``> 7`` kept the rules from 8 unfired."""
    severity, limits = _number(observation), vocab.SEVERITY_RANGE
    if severity is None:
        intake.unmapped.append(f"{label}: severity not given as a valueInteger or valueQuantity, not used")
        return
    value = float(_bounded(severity, label, "severity"))
    comparator = _comparator(observation.valueQuantity)
    if comparator is None:
        if _recorded_in_range(intake, label, "severity", value, limits):
            _severity(intake, {value}, Source(label))
    elif severities := _whole_within(comparator, value, limits):
        _report_bound(intake, label, "severity", f"{comparator} {severity}")
        _severity(intake, severities, Source(label))
    else:
        intake.unmapped.append(f"{label}: severity '{comparator} {severity}' allows none of 0-10, not used")


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
        _pregnant_now(intake, label, _dated(parsed, kind, intake.today))


def _pregnant_now(intake: Intake, label: str, recorded: Span | None) -> None:
    """A pregnancy recorded then (an Observation, a Condition, a questionnaire's answer), unless
    it has ended: counted on from week 1 (the earliest a record can have been made in), one
    recorded 44 weeks ago or more would now be past week 44. It is listed as not used, and the
    patient assessed as not known to be pregnant. A questionnaire answered two years ago kept
    a pregnancy as current (it dropped only its week), and one-sided lower abdominal pain
    recorded today lost the possible ectopic pregnancy (urgent to routine)."""
    if _ended(_counted_on(vocab.GESTATIONAL_WEEK_RANGE[0], recorded, intake.today, _weeks_now)):
        last = vocab.GESTATIONAL_WEEK_RANGE[1]
        intake.unmapped.append(f"{label}: a pregnancy recorded so long ago it would now be past week {last}, not used")
        return
    intake.pregnancy_records.append((label, recorded))
    intake.patient.setdefault("pregnancy", {})


def end_pregnancies_measured_over(intake: Intake) -> None:
    """Read as ended each pregnancy record of a pregnancy a gestational age shows has ended, once
    every resource is read (the order of the data must not matter).

    A gestational age that would now be past week 44 shows that the pregnancy it measured has
    ended, and was already not used. A pregnancy record that says the pregnancy was under way
    at or before that measurement (a Condition's onset, else its recordedDate; an
    Observation's effective[x]; a questionnaire's ``authored``) records that pregnancy, or an
    earlier one, which had ended before it began: it is listed as not used too, and the
    patient, unless a record still shows a pregnancy, is assessed as not known to be
    pregnant, as with the gestational age alone. An active problem-list "Pregnancy" recorded
    beside the last antenatal gestational age (week 40, five weeks ago) kept a pregnancy at
    every week 1 to 44, and one-sided lower abdominal pain went from urgent (a possible
    ectopic pregnancy, as with the gestational age alone) to routine.

    "At or before" takes every record the dates cannot place after the measurement: one on
    the same day, or dated to its month, is read with it. That is the reading that never
    lets a record lower what the gestational age alone gives, and a new pregnancy cannot have
    begun before the measured one ended, after its measurement. A record the dates place after
    the measurement may be of a new pregnancy: read as ended, it would lose that pregnancy's
    own red flags (bleeding early in pregnancy) with no card, so it is kept, and its own date
    ends it 44 weeks on (:func:`_pregnant_now`). An undated record is kept, as it always was:
    nothing tells when it was made."""
    kept = []
    for label, when in intake.pregnancy_records:
        by = next((g for g, measured in intake.ended_gestations if when and not later(when, measured)), None)
        if by is None:
            kept.append((label, when))
            continue
        intake.unmapped.append(
            f"{label}: a pregnancy recorded at or before {by}, a gestational age now past week "
            f"{vocab.GESTATIONAL_WEEK_RANGE[1]}, not used"
        )
    intake.pregnancy_records = kept
    if not kept and "gestational_week" not in intake.sources:  # no record left shows a pregnancy
        intake.patient.pop("pregnancy", None)


def _ended(weeks: range) -> bool:
    """Whether a pregnancy whose gestational weeks are counted on to ``weeks`` today has ended:
    every week they allow is past the last the contract holds (week 44, past any pregnancy)."""
    return weeks.start > vocab.GESTATIONAL_WEEK_RANGE[1]


def _dated(parsed: Any, kind: str, today: dt.date | None) -> Span | None:
    """When a pregnancy record says the pregnancy was under way: an Observation's effective[x]
    (or else issued); a Condition's onset (a date or a period), or else its recordedDate. None
    if it does not say (an undated record is counted, as it always was: nothing tells it is over).

    Counted on from week 1 (the earliest a record can have been made in), a pregnancy recorded
    44 weeks ago or more has ended: one left ``active`` on the problem list since 2022, or a
    pregnancy status from two years ago, was read as a pregnancy now, and the least urgent
    week the triage assessed hid a possible ectopic pregnancy (emergency) as self care."""
    if kind == "Observation":
        return _observed_at(parsed, today)
    period = parsed.onsetPeriod
    if period is not None and (period.start or period.end):
        return _period_span(period.start, period.end, today)
    return recorded_span(parsed.onsetDateTime or parsed.recordedDate)


_KEPT = {
    "severity": "the higher is assessed",
    "gestational_week": "the later is assessed",
}


def _duration(intake: Intake, days: float, source: Source) -> None:
    """A duration from ``source``, into the complaint.

    Durations that differ (only responses the dates cannot order give two) are never picked
    between, nor replaced by one no record gives: each is a candidate, and the triage assesses
    one in each band the rules draw (:mod:`service.reasoning.unrecorded`), as for a side. No
    duration is the safe side: recent symptoms fire the rules of new pain (under 84 days),
    persistent ones those of pain that has lasted (from 14 days, from 91). The shorter was
    kept, and forms of one day giving 2 and 20 days lost the persistent pain's referral
    (routine to self care) with no card saying so."""
    part, candidates = intake.complaint, intake.candidate_values.setdefault("duration_days", set())
    held, current = intake.sources.get("duration_days"), _held(intake.complaint, "duration_days", candidates)
    if held is None:
        intake.sources["duration_days"] = source
        _narrowed(part, "duration_days", candidates, {days})
        return
    if days in current:
        return
    _narrowed(part, "duration_days", candidates, current | {days})
    intake.differing.append(f"{source.label}: duration days differs from {held.label}'s, each is assessed")


def _severity(intake: Intake, given: AbstractSet[float], source: Source) -> None:
    """The severities ``source`` allows: one, or every whole one a bound allows (``>= 7``).

    Of severities recorded differently the higher is assessed (the safe side): of the values
    two records allow, those below the higher of their least are not. So the higher of two
    values is kept, and a bound keeps those of its values a recorded value does not exceed.
    Several left are each assessed (``Intake.candidate_values``)."""
    part, candidates = intake.complaint, intake.candidate_values.setdefault("severity", set())
    held, current = intake.sources.get("severity"), _held(intake.complaint, "severity", candidates)
    if held is None or current == given:
        intake.sources.setdefault("severity", source)
        _narrowed(part, "severity", candidates, given)
        return
    least = max(min(current), min(given))
    kept = {value for value in current | given if value >= least}
    _narrowed(part, "severity", candidates, kept)
    if kept <= given:
        intake.sources["severity"] = source
        _report_dropped(intake, "severity", source, held)
    elif kept <= current:
        _report_dropped(intake, "severity", held, source)
    else:
        intake.differing.append(
            f"{source.label}: severity differs from {held.label}'s; the higher values of both, "
            f"{told(kept)}, are each assessed"
        )


def _report_dropped(intake: Intake, name: str, kept: Source, dropped: Source) -> None:
    """Name the value not used, its resource and the one kept: never dropped silently."""
    why = _KEPT[name]
    intake.differing.append(f"{dropped.label}: {name.replace('_', ' ')} differs from {kept.label}'s, not used ({why})")


def _age(intake: Intake, ages: range, source: Source) -> None:
    """The ages ``source`` allows the patient now: one, or several when its date is partial.

    Ages that two resources both allow are the ones the patient can be (a birth year and an
    answered age narrow each other down). Resources that allow none in common disagree, and
    every age each allows is assessed (``Intake.candidate_ages``), as are weeks whose dates
    cannot tell which is current: no age is the safe side. The bands of fracture, aneurysm
    and cancer rise with age, but those of childhood fall with it: a form's 15 against a
    birth date giving 16 kept the older, and fever in a child (an emergency) was lost."""
    held, given = intake.sources.get("age"), set(ages)
    current = _held(intake.patient, "age", intake.candidate_ages)
    if intake.ages_undecided:
        _narrowed(intake.patient, "age", intake.candidate_ages, current | given)
        intake.differing.append(f"{source.label}: age {told(given)}, also assessed (the records disagree)")
        return
    if held is None or current & given:
        intake.sources.setdefault("age", source)
        _narrowed(intake.patient, "age", intake.candidate_ages, given if held is None else current & given)
        return
    intake.ages_undecided = True
    _narrowed(intake.patient, "age", intake.candidate_ages, current | given)
    intake.differing.append(
        f"{source.label}: age {told(given)} differs from {held.label}'s {told(current)}: each is assessed"
    )


def _week(intake: Intake, weeks: range, source: Source) -> None:
    """The gestational weeks ``source`` allows now: one, or several when its date is partial.

    Of weeks recorded differently the later record is used: early and late pregnancy each
    have red flags of their own, so no week is the safe side. When the dates do not tell
    which is later, neither: the week is left out and the triage assesses each week the
    records allow (``Intake.candidate_weeks``), and so it does for the weeks of one record
    dated only to the month or year."""
    pregnancy = intake.patient.setdefault("pregnancy", {})
    held, given = intake.sources.get("gestational_week"), set(weeks)
    current = _held(pregnancy, "gestational_week", intake.candidate_weeks)
    if intake.weeks_undecided:
        _narrowed(pregnancy, "gestational_week", intake.candidate_weeks, current | given)
        intake.differing.append(f"{source.label}: gestational week {told(weeks)}, also assessed (the records disagree)")
        return
    if held is None or current == given:
        intake.sources.setdefault("gestational_week", source)
        _narrowed(pregnancy, "gestational_week", intake.candidate_weeks, given)
        return
    if later(source.recorded, held.recorded):
        intake.sources["gestational_week"] = source
        _narrowed(pregnancy, "gestational_week", intake.candidate_weeks, given)
        _report_dropped(intake, "gestational_week", source, held)
    elif later(held.recorded, source.recorded):
        _report_dropped(intake, "gestational_week", held, source)
    else:
        intake.weeks_undecided = True
        _narrowed(pregnancy, "gestational_week", intake.candidate_weeks, current | given)
        intake.differing.append(
            f"{source.label} and {held.label}: different gestational ages, and their dates do not tell which "
            "is current; each is assessed"
        )


def _held(part: dict[str, Any], name: str, candidates: set[Any]) -> set[Any]:
    """The values the record holds so far: its one value, or its candidates (none yet: empty)."""
    return set(candidates) or ({part[name]} if name in part else set())


def _narrowed(part: dict[str, Any], name: str, candidates: set[Any], values: AbstractSet[Any]) -> None:
    """``values`` as the record holds them: one in ``part``; several left out of it and kept
    in ``candidates``, for the triage to assess each (:mod:`service.reasoning.unrecorded`)."""
    values = set(values)
    candidates.clear()
    if len(values) == 1:
        part[name] = values.pop()
    else:
        part.pop(name, None)
        candidates.update(values)


def told(values: range | set[Any] | tuple[Any, ...]) -> str:
    """Whole values or codes as a card says them: "6", "49 or 50", "23 to 27", "4, 6 or 9",
    "both or left"."""
    ordered = sorted(values)
    numbers = all(isinstance(value, int | float) for value in ordered)
    if numbers and len(ordered) > 2 and ordered[-1] - ordered[0] == len(ordered) - 1:
        return f"{ordered[0]} to {ordered[-1]}"
    words = [str(value) for value in ordered]
    return " or ".join(words) if len(words) < 3 else f"{', '.join(words[:-1])} or {words[-1]}"


def _observed_at(observation: Any, today: dt.date | None) -> Span | None:
    """When an Observation was made (effective[x]), or else issued; None if it does not say."""
    period = observation.effectivePeriod
    if period is not None and (period.start or period.end):
        return _period_span(period.start, period.end, today)
    return recorded_span(observation.effectiveDateTime or observation.effectiveInstant or observation.issued)


def _period_span(start: Any, end: Any, today: dt.date | None) -> Span:
    """The span of an effectivePeriod: the value may have been observed on any of its days, so
    counting it on gives every value they allow (:func:`_counted_on`), as for a partial date.
    Read as its end alone, 15 weeks over a period that began 60 days ago stayed a caution for
    an NSAID, never the contraindication of week 23. With no start (FHIR: not known), it may
    have begun on any day before its end; with no end (FHIR: ongoing), it runs to ``today``.
    A period whose end comes before its start (invalid FHIR) is read from the earlier to the
    later: read as given, it allowed no week at all and the gestational age was dropped."""
    spans = [span_of(day) for day in (start, end) if day]
    first = min(s[0] for s in spans) if start else dt.datetime.min.replace(tzinfo=dt.UTC)
    after = max(_through(s) for s in spans)
    if not end and today is not None:
        after = max(after, _after(lambda: dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), dt.UTC)))
    return first, after


def _through(span: Span) -> dt.datetime:
    """The moment after ``span``: an instant's own (a span that ends on it holds it too)."""
    start, after = span
    return after if after > start else _after(lambda: start + dt.timedelta(microseconds=1))


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


def _within(intake: Intake, label: str, what: str, values: range, limits: tuple[int, int]) -> range:
    """The values of ``values`` the contract holds; none, and it is reported as not used
    (:func:`_recorded_in_range`). Those cut off are values the record cannot have had."""
    kept = range(max(values.start, limits[0]), min(values.stop, limits[1] + 1))
    if not kept:
        _recorded_in_range(intake, label, what, values.start, limits)
    return kept


def _counted_on(value: int, recorded: Span | None, today: dt.date | None, count: Counting) -> range:
    """Every value an age or a gestational age ``value`` recorded then can have on ``today``:
    a pregnancy goes on and ages grow, and an age recorded at a visit months ago would put a
    woman at 28 weeks back on the early pregnancy pathway.

    ``count`` (weeks or years) counts from each day the date allows, from its last day (a day
    or an instant: the only one) to its first, so a month or a year gives every value it can
    mean: counted from the last day only, bleeding at most likely 25 weeks was the early
    pregnancy pathway. Undated, or with no day read: the value as recorded."""
    if recorded is None or today is None:
        return range(value, value + 1)
    return count(value, recorded[0].date(), _last_day(recorded), today)


def _weeks_now(weeks: int, first: dt.date, last: dt.date, today: dt.date) -> range:
    """``weeks`` completed weeks recorded on a day from ``first`` to ``last``: up to six days
    more than that, so today one more week may have been completed than the days since tell.
    Counted as whole weeks only, 23 weeks measured three days ago (perhaps 24 now: bleeding an
    antepartum haemorrhage) stayed 23 (the early pregnancy pathway)."""
    fewest = weeks * 7 + max(0, (today - last).days)
    most = weeks * 7 + 6 + max(0, (today - first).days)
    return range(fewest // 7, most // 7 + 1)


def _ages_now(age: int, first: dt.date, last: dt.date, today: dt.date) -> range:
    """``age`` in whole years on a day from ``first`` to ``last``: born at the latest ``age``
    years before ``last``, at the earliest the day after ``age + 1`` years before ``first``.
    Today a birthday may have passed since: 64 answered 300 days ago may be 65 (a fall from 65
    is examined the same day)."""
    today = max(today, last)  # a date after today (a clock ahead) gives no younger age
    if first.year <= age + 1:
        # no year before 1 to go back to (an answer authored in the year 1 was a 500): one
        # calendar cycle on, every difference in days and years is the same
        first, last, today = (day.replace(year=day.year + _CYCLE) for day in (first, last, today))
    latest, earliest = _years_before(last, age), _years_before(first, age + 1) + dt.timedelta(days=1)
    return range(age_on(today, latest), age_on(today, earliest) + 1)


_CYCLE = 400  # years after which the Gregorian calendar repeats, leap days included


def _years_before(day: dt.date, years: int) -> dt.date:
    """The same day ``years`` earlier; 29 February in a year without one is the 28th."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


# the numbers counted on from when they were recorded: how to keep them, and how to count them
_COUNTED: dict[str, tuple[Callable[[Intake, range, Source], None], Counting]] = {
    "age": (_age, _ages_now),
    "gestational_week": (_week, _weeks_now),
}


def _last_day(recorded: Span) -> dt.date:
    start, after = recorded  # a span of a day or more ends just before `after`
    return start.date() if after == start else (after - dt.timedelta(microseconds=1)).date()


def _gestational_weeks(observation: Any, label: str, intake: Intake) -> range | None:
    """The completed weeks a quantity in weeks or days gives (UCUM ``wk``/``d``; no unit, or a
    valueInteger: weeks, as the LOINC code says) when it was measured. None, reported as not
    used, if the Observation gives no number, or gives it in any other unit: a month is no
    fixed number of weeks, and a UCUM annotation such as ``{wk}`` is a bare number, so either
    taken as weeks could put a pregnancy on the wrong side of a rule's week; the pregnancy is
    then assessed for every week (:mod:`service.reasoning.unrecorded`), and the other cards
    still shown.

    A ``comparator`` makes the value a bound, not a value: every completed week it allows is
    given (``> 23 wk`` is 23 weeks and a day or more: week 23 to 44; ``< 20 wk`` week 1 to 19),
    and the card of values recorded differently says so. Read as the value, ``> 23 wk`` kept
    bleeding on the early pregnancy pathway, and ``> 19 wk`` made the NSAID contraindication
    from week 20 a caution."""
    number = _number(observation)
    if number is None:
        intake.unmapped.append(f"{label}: gestational age not given as a valueQuantity or valueInteger, not used")
        return None
    value = _bounded(number, label, "gestational age")
    quantity = observation.valueQuantity
    unit = (((quantity.code or quantity.unit) if quantity is not None else None) or "wk").strip().lower()
    if unit not in _WEEKS and unit not in _DAYS:
        intake.unmapped.append(f"{label}: gestational age in '{unit[:40]}', not weeks (wk) or days (d), not used")
        return None
    days = value * 7 if unit in _WEEKS else value
    comparator = _comparator(quantity)
    first, last = vocab.GESTATIONAL_WEEK_RANGE
    if comparator is None:
        return range(int(days) // 7, int(days) // 7 + 1)
    if comparator in ("<", "<="):  # under 140 days: 139 completed days at most
        most = (math.ceil(days) - 1 if comparator == "<" else math.floor(days)) // 7
        weeks = range(min(first, most), most + 1)
    else:  # over 161 days: 161 completed days and some hours, at the least
        least = math.floor(days) // 7
        weeks = range(least, max(least, last) + 1)
    _report_bound(intake, label, "gestational age", f"{comparator} {value} {unit[:40]}")
    return weeks


_COMPARATORS = ("<", "<=", ">=", ">")


def _comparator(quantity: Any) -> str | None:
    """A Quantity's ``comparator`` if it makes the value a bound (``<``, ``<=``, ``>=``, ``>``);
    None for none, or ``ad`` (a dose the patient decides: the value itself)."""
    comparator = quantity.comparator if quantity is not None else None
    return comparator if comparator in _COMPARATORS else None


def _report_bound(intake: Intake, label: str, what: str, bound: str) -> None:
    """Name a value given only as a bound (``> 23 wk``) on the card of values recorded differently."""
    intake.differing.append(f"{label}: {what} given only as a bound ('{bound}'): every value it allows is assessed")


def _whole_within(comparator: str, value: float, limits: tuple[int, int]) -> set[int]:
    """The whole values within ``limits`` a bound allows: ``> 7`` is 8 to 10, ``<= 3`` 0 to 3."""
    if comparator in ("<", "<="):
        most = math.ceil(value) - 1 if comparator == "<" else math.floor(value)
        return set(range(limits[0], min(most, limits[1]) + 1))
    least = math.floor(value) + 1 if comparator == ">" else math.ceil(value)
    return set(range(max(least, limits[0]), limits[1] + 1))


def _negated(parsed: Any, kind: str) -> bool:
    if kind == "Condition":
        return _status(parsed.verificationStatus) == "refuted"
    if parsed.valueBoolean is not None:
        return not parsed.valueBoolean
    if parsed.valueCodeableConcept is not None and parsed.valueCodeableConcept.coding:
        return parsed.valueCodeableConcept.coding[0].code in ("N", "373067005")  # No (SNOMED CT)
    return False
