"""The intake as an SDC adaptive form: ``Questionnaire/$next-question`` (FHIR SDC).

A FHIR app sends a QuestionnaireResponse with a *contained* Questionnaire holding the items
asked so far (none at first) and the answers given; it gets the same response back with the
next item(s) appended to the contained Questionnaire, or, when the interview is complete,
with ``status`` ``completed`` and the assessment (urgency, red flags, causes) in an
extension. Every item comes from the published intake Questionnaire, so answers are read by
the same mapping as the CDS Hooks intake (:func:`~service.interop.fhir.intake.read_answers`)
and the record goes through the same validation and assessment as ``POST /v1/assessments``:

1. until age, sex and pain location are answered, the items about the patient and the pain;
2. then the first of the assessment's ``questions`` not yet asked (an answer "unknown"
   counts as asked, so a question is never put twice);
3. then, once no finding question is left, an item about the pain left blank or "unknown"
   whose answer could raise the urgency (``interview.record_fields``: the onset of an
   80-year-old who cannot bear weight): put again, once, at the end of the form, marked with
   the extension :func:`asked_again_url` and without the app's "unknown" answer. Left unknown
   again, it is ``complaint.not_known``, as a finding answered "unknown" is ``not_known``;
4. complete when the interview is (``interview.complete``), or when every question left has
   already been asked.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from service.interop.fhir.intake import Intake, parse_questionnaire_response, read_answers
from service.interop.fhir.parsing import FhirInputError
from service.interop.fhir.questionnaire import TRANSLATION
from service.interop.fhir.terminology import Terminology
from service.knowledge.translations import Catalogue
from service.reasoning.assessment import Assessment
from service.reasoning.record_fields import unknown_fields
from service.validation import InvalidInputError

ADAPTIVE = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-questionnaireAdaptive"
OPERATION_INPUT = "questionnaire-response"
CONTAINED_ID = "adaptive"
_FINDINGS_GROUP = "findings"


def assessment_extension_url(fhir_base: str) -> str:
    """The extension carrying the assessment on a completed response."""
    return f"{fhir_base}/StructureDefinition/assessment"


def asked_again_url(fhir_base: str) -> str:
    """The extension marking an item about the pain put again (``valueBoolean`` true)."""
    return f"{fhir_base}/StructureDefinition/asked-again"


@dataclass(frozen=True)
class AdaptiveForm:
    """What the app has sent: its response (as it sent it), the items asked, the answers."""

    response: dict[str, Any]
    questionnaire: dict[str, Any]  # the contained adaptive Questionnaire (possibly new)
    asked: frozenset[str]  # link ids already put to the patient or answered
    intake: Intake


def read_form(document: Any, terms: Terminology) -> AdaptiveForm:
    """The operation's input (a Parameters with ``questionnaire-response``, or the response
    itself) as an :class:`AdaptiveForm`; :class:`FhirInputError` naming what is wrong."""
    resource = _operation_input(document)
    parsed = parse_questionnaire_response(resource)
    response = parsed.model_dump(mode="json", exclude_none=True)  # normalised, never the raw text
    contained = [r for r in response.get("contained", ()) if r.get("resourceType") == "Questionnaire"]
    reference = response.get("questionnaire")
    if len(contained) > 1:
        raise FhirInputError("QuestionnaireResponse contains more than one Questionnaire")
    if contained:
        questionnaire = contained[0]
        if "id" not in questionnaire:  # FHIR: a contained resource has one; the response references it by it
            raise FhirInputError("the contained Questionnaire needs an id (the response references it as '#id')")
        if reference not in (None, f"#{questionnaire['id']}"):
            raise FhirInputError("QuestionnaireResponse.questionnaire must reference its contained Questionnaire")
    elif reference not in (None, terms.questionnaire):
        raise FhirInputError(
            f"QuestionnaireResponse.questionnaire must be its contained Questionnaire or {terms.questionnaire}"
        )
    else:
        questionnaire = {"resourceType": "Questionnaire", "id": CONTAINED_ID, "status": "active", "item": []}
    intake = Intake(patient_id="", can_ask_again=True)  # an answer outside the contract: 422 naming its item
    read_answers(parsed, terms, intake, "QuestionnaireResponse")
    if intake.unmapped:
        raise FhirInputError(f"items the intake Questionnaire does not have: {', '.join(intake.unmapped[:5])}"[:500])
    asked = _link_ids(questionnaire.get("item", ())) | _link_ids(response.get("item", ()))
    return AdaptiveForm(response, questionnaire, frozenset(asked), intake)


def next_response(
    form: AdaptiveForm,
    intake_questionnaire: dict[str, Any],
    assess: Callable[[dict[str, Any]], Assessment],
    fhir_base: str,
    texts: Catalogue,
) -> dict[str, Any]:
    """The response with the next item(s), or completed with the assessment (worded in ``texts``,
    the language of ``intake_questionnaire``)."""
    bank = _item_bank(intake_questionnaire)
    about = [item for item in intake_questionnaire["item"] if item["linkId"] != _FINDINGS_GROUP]
    unasked = [item for item in about if item["linkId"] not in form.asked]
    if form.intake.missing and unasked:
        return _validated(_with(form, unasked, intake_questionnaire))
    record = form.intake.record()
    answered = {*record["findings"]["present"], *record["findings"]["absent"]}
    # asked and answered "don't know" (or left blank): not asked again, so what else could tell is
    record["findings"]["not_known"] = sorted(f for f in form.asked if f in bank and f not in answered)
    # an item about the pain put again and still not answered: not put a third time
    again = {item["linkId"] for item in form.questionnaire.get("item", ()) if _asked_again(item, fhir_base)}
    record["complaint"] = {**record["complaint"], "not_known": [n for n in unknown_fields(record) if n in again]}
    try:
        assessment = assess(record)
    except InvalidInputError as error:
        raise InvalidInputError(
            "The answers make a record that does not match the contract.",
            _by_item(error.errors, {item["linkId"] for item in about} | bank.keys()),
        ) from None
    following = next((q.finding for q in assessment.questions if q.finding not in form.asked), None)
    if following is not None:
        return _validated(_with(form, [bank[following]], intake_questionnaire))
    if assessment.interview.record_fields:
        field = assessment.interview.record_fields[0].field.removeprefix("complaint.")
        return _validated(_asking_again(form, field, intake_questionnaire, fhir_base))
    completed = _with(form, [], intake_questionnaire)
    completed["status"] = "completed"
    completed["extension"] = [
        *(e for e in completed.get("extension", ()) if e.get("url") != assessment_extension_url(fhir_base)),
        _assessment_extension(assessment, fhir_base, texts),
    ]
    return _validated(completed)


def _by_item(errors: dict[str, list[str]], link_ids: set[str]) -> dict[str, list[str]]:
    """The record's errors keyed by the item whose answer gave the value, as a FHIRPath into the
    QuestionnaireResponse (``$.complaint.locations[1]`` -> ``item.where(linkId='locations')``):
    the app sent items, not the record the service built from them."""
    by_item: dict[str, list[str]] = {}
    for path, messages in errors.items():
        name = path.split("[", 1)[0].rsplit(".", 1)[-1]
        link_id = "pregnant" if name == "pregnancy" else name
        item = "QuestionnaireResponse"
        if link_id in link_ids:
            item += f".item.where(linkId='{link_id}')"
        by_item.setdefault(item, []).extend(messages)
    return by_item


def _operation_input(document: Any) -> Any:
    if not isinstance(document, dict):
        raise FhirInputError("send a QuestionnaireResponse, or a Parameters resource with 'questionnaire-response'")
    if document.get("resourceType") != "Parameters":
        return document
    parameters = document.get("parameter")
    named = (
        [p for p in parameters if isinstance(p, dict) and p.get("name") == OPERATION_INPUT]
        if isinstance(parameters, list)
        else []
    )
    if len(named) != 1 or not isinstance(named[0].get("resource"), dict):
        raise FhirInputError("Parameters must hold exactly one 'questionnaire-response' with a resource")
    return named[0]["resource"]


def _link_ids(items: Any) -> set[str]:
    found: set[str] = set()
    for item in items or ():
        found.add(item["linkId"])
        found |= _link_ids(item.get("item"))
    return found


def _item_bank(intake_questionnaire: dict[str, Any]) -> dict[str, dict[str, Any]]:
    findings = next(i for i in intake_questionnaire["item"] if i["linkId"] == _FINDINGS_GROUP)
    return {item["linkId"]: item for item in findings["item"]}


def _with(form: AdaptiveForm, items: list[dict[str, Any]], intake_questionnaire: dict[str, Any]) -> dict[str, Any]:
    """The app's response with ``items`` appended to its contained adaptive Questionnaire (not yet validated)."""
    questionnaire = copy.deepcopy(form.questionnaire)
    questionnaire["item"] = [*questionnaire.get("item", ()), *(_monolingual(item) for item in items)]
    questionnaire.setdefault("status", "active")
    questionnaire["derivedFrom"] = [intake_questionnaire["url"]]
    questionnaire["extension"] = [
        *(e for e in questionnaire.get("extension", ()) if e.get("url") != ADAPTIVE),
        {"url": ADAPTIVE, "valueBoolean": True},
    ]
    response = copy.deepcopy(form.response)
    others = [r for r in response.get("contained", ()) if r.get("resourceType") != "Questionnaire"]
    response["contained"] = [questionnaire, *others]
    response["questionnaire"] = f"#{questionnaire['id']}"
    response["status"] = "in-progress"
    return response


