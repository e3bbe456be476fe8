"""The symptom record: the marshmallow schema every door validates a record with.

Built from the knowledge base (the finding vocabulary is knowledge, not code), and the
source of the request part of the OpenAPI document (:mod:`service.web.openapi`), so
validation and documentation cannot drift apart. Validation is strict: unknown keys,
booleans posing as numbers, numeric strings and non-finite numbers are all rejected,
because a silently dropped or coerced field could hide a red flag. Lists are capped at the
size of their vocabulary (a longer list must repeat itself) and refused whole before their
items are read, so a long list of bad ids costs one error, not one per id.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from functools import cached_property
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from service import vocabulary as vocab
from service.validation import shortened

# the complaint's fields a patient may be asked again (:mod:`service.reasoning.record_fields`)
ASKABLE_FIELDS = ("onset", "severity", "course", "side", "duration_days")

Record = dict[str, Any]
"""A record as the record schema loads it: every default filled, ids unique, values checked."""


def missing_values(raw: dict[str, Any]) -> tuple[str, ...]:
    """Which of the values a record may lack (an age or a gestational week nobody knows;
    outside ``POST /v1/assessments``, a sex or the pain's location) ``raw`` lacks, in a fixed
    order.

    Rules test these values, so a record lacking one is assessed for every value it could
    have (:mod:`service.reasoning.unrecorded`), never as if the rules on it did not apply
    (nor as if the pain were in one assumed place: hip-only red flags would never fire)."""
    patient = raw.get("patient", {})
    missing = [name for name in ("age", "sex") if name not in patient]
    if "pregnancy" in patient and "gestational_week" not in patient["pregnancy"]:
        missing.append("gestational week")
    if "locations" not in raw.get("complaint", {}):
        missing.append("pain location")
    return tuple(missing)


def record_context(record: Record) -> dict[str, Any]:
    """What context rules test, flat: ``pregnant`` and each of ``vocab.CHOICE_FIELDS`` and
    ``vocab.RANGE_FIELDS`` the record gives (an optional number left out is absent, not 0)."""
    patient, complaint = record["patient"], record["complaint"]
    pregnancy = patient.get("pregnancy") or {}
    given = {**complaint, **patient, **pregnancy}
    fields = (*vocab.CHOICE_FIELDS, *vocab.RANGE_FIELDS)
    context = {"pregnant": bool(pregnancy), **{f: given[f] for f in fields if given.get(f) is not None}}
    if "duration_days" in context:
        context["duration_days"] = _in_duration_steps(context["duration_days"])
    return context


def _in_duration_steps(days: float) -> float:
    """``days`` rounded down to ``vocab.DURATION_STEP_PER_DAY`` (see there why); a duration too
    long for the step to matter (beyond every bound) is kept as it is."""
    if days >= 1e9:
        return days
    return math.floor(days * vocab.DURATION_STEP_PER_DAY) / vocab.DURATION_STEP_PER_DAY


class ComposedChecks(fields.Field):
    """A field whose validators are composed once, not once per value.

    marshmallow 4 builds a new ``validate.And`` of a field's validators for every value it
    checks; a record has about twenty values, and that was about a tenth of validating one.
    The composed validator runs the same checks in the same order with the same messages; a
    field with one validator calls it directly, as ``And`` of one raises that one's messages.
    """

    @cached_property
    def _checks(self) -> Callable[[Any], Any]:
        if len(self.validators) == 1:
            return self.validators[0]
        return validate.And(*self.validators)

    def _validate(self, value: Any) -> None:
        self._checks(value)


class Text(ComposedChecks, fields.String):
    """A JSON string (marshmallow's, with its checks composed once)."""


class Part(ComposedChecks, fields.Nested):
    """A JSON object validated by its own schema (marshmallow's, with its checks composed once)."""


class JsonInteger(ComposedChecks, fields.Integer):
    """A JSON integer: no booleans, no strings, no fractions."""

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValidationError("Must be an integer.")
        if isinstance(value, float) and not value.is_integer():  # also rejects NaN and infinity
            raise ValidationError("Must be an integer.")
        return int(value)


class JsonNumber(ComposedChecks, fields.Float):
    """A finite JSON number: no booleans, no strings, no NaN or infinity."""

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not _finite_float(value):
            raise ValidationError("Must be a finite number.")
        return value


def _finite_float(value: int | float) -> bool:
    """Whether ``value`` is a finite number as a float too (a 400-digit integer is not)."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


class CappedList(ComposedChecks, fields.List):
    """A list of at most ``max_items``, refused whole before any item is read when longer;
    a repeated item is dropped (the first kept), as a repeat says nothing new.

    A list of ids (an item field that only checks membership of a set) is accepted in one
    set operation when every item is a known id; item by item only when one is not, so the
    errors name the same items with the same messages.
    """

    def __init__(self, inner: fields.Field, *, max_items: int, min_items: int | None = None, **kwargs: Any) -> None:
        lengths = [validate.Length(min=min_items)] if min_items else []
        super().__init__(inner, validate=[*lengths, validate.Length(max=max_items)], **kwargs)
        self.max_items = max_items
        self._ids = _accepted_ids(inner)

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> list[Any]:
        if isinstance(value, list) and len(value) > self.max_items:
            raise ValidationError(f"Longer than maximum length {self.max_items}.")
        if isinstance(value, list) and self._ids is not None and _all_in(value, self._ids):
            return _unique(value)
        return _unique(super()._deserialize(value, attr, data, **kwargs))


def _all_in(items: list[Any], ids: frozenset[str]) -> bool:
    """Whether every item is one of ``ids`` (and so a string)."""
    return all(type(item) is str for item in items) and ids.issuperset(items)


def _accepted_ids(field: fields.Field) -> frozenset[str] | None:
    """The strings ``field`` accepts, if it is a string field whose one check is a set of ids.

    Only then may a list of them skip the field: marshmallow's string field returns a string
    as it came, and membership is all that is left to check.
    """
    if not isinstance(field, fields.String) or len(field.validators) != 1:
        return None
    check = field.validators[0]
    if isinstance(check, validate.OneOf):
        return frozenset(check.choices)
    if isinstance(check, VocabularyId):
        return check.allowed
    return None


class VocabularyId:
    """Validates an id against a vocabulary, naming the offending id (shortened) in the error."""

    def __init__(self, what: str, allowed: Iterable[str]) -> None:
        self.what = what
        self.allowed = frozenset(allowed)

    def __call__(self, value: str) -> str:
        if value not in self.allowed:
            raise ValidationError(f"Unknown {self.what} id '{shortened(value)}'.")
        return value


def _choice(values: tuple[str, ...], **kwargs: Any) -> Text:
    return Text(validate=validate.OneOf(values), **kwargs)


def _unique(values: list[Any]) -> list[Any]:
    return list(dict.fromkeys(values))


# Left out when not known: the record is then assessed for every value it could have
_UNKNOWN_VALUE = (
    "Leave it out only when it is not known: the record is then assessed for every {what} the rules "
    "tell apart, the answer is the one that calls for the most care, and `unrecorded` says so."
)


class PregnancySchema(Schema):
    gestational_week = JsonInteger(
        validate=validate.Range(*vocab.GESTATIONAL_WEEK_RANGE),
        metadata={"description": "Completed weeks of pregnancy. " + _UNKNOWN_VALUE.format(what="stretch of pregnancy")},
    )


class PatientSchema(Schema):
    age = JsonInteger(
        validate=validate.Range(*vocab.AGE_RANGE),
        metadata={"description": "Age in whole years. " + _UNKNOWN_VALUE.format(what="age band")},
    )
    sex = _choice(vocab.SEXES, required=True)
    pregnancy = Part(PregnancySchema, metadata={"description": "Present only when the patient is pregnant."})

    # Report every problem in one answer. The pregnancy is looked for in what was sent: a
    # pregnancy that fails its own checks is missing from ``data``, and the conflict with the
    # sex went unreported until the week was put right.
    @validates_schema(skip_on_field_errors=False, pass_original=True)
    def _pregnancy_needs_a_possible_sex(self, data: dict, original: Any, **_: Any) -> None:
        if isinstance(original, dict) and original.get("pregnancy") is not None and data.get("sex") == "male":
            raise ValidationError("Pregnancy cannot be recorded for sex 'male'.", "pregnancy")


class ComplaintSchema(Schema):
    locations = CappedList(_choice(vocab.LOCATIONS), required=True, min_items=1, max_items=len(vocab.LOCATIONS))
    side = _choice(vocab.SIDES, load_default="unknown")
    onset = _choice(vocab.ONSETS, load_default="unknown")
    duration_days = JsonNumber(validate=validate.Range(min=0), metadata={"description": "Days since onset."})
    severity = JsonNumber(
        validate=validate.Range(*vocab.SEVERITY_RANGE),
        metadata={"description": "0-10 numeric rating scale."},
    )
    course = _choice(vocab.COURSES, load_default="unknown")
    not_known = CappedList(
        _choice(ASKABLE_FIELDS),
        max_items=len(ASKABLE_FIELDS),
        load_default=list,
        metadata={
            "description": "Of onset, severity, course, side and duration_days, those the patient was asked "
            "and could not say: still unknown to the rules, but not asked again (`interview.record_fields` no "
            "longer lists them). Each must be left out or `unknown`."
        },
    )

    @validates_schema(skip_on_field_errors=False)
    def _not_known_is_unknown(self, data: dict, **_: Any) -> None:
        given = [name for name in data.get("not_known") or () if data.get(name, "unknown") not in (None, "unknown")]
        if given:
            raise ValidationError(f"Fields given cannot also be not known: {given}.", "not_known")


def build_record_schema(finding_ids: Iterable[str]) -> type[Schema]:
    """The assessment request schema for this knowledge base's finding vocabulary."""
    vocabulary = tuple(finding_ids)
    finding = Text(validate=VocabularyId("finding", vocabulary), metadata={"enum": list(vocabulary)})

    class FindingsSchema(Schema):
        present = CappedList(finding, max_items=len(vocabulary), load_default=list)
        absent = CappedList(finding, max_items=len(vocabulary), load_default=list)
        not_known = CappedList(
            finding,
            max_items=len(vocabulary),
            load_default=list,
            metadata={
                "description": "Asked, and the patient could not say: still unknown to the rules (never counted "
                "for or against anything), but not asked again, so the questions go on to what else could tell."
            },
        )

        @validates_schema(skip_on_field_errors=False)
        def _not_both(self, data: dict, **_: Any) -> None:
            both = sorted(set(data.get("present") or ()) & set(data.get("absent") or ()))
            if both:
                raise ValidationError(f"Findings cannot be both present and absent: {both}.", "present")
            answered = set(data.get("present") or ()) | set(data.get("absent") or ())
            if known := sorted(answered & set(data.get("not_known") or ())):
                raise ValidationError(f"Findings answered cannot also be not known: {known}.", "not_known")

    class AssessmentRequestSchema(Schema):
        patient = Part(PatientSchema, required=True)
        complaint = Part(ComplaintSchema, required=True)
        findings = Part(
            FindingsSchema,
            load_default=lambda: {"present": [], "absent": [], "not_known": []},
            metadata={"description": "A finding in neither list is unknown, never absent."},
        )

    return AssessmentRequestSchema
