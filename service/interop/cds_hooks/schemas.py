"""CDS Hooks 2.0 request and response shapes (marshmallow), validated and documented.

Requests are open: CDS Hooks is extensible, so unknown members are ignored, as the
specification asks. Responses are written by :mod:`service.interop.cds_hooks.cards` and
described here for the OpenAPI document.
"""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from service.interop.cds_hooks.discovery import HOOK
from service.reasoning.record import JsonInteger


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
    hook = fields.String(required=True, validate=validate.Equal(HOOK))
    hookInstance = fields.String(required=True, validate=validate.Length(min=1, max=128))  # noqa: N815
    context = fields.Nested(HookContextSchema, required=True)
    prefetch = fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True))
    fhirServer = fields.String()  # noqa: N815
    fhirAuthorization = fields.Nested(FhirAuthorizationSchema)  # noqa: N815


class FeedbackItemSchema(_Open):
    card = fields.String(required=True)
    outcome = fields.String(required=True, validate=validate.OneOf(("accepted", "overridden")))
    outcomeTimestamp = fields.String(required=True)  # noqa: N815
    acceptedSuggestions = fields.List(fields.Dict())  # noqa: N815
    overrideReason = fields.Dict()  # noqa: N815


class FeedbackSchema(_Open):
    feedback = fields.List(fields.Nested(FeedbackItemSchema), required=True, validate=validate.Length(min=1))


class LinkSchema(Schema):
    label = fields.String(required=True)
    url = fields.String(required=True)
    type = fields.String(required=True, validate=validate.OneOf(("absolute", "smart")))


class SourceSchema(Schema):
    label = fields.String(required=True)
    url = fields.String()


class SuggestionSchema(Schema):
    label = fields.String(required=True)
    uuid = fields.String()
    isRecommended = fields.Boolean()  # noqa: N815
    actions = fields.List(fields.Dict())


class CardSchema(Schema):
    uuid = fields.String()
    summary = fields.String(required=True, validate=validate.Length(max=140))
    detail = fields.String()
    indicator = fields.String(required=True, validate=validate.OneOf(("info", "warning", "critical")))
    source = fields.Nested(SourceSchema, required=True)
    suggestions = fields.List(fields.Nested(SuggestionSchema))
    selectionBehavior = fields.String()  # noqa: N815
    links = fields.List(fields.Nested(LinkSchema))
    extension = fields.Dict()


class CardsSchema(Schema):
    cards = fields.List(fields.Nested(CardSchema), required=True)


class DiscoverySchema(Schema):
    services = fields.List(fields.Dict(), required=True)