def _asked_again(item: dict[str, Any], fhir_base: str) -> bool:
    return any(e.get("url") == asked_again_url(fhir_base) for e in item.get("extension", ()))


def _asking_again(
    form: AdaptiveForm, link_id: str, intake_questionnaire: dict[str, Any], fhir_base: str
) -> dict[str, Any]:
    """The app's response with the item ``link_id`` put again: moved to the end of the form
    (a link id is once in a Questionnaire), marked, and its "unknown" answer taken out, so that
    a renderer shows it as a new question."""
    item = next(i for i in intake_questionnaire["item"] if i["linkId"] == link_id)
    marked = {
        **item,
        "extension": [*item.get("extension", ()), {"url": asked_again_url(fhir_base), "valueBoolean": True}],
    }
    questionnaire = {
        **form.questionnaire,
        "item": [i for i in form.questionnaire.get("item", ()) if i["linkId"] != link_id],
    }
    response = {**form.response, "item": [i for i in form.response.get("item", ()) if i["linkId"] != link_id]}
    return _with(replace(form, questionnaire=questionnaire, response=response), [marked], intake_questionnaire)


def _monolingual(value: Any) -> Any:
    """An item without the translation extensions of its texts (a copy): the adaptive form is
    answered in the language asked for, and the app sends every item back on each call, so
    three languages' texts made a long interview outgrow the request size limit (413)."""
    if isinstance(value, dict):
        return {k: _monolingual(v) for k, v in value.items() if not (k.startswith("_") and _translations(v))}
    if isinstance(value, list):
        return [_monolingual(v) for v in value]
    return value


