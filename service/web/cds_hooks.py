"""HL7 CDS Hooks 2.0 over HTTP: discovery, the triage and medication-safety services, feedback.

A hook call's prefetched FHIR data is mapped to the contract's record
(:mod:`service.interop.cds_hooks.prefetch`): the triage runs the very same assessment as
``POST /v1/assessments``; the medication-safety check (``order-sign``) runs the same rules
and reads the contraindications they fire. Every hook call must carry an EHR's signed JWT
whose audience is ``PUBLIC_BASE_URL`` + the path called (request headers never decide it).
With ``CDS_SILENT_ROLLOUT`` the cards are computed and counted but not shown.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, Response, current_app, json, request
from marshmallow import Schema

from service import metrics
from service import vocabulary as vocab
from service.interop.cds_hooks.cards import Card, CardWriter, compact
from service.interop.cds_hooks.discovery import HOOKS, MEDICATION_SERVICE_ID, SERVICE_ID, discovery
from service.interop.cds_hooks.order_sign import (
    MedicationSafety,
    contraindication_rules,
    draft_medication_orders,
)
from service.interop.cds_hooks.prefetch import has_patient_data, read_prefetch
from service.interop.cds_hooks.schemas import FeedbackSchema, HookRequestSchema, OrderSignRequestSchema
from service.reasoning.unrecorded import PATHS, Candidates, completion_count, completions, settled, undecided
from service.validation import InvalidInputError, shortened, validated
from service.web.assessments import asking_record_fields, assess, assess_unrecorded
from service.web.base_url import public_base_url
from service.web.components import components
from service.web.json_body import read_json_body
from service.web.problems import problem

bp = Blueprint("cds_hooks", __name__)

_MAPPED = "The data mapped from FHIR does not match the contract."
_NO_PATIENT_DATA = (
    "Prefetch the Patient or the intake QuestionnaireResponse; this service does not query the FHIR server."
)


def authenticated(view: Callable[[], Response]) -> Callable[[], Response]:
    """Refuse the call (401) unless it carries a valid JWT from an allow-listed EHR."""

    @wraps(view)
    def checked() -> Response:
        components().token_verifier.verify(request.headers.get("Authorization"), request.path)
        return view()

    return checked


def _json(document: dict[str, Any]) -> Response:
    return Response(json.dumps(document), mimetype="application/json")


@bp.get("/cds-services")
def cds_discovery() -> Response:
    return _json(discovery(public_base_url()))


@bp.post(f"/cds-services/{SERVICE_ID}/feedback")
@bp.post(f"/cds-services/{MEDICATION_SERVICE_ID}/feedback")
@authenticated
def feedback() -> Response:
    items = validated(FeedbackSchema(), read_json_body(), "The feedback does not match CDS Hooks 2.0.")["feedback"]
    ours = {(c["system"], c["code"]) for c in components().clinician.override_reasons}
    for item in items:
        metrics.CDS_FEEDBACK.labels(item["outcome"]).inc()
        if item["outcome"] == "overridden":
            reason = item.get("overrideReason", {}).get("reason")
            code = "none" if reason is None else reason.get("code", "none")
            known = reason is None or (reason.get("system"), reason.get("code")) in ours
            metrics.CDS_OVERRIDES.labels(code if known else "other").inc()
    return Response(status=200)  # CDS Hooks 2.0 asks for 200 OK and defines no body (no empty {} either)


@bp.post(f"/cds-services/{SERVICE_ID}")
@authenticated
def triage() -> Response:
    call = _hook_call(SERVICE_ID, HookRequestSchema())
    prefetch = call.get("prefetch") or {}
    if not has_patient_data(prefetch):
        return problem(412, "Precondition Failed", _NO_PATIENT_DATA)
    writer, patient_id = _writer(), call["context"]["patientId"]
    intake = read_prefetch(prefetch, writer.terms, dt.datetime.now(dt.UTC).date(), patient_id)
    kb = components().assessor.kb
    raw, candidates = settled(kb, intake.record(), intake.candidates)
    if completion_count(kb, raw, candidates) > _MOST_COMPLETIONS:
        candidates = _complaint_values_left_unknown(candidates)
    if undecided(raw, candidates):  # no age, sex, week or location, or several: what holds whatever it is
        shown, bracketed = assess_unrecorded(raw, _MAPPED, for_most_care=False, candidates=candidates)
        # an onset or the like not recorded, whose value would raise the triage: a card names it
        shown = asking_record_fields(raw, shown, for_most_care=False, candidates=candidates, detail=_MAPPED)
        return _answer(SERVICE_ID, writer.cards(shown, intake, patient_id, bracketed))
    record = components().assessor.record(raw, _MAPPED)
    shown = asking_record_fields(record, assess(record), for_most_care=False)
    return _answer(SERVICE_ID, writer.cards(shown, intake, patient_id))


# The most records a triage call assesses for the values its records leave open, each repeated
# per value its unknown complaint fields are tried at: four same-day forms disagreeing on the
# course, onset, side and duration of a pregnancy recorded with nothing else made 32,256 of
# them, 13.5 s of one worker. A bare pregnancy makes 168.
_MOST_COMPLETIONS = 504


def _complaint_values_left_unknown(candidates: Candidates) -> Candidates:
    """``candidates`` without the pain's onset, course, side, severity or duration: beyond
    :data:`_MOST_COMPLETIONS`, the values the records disagree on are read as not known, as if
    no record gave them. The rules then read each as its harmless value, and the card that
    names a field whose value could raise the triage asks for it (tried one at a time)."""
    return {name: values for name, values in candidates.items() if PATHS[name][0] != "complaint"}


@bp.post(f"/cds-services/{MEDICATION_SERVICE_ID}")
@authenticated
def medication_safety() -> Response:
    call = _hook_call(MEDICATION_SERVICE_ID, OrderSignRequestSchema())
    prefetch = call.get("prefetch") or {}
    if not prefetch.get("patient"):
        return problem(412, "Precondition Failed", "Prefetch the Patient; this service does not query the FHIR server.")
    parts, writer = components(), _writer()
    orders = draft_medication_orders(call["context"]["draftOrders"], parts.medications)
    extension = {
        "unmapped_orders": [f"{o.reference}: {o.described_as}" for o in orders.read if not o.checked_in_full],
        "unread_orders": [f"{o.named_as}: {o.problem}" for o in orders.unread],
    }
    if not orders.read and not orders.unread:
        return _answer(MEDICATION_SERVICE_ID, [], extension)
    patient_id = call["context"]["patientId"]
    intake = read_prefetch(prefetch, writer.terms, dt.datetime.now(dt.UTC).date(), patient_id)
    assessor = parts.assessor
    raw, candidates = settled(assessor.kb, intake.record(), intake.candidates)
    # no contraindication of a drug depends on where it hurts (tests/test_order_sign.py checks
    # the rules): one location stands for all, and the card never asks for it
    raw["complaint"].setdefault("locations", [vocab.LOCATIONS[0]])
    # a record lacking its age, sex or week: checked for every value it could have
    records = [assessor.record(c, _MAPPED) for c in completions(assessor.kb, raw, candidates)]
    fired = [contraindication_rules(assessor, record) for record in records]
    safety = MedicationSafety.for_every_value(writer, parts.medications, fired, undecided(raw, candidates))
    return _answer(MEDICATION_SERVICE_ID, safety.cards(orders, patient_id), extension)


def _hook_call(service_id: str, schema: Schema) -> dict[str, Any]:
    """The validated call; a hook this service does not answer is a 422 that names it."""
    body = read_json_body()
    hook, expected = body.get("hook") if isinstance(body, dict) else None, HOOKS[service_id]
    if isinstance(hook, str) and hook != expected:
        raise InvalidInputError(
            f"The service '{service_id}' answers the '{expected}' hook, not '{shortened(hook)}'.",
            {"$.hook": [f"Must be '{expected}'."]},
        )
    return validated(schema, body, "The request does not match CDS Hooks 2.0.")  # type: ignore[no-any-return]


def _writer() -> CardWriter:
    parts, base = components(), public_base_url()
    return CardWriter(
        kb=parts.assessor.kb,
        clinician=parts.clinician,
        texts=parts.languages.english,
        terms=parts.fhir.at(base).terminology,
        base=base,
    )


def _answer(service_id: str, cards: list[Card], extension: dict[str, Any] | None = None) -> Response:
    """The response; in silent rollout the cards are counted but the EHR is shown none."""
    for card in cards:
        metrics.CDS_CARDS.labels(service_id, card["indicator"]).inc()
    shown = [] if current_app.config["CDS_SILENT_ROLLOUT"] else cards
    return _json({"cards": shown, **compact({"extension": extension or {}})})
