"""``order-sign``: the knowledge base's contraindications, at the moment a clinician signs orders.

For each draft MedicationRequest, every medicine it names is mapped to the knowledge base's
drug classes (``rules/medications.yaml``: RxNorm, ATC or SNOMED CT codes and the names in its
text; each ingredient of a combination, and each of its contained Medication's
``ingredient``, with the contained Medication or Substance an ingredient references and its own
ingredients; diclofenac that its text, its dosage's route or its Medication's form says goes on
the skin as topical diclofenac). An ingredient nothing can be read of makes the order "not
checked", never checked in full. The patient's record, built
from the prefetched Patient, Observations and Conditions, goes through the same rule engine as
an assessment; the contraindication rules it fires are the ones that suppress care in
``POST /v1/assessments`` — one source of truth.
An order holding a medicine whose drug class a fired rule suppresses gets a critical card
proposing to delete it, or to replace it with the alternative the knowledge base names for that
rule; one a fired rule only cautions against, a warning card with the same suggestions.
"""

from __future__ import annotations

import re
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from fhir.resources.R4B.medication import Medication as FhirMedication
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.substance import Substance

from service.interop.cds_hooks.cards import Card, CardWriter, code_span, listed
from service.interop.fhir.parsing import FhirInputError, parse, resource_model
from service.knowledge.medications import Medication, MedicationTable
from service.knowledge.model import KnowledgeBase, Layer, Rule
from service.reasoning.assessor import Assessor
from service.reasoning.record import Record
from service.validation import shortened

_SHOWN_PARTS = 10  # unchecked ingredients a card lists: an order's text is the EHR's, of any length
# ingredients of ingredients followed, at most: the contained resources bound the walk, this a chain
_INGREDIENT_DEPTH = 8
_FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")  # FHIR R4 ``id``


@dataclass(frozen=True)
class DraftOrder:
    id: str
    medications: tuple[Medication, ...]  # every medicine it names that is checked: each ingredient
    unchecked: tuple[str, ...]  # what it holds beside them that is not: aspirin, an ingredient not known
    described_as: str  # the order's codes and text, to report an order that could not be mapped
    named_as: str  # what the order says it is: its first text, else its first code

    @property
    def reference(self) -> str:
        return f"MedicationRequest/{self.id}"

    @property
    def checked_in_full(self) -> bool:
        """Whether everything the order holds was checked: not so when it names no medicine the
        table checks, or an ingredient beside one that it does not (aspirin beside paracetamol)."""
        return bool(self.medications) and not self.unchecked


@dataclass(frozen=True)
class UnreadOrder:
    """A draft order that could not be read: a MedicationRequest the FHIR library refuses (a
    status ``Draft``, no ``subject``) or with no id, or an entry holding no R4 resource. It is
    carded "not checked" and the other orders are checked: one such order made the whole call a
    400, and the ibuprofen order signed beside it at 30 weeks got no card."""

    entry: int  # its index in context.draftOrders.entry
    id: str | None  # its id, where it has one FHIR allows (never anything else the EHR sent)
    problem: str  # what is wrong, naming the element, never a value (FhirInputError)

    @property
    def reference(self) -> str | None:
        return f"MedicationRequest/{self.id}" if self.id else None

    @property
    def named_as(self) -> str:
        """Which order it is: ``entry[1] (MedicationRequest/o2)``, or ``entry[1]``."""
        return f"entry[{self.entry}] ({self.reference})" if self.reference else f"entry[{self.entry}]"


@dataclass(frozen=True)
class DraftOrders:
    read: list[DraftOrder]
    unread: list[UnreadOrder]