def _translations(element: Any) -> bool:
    if not isinstance(element, dict) or set(element) != {"extension"} or not element["extension"]:
        return False
    return all(e.get("url") == TRANSLATION for e in element["extension"])


def _assessment_extension(a: Assessment, fhir_base: str, texts: Catalogue) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [
        {"url": "urgency", "valueCode": a.urgency.level},
        {"url": "advice", "valueString": texts.advice(a.urgency.level, a.urgency.advice_when)},
    ]
    parts += [
        {
            "url": "redFlag",
            "extension": [{"url": "rule", "valueCode": f.rule}, {"url": "text", "valueString": texts.reason(f.rule)}],
        }
        for f in a.urgency.red_flags
    ]
    parts += [
        {
            "url": "cause",
            "extension": [
                {"url": "id", "valueCode": c.id},
                {"url": "name", "valueString": texts.cause(c.id)},
                {"url": "rank", "valueInteger": c.rank},
                {"url": "score", "valueDecimal": c.score},
                {"url": "confidence", "valueCode": c.confidence},
            ],
        }
        for c in a.causes
    ]
    parts.append({"url": "interviewComplete", "valueBoolean": a.interview.complete})
    if a.interview.stop_reason:
        parts.append({"url": "askedEnoughReason", "valueString": texts.stop_reason(a.interview.stop_reason)})
    parts += [
        {"url": "disclaimer", "valueString": texts.disclaimer},
        {"url": "knowledgeBaseVersion", "valueString": a.knowledge_base_version},
    ]
    return {"url": assessment_extension_url(fhir_base), "extension": parts}


def _validated(response: dict[str, Any]) -> dict[str, Any]:
    """Refuse to answer with anything that is not valid R4 (a bug, never the client's fault)."""
    return QuestionnaireResponse.model_validate(response).model_dump(mode="json", exclude_none=True)
