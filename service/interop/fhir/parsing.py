"""FHIR R4 JSON → the FHIR library's models, as strictly as FHIR JSON is written.

Every FHIR door (the CDS Hooks prefetch and draft orders, ``$next-question``) parses through
:func:`parse`, so each gets the same refusals, as :class:`FhirInputError` (a 400 naming the
resource and the element, never a submitted value; order-sign cards a draft order refused so as
"not checked" and checks the others):

- **JSON types.** The FHIR library coerces what FHIR JSON forbids: ``"valueInteger": true``
  becomes 1 (an age of 1 makes a child), ``"40"`` becomes 40, ``"valueBoolean": "no"`` or
  ``0`` becomes false, ``"valueDecimal": "7"`` becomes 7. FHIR JSON writes a boolean as
  ``true``/``false``, integers and decimals as numbers, every other primitive as a string;
  anything else is refused before the library sees it.
- **Contained resources.** A contained resource whose ``resourceType`` names no R4 resource
  makes the library fail with a ``KeyError`` or ``TypeError`` (a 500); it is refused by name.
- **Required codes.** A status or gender outside its required value set (``"Cancelled"``,
  ``"xyz"``) would be read as another code, or as none; it is refused, naming the element.
"""

from __future__ import annotations

import datetime as dt
import decimal
import typing
from functools import cache
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from fhir_core.fhirabstractmodel import FHIRAbstractModel as FhirModel
from fhir_core.types import FhirBase
from pydantic import ValidationError as FhirValidationError

from service.validation import shortened

_MESSAGE_LIMIT = 500

# Required bindings of the codes this service reads or echoes (FHIR R4 value sets, case-sensitive).
REQUIRED_CODES: dict[tuple[str, str], frozenset[str]] = {
    ("Patient", "gender"): frozenset({"male", "female", "other", "unknown"}),
    ("Observation", "status"): frozenset(
        {"registered", "preliminary", "final", "amended", "corrected", "cancelled", "entered-in-error", "unknown"}
    ),
    ("QuestionnaireResponse", "status"): frozenset(
        {"in-progress", "completed", "amended", "entered-in-error", "stopped"}
    ),
    ("Questionnaire", "status"): frozenset({"draft", "active", "retired", "unknown"}),
    ("MedicationRequest", "status"): frozenset(
        {"active", "on-hold", "cancelled", "completed", "entered-in-error", "stopped", "draft", "unknown"}
    ),
}

# The JSON type each primitive's Python type is written as in FHIR JSON (bool before int: a bool is an int).
_JSON_TYPES: tuple[tuple[type, tuple[type, ...], str], ...] = (
    (bool, (bool,), "true or false"),
    (int, (int,), "a JSON integer"),
    (decimal.Decimal, (int, float), "a JSON number"),
    (str, (str,), "a JSON string"),
    (dt.date, (str,), "a JSON string"),  # dt.datetime is a dt.date
    (dt.time, (str,), "a JSON string"),
)


class FhirInputError(ValueError):
    """A FHIR resource is malformed; the message names the resource and the problem."""


def parse(model: type[FhirModel], resource: Any, label: str) -> Any:
    """``resource`` as ``model``; a resource of another type is refused by name, before the FHIR
    library describes it in its own terms, and the library's messages are kept to one line,
    with any key it names cut to the length the REST door echoes."""
    if not isinstance(resource, dict) or resource.get("resourceType") != model.__name__:
        raise FhirInputError(f"{label} must be a FHIR R4 {model.__name__} (resourceType '{model.__name__}')")
    try:
        _check(model, resource, model.__name__, label)
        return model.model_validate(resource)
    except FhirValidationError as error:
        problems = "; ".join(f"{'.'.join(shortened(str(p)) for p in e['loc'])}: {e['msg']}" for e in error.errors()[:5])
        problems = " ".join(problems.split())
        raise FhirInputError(f"{label} is not a valid R4 {model.__name__}: {problems}"[:_MESSAGE_LIMIT]) from None
    except RecursionError:
        raise FhirInputError(f"{label} nests too deeply") from None


def _check(model: type[FhirModel], value: dict[str, Any], path: str, label: str) -> None:
    """Refuse what the FHIR library would coerce or choke on, element by element; what it
    checks itself (unknown keys, a list for an object, missing elements) is left to it."""
    elements = _elements(model)
    for key, element in value.items():
        if key not in elements:
            continue
        kind, repeats = elements[key]
        codes = REQUIRED_CODES.get((model.__name__, key))
        for index, item in enumerate(element if repeats and isinstance(element, list) else [element]):
            _check_item(kind, codes, item, f"{path}.{key}[{index}]" if repeats else f"{path}.{key}", label)


def _check_item(kind: Any, codes: frozenset[str] | None, value: Any, path: str, label: str) -> None:
    if value is None:
        return  # a null keeps a repeating primitive's place beside its extensions; otherwise the library says
    if kind is FhirModel:  # any resource: contained
        _check_resource(value, path, label)
    elif isinstance(kind, type) and issubclass(kind, FhirModel):
        if isinstance(value, dict):
            _check(kind, value, path, label)
    else:
        _check_primitive(kind, value, path, label)
        if codes is not None and value not in codes:
            raise FhirInputError(f"{label} is not valid R4: {path} is not a code of its required value set")


def resource_model(kind: Any) -> type[FhirModel] | None:
    """The R4 resource model a ``resourceType`` names, if it names one."""
    try:
        model = get_fhir_model_class(kind) if isinstance(kind, str) else None
    except ValueError:
        return None
    return model if model is not None and model.has_resource_base() else None


def _check_resource(value: Any, path: str, label: str) -> None:
    model = resource_model(value.get("resourceType") if isinstance(value, dict) else None)
    if model is None:
        raise FhirInputError(f"{label} is not valid R4: {path} is not a FHIR R4 resource (its resourceType names none)")
    _check(model, value, path, label)


def _check_primitive(kind: Any, value: Any, path: str, label: str) -> None:
    for python, written_as, words in _JSON_TYPES:
        if isinstance(kind, type) and issubclass(kind, python):
            if not isinstance(value, written_as) or (bool not in written_as and isinstance(value, bool)):
                raise FhirInputError(f"{label} is not valid FHIR JSON: {path} must be {words}")
            return


@cache
def _elements(model: type[FhirModel]) -> dict[str, tuple[Any, bool]]:
    """The model's elements by their JSON name (``valueInteger``, ``_status``, ``class``)."""
    return {field.alias or name: _element_type(field.annotation) for name, field in model.model_fields.items()}


def _element_type(annotation: Any) -> tuple[Any, bool]:
    """What an element holds (a model class, :class:`FhirModel` for any resource, or a primitive's
    Python type) and whether it repeats, from the library's annotation of it."""
    repeats = False
    while True:
        origin, args = typing.get_origin(annotation), typing.get_args(annotation)
        if origin is typing.Annotated:
            annotation = args[0]
        elif origin is list:
            annotation, repeats = args[0], True
        elif args and type(None) in args:  # Optional[X], X | None
            annotation = next(a for a in args if a is not type(None))
        else:
            break
    if isinstance(annotation, type) and issubclass(annotation, FhirBase):
        model = annotation.get_model_klass()
        return (FhirModel if model.__name__ == "Resource" else model), repeats
    return annotation, repeats