def draft_medication_orders(draft_orders: dict[str, Any], table: MedicationTable) -> DraftOrders:
    """The MedicationRequests in ``context.draftOrders`` (a Bundle), each with its medication, and
    the orders that could not be read. Entries holding another resource (a ServiceRequest) are
    no medication orders, unless it could hold one (:func:`_could_hold_orders`): a nested Bundle
    holding an ibuprofen order was skipped with no card at 30 weeks, so such an entry is unread,
    carded "not checked". A ``draftOrders`` that is no Bundle, or whose ``entry`` is no list, is
    no CDS Hooks order-sign call: :class:`FhirInputError`, a 400."""
    if draft_orders.get("resourceType") != "Bundle":
        raise FhirInputError("context.draftOrders must be a FHIR Bundle")
    entries = draft_orders.get("entry") or []
    if not isinstance(entries, list):
        raise FhirInputError("context.draftOrders.entry must be a list")
    orders = DraftOrders([], [])
    for index, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        kind = resource.get("resourceType") if isinstance(resource, dict) else None
        if isinstance(resource, dict) and kind == "MedicationRequest":
            try:
                orders.read.append(_draft_order(resource, table))
            except FhirInputError as error:
                orders.unread.append(UnreadOrder(index, _fhir_id(resource.get("id")), str(error)))
        elif resource_model(kind) is None:
            orders.unread.append(UnreadOrder(index, None, "the entry holds no FHIR R4 resource"))
        elif _could_hold_orders(resource):
            orders.unread.append(UnreadOrder(index, None, f"the entry holds a {kind}, which could hold orders"))
    return orders


_ORDER_HOLDERS = frozenset({"Bundle", "Parameters", "MedicationRequest"})


def _could_hold_orders(value: Any) -> bool:
    """Whether an entry's resource, other than a MedicationRequest, is or holds anywhere inside it
    a resource that holds or is a medication order (a Bundle, Parameters or MedicationRequest, as
    a nested Bundle or a contained MedicationRequest). Those orders are not read here, so the
    entry cannot pass as "no medication order". (The body is at most 64 KB: the walk is bounded.)"""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            if item.get("resourceType") in _ORDER_HOLDERS:
                return True
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def _fhir_id(value: Any) -> str | None:
    return value if isinstance(value, str) and _FHIR_ID.fullmatch(value) else None


def _draft_order(resource: dict[str, Any], table: MedicationTable) -> DraftOrder:
    request = parse(MedicationRequest, resource, "a draft MedicationRequest")
    if not request.id:
        raise FhirInputError("every draft MedicationRequest needs an id (a delete suggestion names it)")
    held = _holdings(request)
    codings = [coding for c in held.concepts for coding in c.coding or ()]
    texts = [t for t in (*(c.text for c in held.concepts), *(c.display for c in codings), *held.named) if t]
    # how it is given, in words: a route or a form coded without a display says nothing here
    given = [d.route for d in request.dosageInstruction or ()] + held.forms
    forms = [t for c in given if c is not None for t in (c.text, *(d.display for d in c.coding or ())) if t]
    identified = table.identify(((c.system, c.code) for c in codings), texts, forms)
    codes = [f"{c.system}|{c.code}" for c in codings]
    described = ", ".join([*codes, *(f"'{t}'" for t in texts)])
    unchecked = tuple(dict.fromkeys((*held.unread, *identified.unchecked, *_unknown_coded_ingredients(held, table))))
    return DraftOrder(
        id=request.id,
        medications=identified.medications,
        unchecked=tuple(part[:100] for part in unchecked[:_SHOWN_PARTS]),
        described_as=described[:200] or "no code or text",
        named_as=next(iter(texts + codes), "an order with no code or text")[:100],
    )


@dataclass
class _Holdings:
    """What an order's medication says it is and holds: its concept, or the contained Medication
    it references with each ingredient, and each contained Medication or Substance an ingredient
    references in turn, with theirs (a compounded product lists its parts so: read like the
    order's own codes and names). Ibuprofen as an ingredient was "not checked"; beside a code
    naming paracetamol it passed with no card, and so did one given as a reference to a
    contained Medication or Substance coded as ibuprofen, whose code was never read."""

    concepts: list[Any] = field(default_factory=list)  # CodeableConcepts: codes and texts naming what it holds
    ingredients: list[Any] = field(default_factory=list)  # of those, the ingredients' (a part, not another name)
    named: list[str] = field(default_factory=list)  # references' displays (Medication/123 on the EHR's server)
    forms: list[Any] = field(default_factory=list)  # the contained Medication's form: whether it goes on the skin
    # a medication or ingredient nothing could be read of: the order is never checked in full
    unread: list[str] = field(default_factory=list)


