"""CDS Hooks 2.0 request and response shapes (marshmallow), validated and documented.

Requests are open: CDS Hooks is extensible, so unknown members are ignored, as the
specification asks. Responses are written by :mod:`service.interop.cds_hooks.cards` and
described here for the OpenAPI document.
"""

from __future__ import annotations

import datetime as dt

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from service.interop.cds_hooks.discovery import HOOK, MEDICATION_HOOK
from service.reasoning.record import JsonInteger
from service.validation import WholeMatch

# FHIR R4 ``instant``: a date and time to the second, with a time zone
FHIR_INSTANT = (
    r"^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1])"
    r"T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]{1,9})?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))$"
)


class _Open(Schema):
    class Meta:
        unknown = EXCLUDE


class HookContextSchema(_Open):
    userId = fields.String(required=True)  # noqa: N815 (CDS Hooks field names)
    patientId = fields.String(required=True)  # noqa: N815
    encounterId = fields.String()  # noqa: N815


class FhirAuthorizationSchema(_Open):
    access_token = fields.String(required=True)
    token_type = fields.String(required=True)
    expires_in = JsonInteger(required=True)
    scope = fields.String(required=True)
    subject = fields.String(required=True)


class HookRequestSchema(_Open):
    """A ``patient-view`` call (another hook is refused first, naming it: see the view)."""

    hook = fields.String(required=True, validate=validate.Equal(HOOK))
    hookInstance = fields.String(required=True, validate=validate.Length(min=1, max=128))  # noqa: N815
    context = fields.Nested(HookContextSchema, required=True)
    prefetch = fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True))
    fhirServer = fields.String()  # noqa: N815
    fhirAuthorization = fields.Nested(FhirAuthorizationSchema)  # noqa: N815


class OrderSignContextSchema(HookContextSchema):
    draftOrders = fields.Dict(required=True)  # noqa: N815 (a FHIR Bundle of draft orders)


class OrderSignRequestSchema(HookRequestSchema):
    """An ``order-sign`` call: the draft orders the clinician is about to sign."""

    hook = fields.String(required=True, validate=validate.Equal(MEDICATION_HOOK))
    context = fields.Nested(OrderSignContextSchema, required=True)


class CodingSchema(_Open):
    system = fields.String()
    code = fields.String()
    display = fields.String()


class OverrideReasonSchema(_Open):
    reason = fields.Nested(CodingSchema)
    userComment = fields.String()  # noqa: N815


# A card's uuid as this service writes it (uuid4, any case): feedback about anything else names
# no card and would be counted for nothing.
CARD_UUID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


def _calendar_date(value: str) -> None:
    """The instant's date exists (the pattern lets 2026-02-30 through; OpenAPI cannot say more)."""
    try:
        dt.date.fromisoformat(value[:10])
    except ValueError:
        raise ValidationError("Must be a date that exists, e.g. 2026-11-21T10:00:00Z.") from None


class FeedbackItemSchema(_Open):
    card = fields.String(
        required=True, validate=WholeMatch(CARD_UUID, error="Must be the uuid of a card this service returned.")
    )
    outcome = fields.String(required=True, validate=validate.OneOf(("accepted", "overridden")))
    outcomeTimestamp = fields.String(  # noqa: N815
        required=True,
        validate=[
            WholeMatch(FHIR_INSTANT, error="Must be a FHIR instant, e.g. 2026-11-21T10:00:00Z."),
            _calendar_date,
        ],
    )
    acceptedSuggestions = fields.List(fields.Dict())  # noqa: N815
    overrideReason = fields.Nested(OverrideReasonSchema)  # noqa: N815


class FeedbackSchema(_Open):
    feedback = fields.List(fields.Nested(FeedbackItemSchema), required=True, validate=validate.Length(min=1))


class LinkSchema(Schema):
    label = fields.String(required=True)
    url = fields.String(required=True)
    type = fields.String(required=True, validate=validate.OneOf(("absolute", "smart")))


class SourceSchema(Schema):
    label = fields.String(required=True)
    url = fields.String()


class ActionSchema(Schema):
    type = fields.String(required=True, validate=validate.OneOf(("create", "update", "delete")))
    description = fields.String(required=True)
    resource = fields.Dict()
    resourceId = fields.List(fields.String())  # noqa: N815


class SuggestionSchema(Schema):
    label = fields.String(required=True)
    uuid = fields.String()
    isRecommended = fields.Boolean()  # noqa: N815
    actions = fields.List(fields.Nested(ActionSchema))


class CardSchema(Schema):
    uuid = fields.String()
    summary = fields.String(required=True, validate=validate.Length(max=140))
    detail = fields.String()
    indicator = fields.String(required=True, validate=validate.OneOf(("info", "warning", "critical")))
    source = fields.Nested(SourceSchema, required=True)
    suggestions = fields.List(fields.Nested(SuggestionSchema))
    selectionBehavior = fields.String(validate=validate.OneOf(("at-most-one", "any")))  # noqa: N815
    overrideReasons = fields.List(fields.Nested(CodingSchema))  # noqa: N815
    links = fields.List(fields.Nested(LinkSchema))
    extension = fields.Dict()


class CardsSchema(Schema):
    cards = fields.List(fields.Nested(CardSchema), required=True)
    extension = fields.Dict()


class DiscoverySchema(Schema):
    services = fields.List(fields.Dict(), required=True)