def _holdings(request: MedicationRequest) -> _Holdings:
    """Every reference is followed once (a cycle ends where it closes) and at most
    :data:`_INGREDIENT_DEPTH` ingredients deep. A reference read neither by its display nor by a
    contained resource (``#id`` naming none, a resource on the EHR's server with no display, a
    Patient), a resource with no code, text or ingredient, or one nested deeper is unread. An
    ``#id`` naming several contained resources (invalid FHIR) reads every one of them, so the
    order is as contraindicated as the most contraindicated: reading it "not checked" instead
    would name no NSAID it holds, and reading one would hide the others."""
    held = _Holdings()
    if request.medicationCodeableConcept is not None:
        held.concepts.append(request.medicationCodeableConcept)
    # every contained resource with an id: FHIR wants them unique, but the library accepts two
    # with one id, and reading the first alone let a paracetamol ``#m`` hide an ibuprofen ``#m``
    contained: dict[str, list[Any]] = {}
    for resource in request.contained or ():
        if resource.id:
            contained.setdefault(resource.id, []).append(resource)
    pending = deque([(request.medicationReference, 0)] if request.medicationReference is not None else [])
    followed: set[str] = set()  # the contained resources read: a cycle ends where it closes
    while pending:
        reference, depth = pending.popleft()
        pending.extend((part, depth + 1) for part in _follow(reference, depth, contained, followed, held))
    return held


def _follow(
    reference: Any, depth: int, contained: dict[str, list[Any]], followed: set[str], held: _Holdings
) -> list[Any]:
    """Reads into ``held`` what ``reference`` names (its display, and each contained resource its
    ``#id`` names, once), and returns the references of their ingredients."""
    what, target = "the ingredient" if depth else "the medication", reference.reference or ""
    if reference.display:
        held.named.append(reference.display)
    if not target.startswith("#"):
        if not reference.display:
            held.unread.append(f"{what} {shortened(target or 'with no reference')} (not sent with the order)")
        return []
    if target in followed:
        return []
    followed.add(target)
    parts = []
    for named in contained.get(target[1:]) or [None]:
        resource = _readable(named, depth)
        if isinstance(resource, str):
            held.unread.append(f"{what} {shortened(target)} ({resource})")
            continue
        if depth == 0 and isinstance(resource, FhirMedication):
            held.forms.append(resource.form)
        ingredients = _ingredients(resource)
        held.concepts += [c for c in (resource.code, *(concept for concept, _ in ingredients)) if c is not None]
        held.ingredients += [concept for concept, _ in ingredients if concept is not None]
        parts += [part for _, part in ingredients if part is not None]
    return parts


def _unknown_coded_ingredients(held: _Holdings, table: MedicationTable) -> list[str]:
    """The ingredients given by codes alone that name nothing the table knows. An unknown code
    beside the product's is read as another name for it, but an ingredient is a part: a
    paracetamol product holding an ingredient coded only by a local code for ibuprofen passed
    as checked, with no card at 30 weeks. (One with words is read by its words.)"""
    unknown = []
    for concept in held.ingredients:
        codings = concept.coding or ()
        if concept.text or not codings or any(c.display for c in codings):
            continue
        if not table.identify(((c.system, c.code) for c in codings), ()).medications:
            unknown.append("the ingredient coded " + ", ".join(f"{c.system or ''}|{c.code or ''}" for c in codings))
    return unknown


def _readable(resource: Any, depth: int) -> FhirMedication | Substance | str:
    """A referenced contained resource, if something can be read of it; else why not."""
    if resource is None:
        return "not in the order"
    if not isinstance(resource, FhirMedication | Substance):
        return f"a {resource.get_resource_type()}, not a Medication or Substance"
    if depth > _INGREDIENT_DEPTH:
        return f"nested more than {_INGREDIENT_DEPTH} ingredients deep"
    concept = resource.code
    says = concept is not None and (concept.text or any(c.code or c.display for c in concept.coding or ()))
    return resource if says or resource.ingredient else "no code, text or ingredient"


def _ingredients(resource: FhirMedication | Substance) -> list[tuple[Any, Any]]:
    """Each ingredient of a Medication or Substance: its concept, or its reference."""
    if isinstance(resource, FhirMedication):
        return [(part.itemCodeableConcept, part.itemReference) for part in resource.ingredient or ()]
    return [(part.substanceCodeableConcept, part.substanceReference) for part in resource.ingredient or ()]


def contraindication_rules(assessor: Assessor, record: Record) -> list[Rule]:
    """The contraindication rules this patient's record fires, in knowledge-base order."""
    kb = assessor.kb
    fired = [kb.rules[r] for r in assessor.fire(record)]
    return sorted((r for r in fired if r.layer is Layer.CONTRAINDICATION), key=lambda r: kb.rule_order[r.id])


@dataclass(frozen=True)
class MedicationSafety:
    """Cards for a set of draft orders, given the contraindication rules this patient fires.

    ``rules`` fire whatever the values the record lacks (``unrecorded``: its age, sex or
    gestational week); ``possible`` fire for some of those values only. A rule that
    suppresses the order's drug class makes a critical card; a rule that only cautions
    against it, or that would apply for some of the values not recorded, a warning card that
    says which (an NSAID with the week not recorded: contraindicated from week 20).
    """

    writer: CardWriter
    table: MedicationTable
    rules: list[Rule]
    possible: list[Rule]
    unrecorded: tuple[str, ...]

    @classmethod
    def for_every_value(
        cls, writer: CardWriter, table: MedicationTable, fired: list[list[Rule]], unrecorded: tuple[str, ...]
    ) -> MedicationSafety:
        """``fired``: the contraindication rules of the record completed with each value it
        could have (:func:`service.reasoning.unrecorded.completions`; one list when it lacks none)."""
        every = set.intersection(*({r.id for r in rules} for rules in fired))
        union = {r.id: r for rules in fired for r in rules}
        ordered = sorted(union.values(), key=lambda r: writer.kb.rule_order[r.id])
        return cls(
            writer,
            table,
            rules=[r for r in ordered if r.id in every],
            possible=[r for r in ordered if r.id not in every],
            unrecorded=unrecorded,
        )

    def cards(self, orders: DraftOrders, patient_id: str) -> list[Card]:
        """At most one card per order. An order is as contraindicated as the most contraindicated
        medicine it holds (ibuprofen in a paracetamol and ibuprofen tablet); one with nothing
        contraindicated that holds anything not checked, and one that could not be read, is
        carded "not checked"."""
        cards = []
        for order in orders.read:
            held = order.medications
            rules = [r for r in self.rules if _suppresses(r, held)]
            rules = rules or [r for r in self.rules if _cautions(r, held)]
            possible = [r for r in self.possible if _suppresses(r, held) or _cautions(r, held)]
            if rules or possible:
                cards.append(self._card(order, rules, possible, patient_id))
            elif not order.checked_in_full and self.barred_classes:
                cards.append(self._not_checked(order))
        if self.barred_classes:
            cards += [self._not_read(order) for order in orders.unread]
        return cards

    @property
    def barred_classes(self) -> dict[str, list[str]]:
        """Each drug class a rule fired for this patient (for some value not recorded, too)
        suppresses or cautions against, with those rules: what an order not checked could be."""
        barred: dict[str, list[str]] = {}
        for rule in self.rules + self.possible:
            for drug_class in dict.fromkeys((*rule.drug_classes, *rule.caution_drug_classes)):
                barred.setdefault(drug_class, []).append(rule.id)
        return barred

    def _not_checked(self, order: DraftOrder) -> Card:
        """A warning for an order the table cannot map, or an ingredient of it that it does not
        check (aspirin beside paracetamol), while this patient has contraindications: it could be
        one of the barred drugs (a brand name, an NSAID not listed yet, aspirin at an analgesic
        dose), and a response-level extension alone is shown by no EHR. A patient for whom no rule
        bars any drug gets no such card: whatever the order is, no rule here would speak about it."""
        if order.medications:
            parts = ", ".join(code_span(part) for part in order.unchecked)
            held = listed(tuple(m.display for m in order.medications))
            summary = f"Not checked: this service does not check {listed(order.unchecked)}"
            opening = (
                f"The order {code_span(order.described_as)} holds {held}, which nothing bars for this patient, "
                f"and {parts}, which this service does not check, so that part was **not checked**."
            )
        else:
            summary = f"Not checked: {order.named_as} is not a medicine this service checks"
            opening = (
                f"The order {code_span(order.described_as)} names no medicine this service checks, so it was "
                "**not checked**."
            )
        lines = [
            *self._barred(opening),
            "Check whether the order is one of these (an NSAID under a brand name, for instance).",
        ]
        extension = {
            "order": order.reference,
            "not_checked": True,
            "drug_classes": list(self.barred_classes),
            "medications": [m.id for m in order.medications],
            "unchecked": list(order.unchecked),
        }
        return self.writer.card(summary, "warning", "\n".join(lines), extension=extension)

    def _not_read(self, order: UnreadOrder) -> Card:
        """A warning for a draft order that could not be read, while this patient has
        contraindications: whatever it orders was **not checked**. It names the order by its
        place in ``draftOrders`` and its id, and says what is wrong, never what it holds."""
        opening = (
            f"The draft order {order.named_as} could not be read ({code_span(order.problem)}), so it was "
            "**not checked**."
        )
        lines = [
            *self._barred(opening),
            "Check whether the order is one of these, or correct the order and sign it again to have it checked.",
        ]
        extension = {
            "order": order.reference,
            "entry": order.entry,
            "not_checked": True,
            "not_read": order.problem,
            "drug_classes": list(self.barred_classes),
        }
        summary = f"Not checked: draft order {order.named_as} could not be read"
        return self.writer.card(summary, "warning", "\n".join(lines), extension=extension)

    def _barred(self, opening: str) -> list[str]:
        """``opening``, then the drug classes a rule bars or cautions against for this patient."""
        return [
            f"{opening} For this patient the knowledge base bars or cautions against:",
            "",
            *(f"- {c.replace('_', ' ')} ({', '.join(rules)})" for c, rules in self.barred_classes.items()),
            "",
        ]

    def _card(self, order: DraftOrder, rules: list[Rule], possible: list[Rule], patient_id: str) -> Card:
        """Critical when a rule that holds whatever is not recorded suppresses a medicine the
        order holds, else a warning. The card names the medicines the rules speak about; its
        suggestions remove or replace the whole order, any other ingredient with them."""
        kb = self.writer.kb
        shown = rules + possible
        barred = tuple(m for m in order.medications if any(_suppresses(r, (m,)) or _cautions(r, (m,)) for r in shown))
        critical = any(_suppresses(r, barred) for r in rules)
        indicator = "critical" if critical else "warning"
        unrecorded = listed(self.unrecorded)
        name, whole = listed(tuple(m.display for m in barred)), listed(tuple(m.display for m in order.medications))
        classes = list(dict.fromkeys(c for m in barred for c in m.drug_classes))
        be, need = ("is", "needs") if len(barred) == 1 else ("are", "need")
        if rules:
            verdict = f"{be} contraindicated for this patient" if critical else f"{need} caution for this patient"
            summary = f"{'Contraindicated' if critical else 'Caution'}: {name} — {rules[0].rationale}"
        else:
            verdict = f"{be} contraindicated or {need} caution for some values of the patient's {unrecorded}"
            summary = f"Record the patient's {unrecorded}: {name} may be contraindicated"
        lines = [f"**{name}** ({', '.join(classes)}) {verdict}:", ""]
        lines += [self._line(rule, kb) for rule in rules]
        if possible:
            if rules:
                lines += ["", f"Depending on the patient's {unrecorded}, which is not recorded, also:", ""]
            lines += [self._line(rule, kb) for rule in possible]
            lines += ["", f"Record the patient's {unrecorded} to check this order for certain."]
        lines += self._rest_of_the_order(order, barred)
        lines += ["", f"_For the patient: {' '.join(r.reason for r in shown if r.reason)}_"]
        delete: dict[str, Any] = {
            "type": "delete",
            "description": f"Remove the draft order for {whole}.",
            "resourceId": [order.reference],
        }
        suggestions: list[dict[str, Any]] = [
            {"label": f"Remove the {whole} order", "uuid": str(uuid.uuid4()), "actions": [delete]}
        ]
        alternative = self._alternative(shown)
        if alternative is not None:
            suggestions.insert(
                0,
                {
                    "label": f"Replace {whole} with {alternative.display}",
                    "uuid": str(uuid.uuid4()),
                    "isRecommended": critical,
                    "actions": [delete, self._create(alternative, patient_id)],
                },
            )
            lines += ["", f"Alternative the knowledge base names: {alternative.display}."]
        extension: dict[str, Any] = {
            "order": order.reference,
            "medication": barred[0].id,
            "medications": [m.id for m in barred],
            "drug_classes": classes,
            "rules": [r.id for r in rules],
            "sources": sorted({s for r in shown for s in r.sources}),
            "unchecked": list(order.unchecked),
        }
        if possible:
            extension |= {"unrecorded": list(self.unrecorded), "rules_for_some_values": [r.id for r in possible]}
        return self.writer.card(summary, indicator, "\n".join(lines), suggestions=suggestions, extension=extension)

    @staticmethod
    def _rest_of_the_order(order: DraftOrder, barred: tuple[Medication, ...]) -> list[str]:
        """What else the order holds: the other ingredients of a combination, which go with it
        if it is removed, and any that were not checked."""
        others = tuple(m.display for m in order.medications if m not in barred)
        lines = []
        if others:
            lines += ["", f"This order also holds {listed(others)}; the suggestions act on the whole order."]
        if order.unchecked:
            parts = ", ".join(code_span(part) for part in order.unchecked)
            lines += ["", f"Not checked: {parts}, which this service does not check."]
        return lines

    @staticmethod
    def _line(rule: Rule, kb: KnowledgeBase) -> str:
        sources = "; ".join(kb.sources[s].title for s in rule.sources if s in kb.sources)
        return f"- {rule.rationale} ({rule.id}; {sources})"

    def _alternative(self, rules: list[Rule]) -> Medication | None:
        """The first alternative one of ``rules`` names that no fired rule suppresses in turn,
        whatever the values not recorded."""
        for rule in rules:
            name = self.table.alternatives.get(rule.id)
            alternative = self.table.medications[name] if name is not None else None
            if alternative is not None and not any(_suppresses(r, (alternative,)) for r in self.rules + self.possible):
                return alternative
        return None

    def _create(self, medication: Medication, patient_id: str) -> dict[str, Any]:
        coding = [{"system": system, "code": code} for system, code in medication.codings]  # the text names it
        return {
            "type": "create",
            "description": f"Draft an order for {medication.display} (dose and route to be set by the prescriber).",
            "resource": {
                "resourceType": "MedicationRequest",
                "status": "draft",
                "intent": "proposal",
                "subject": {"reference": f"Patient/{patient_id}"},
                "medicationCodeableConcept": {"coding": coding, "text": medication.display},
            },
        }


def _suppresses(rule: Rule, medications: tuple[Medication, ...]) -> bool:
    """Whether ``rule`` removes one of ``medications``: an order holding it goes with it."""
    return any(set(m.drug_classes) & set(rule.drug_classes) for m in medications)


def _cautions(rule: Rule, medications: tuple[Medication, ...]) -> bool:
    return any(set(m.drug_classes) & set(rule.caution_drug_classes) for m in medications)
