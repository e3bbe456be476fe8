"""``order-sign``: the knowledge base's contraindications, at the moment a clinician signs orders.

For each draft MedicationRequest, the medication is mapped to the knowledge base's drug
classes (``rules/medications.yaml``: RxNorm, ATC or SNOMED CT code, the name as a last
resort). The patient's record, built from the prefetched Patient, Observations and
Conditions, goes through the same rule engine as an assessment; the contraindication rules
it fires are the ones that suppress care in ``POST /v1/assessments`` — one source of truth.
An order whose drug class a fired rule suppresses gets a critical card proposing to delete
it, or to replace it with the alternative the knowledge base names for that rule; one a fired
rule only cautions against, a warning card with the same suggestions.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from fhir.resources.R4B.medication import Medication as FhirMedication
from fhir.resources.R4B.medicationrequest import MedicationRequest

from service.interop.cds_hooks.cards import Card, CardWriter
from service.interop.fhir.parsing import FhirInputError, parse
from service.knowledge.medications import Medication, MedicationTable
from service.knowledge.model import Layer, Rule
from service.reasoning.assessor import Assessor
from service.reasoning.record import Record


@dataclass(frozen=True)
class DraftOrder:
    id: str
    medication: Medication | None
    described_as: str  # the order's codes and text, to report an order that could not be mapped

    @property
    def reference(self) -> str:
        return f"MedicationRequest/{self.id}"


def draft_medication_orders(draft_orders: dict[str, Any], table: MedicationTable) -> list[DraftOrder]:
    """The MedicationRequests in ``context.draftOrders`` (a Bundle), each with its medication."""
    if draft_orders.get("resourceType") != "Bundle":
        raise FhirInputError("context.draftOrders must be a FHIR Bundle")
    entries = draft_orders.get("entry") or []
    if not isinstance(entries, list):
        raise FhirInputError("context.draftOrders.entry must be a list")
    orders = []
    for entry in entries:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(resource, dict) and resource.get("resourceType") == "MedicationRequest":
            orders.append(_draft_order(resource, table))
    return orders


def _draft_order(resource: dict[str, Any], table: MedicationTable) -> DraftOrder:
    request = parse(MedicationRequest, resource, "a draft MedicationRequest")
    if not request.id:
        raise FhirInputError("every draft MedicationRequest needs an id (a delete suggestion names it)")
    concept = request.medicationCodeableConcept or _contained_medication_code(request)
    codings = list((concept.coding if concept else None) or ())
    medication = next((m for c in codings if (m := table.by_code(c.system, c.code))), None)
    texts = [concept.text if concept else None, *(c.display for c in codings)]
    medication = medication or next((m for t in texts if (m := table.by_text(t))), None)
    described = ", ".join([*(f"{c.system}|{c.code}" for c in codings), *(f"'{t}'" for t in texts if t)])
    return DraftOrder(id=request.id, medication=medication, described_as=described[:200] or "no code or text")


def _contained_medication_code(request: MedicationRequest) -> Any:
    """The code of a contained Medication the order references (``#id``), if any."""
    reference = request.medicationReference.reference if request.medicationReference else None
    if not reference or not reference.startswith("#"):
        return None
    contained = {r.id: r for r in request.contained or () if isinstance(r, FhirMedication)}
    medication = contained.get(reference[1:])
    return medication.code if medication is not None else None


def contraindication_rules(assessor: Assessor, record: Record) -> list[Rule]:
    """The contraindication rules this patient's record fires, in knowledge-base order."""
    kb = assessor.kb
    fired = [kb.rules[r] for r in assessor.fire(record)]
    return sorted((r for r in fired if r.layer is Layer.CONTRAINDICATION), key=lambda r: kb.rule_order[r.id])


@dataclass(frozen=True)
class MedicationSafety:
    """Cards for a set of draft orders, given the contraindication rules this patient fires.

    A rule that suppresses the order's drug class makes a critical card; a rule that only
    cautions against it (kept, with its reason) a warning card.
    """

    writer: CardWriter
    table: MedicationTable
    rules: list[Rule]

    def cards(self, orders: list[DraftOrder], patient_id: str) -> list[Card]:
        cards = []
        for order in orders:
            if order.medication is None:
                continue
            if blocking := self._blocking(order.medication):
                cards.append(self._card(order, order.medication, blocking, "critical", patient_id))
            elif cautions := self._cautions(order.medication):
                cards.append(self._card(order, order.medication, cautions, "warning", patient_id))
        return cards

    def _blocking(self, medication: Medication) -> list[Rule]:
        return [r for r in self.rules if set(medication.drug_classes) & set(r.drug_classes)]

    def _cautions(self, medication: Medication) -> list[Rule]:
        return [r for r in self.rules if set(medication.drug_classes) & set(r.caution_drug_classes)]

    def _card(
        self, order: DraftOrder, medication: Medication, rules: list[Rule], indicator: str, patient_id: str
    ) -> Card:
        kb = self.writer.kb
        critical = indicator == "critical"
        verdict = "is contraindicated for this patient" if critical else "needs caution for this patient"
        lines = [f"**{medication.display}** ({', '.join(medication.drug_classes)}) {verdict}:", ""]
        for rule in rules:
            sources = "; ".join(kb.sources[s].title for s in rule.sources if s in kb.sources)
            lines.append(f"- {rule.rationale} ({rule.id}; {sources})")
        lines += ["", f"_For the patient: {' '.join(r.reason for r in rules if r.reason)}_"]
        delete: dict[str, Any] = {
            "type": "delete",
            "description": f"Remove the draft order for {medication.display}.",
            "resourceId": [order.reference],
        }
        suggestions: list[dict[str, Any]] = [
            {"label": f"Remove the {medication.display} order", "uuid": str(uuid.uuid4()), "actions": [delete]}
        ]
        alternative = self._alternative(rules)
        if alternative is not None:
            suggestions.insert(
                0,
                {
                    "label": f"Replace {medication.display} with {alternative.display}",
                    "uuid": str(uuid.uuid4()),
                    "isRecommended": critical,
                    "actions": [delete, self._create(alternative, patient_id)],
                },
            )
            lines += ["", f"Alternative the knowledge base names: {alternative.display}."]
        return self.writer.card(
            f"{'Contraindicated' if critical else 'Caution'}: {medication.display} — {rules[0].rationale}",
            indicator,
            "\n".join(lines),
            suggestions=suggestions,
            extension={
                "order": order.reference,
                "medication": medication.id,
                "drug_classes": list(medication.drug_classes),
                "rules": [r.id for r in rules],
                "sources": sorted({s for r in rules for s in r.sources}),
            },
        )

    def _alternative(self, rules: list[Rule]) -> Medication | None:
        """The first alternative one of ``rules`` names that no fired rule suppresses in turn."""
        for rule in rules:
            name = self.table.alternatives.get(rule.id)
            if name is not None and not self._blocking(self.table.medications[name]):
                return self.table.medications[name]
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


def not_checked(writer: CardWriter, missing: tuple[str, ...], orders: list[DraftOrder]) -> Card:
    """A warning that the check could not run: the record lacks what the rules need."""
    return writer.card(
        f"Medication safety not checked: record the patient's {' and '.join(missing)}",
        "warning",
        f"{len(orders)} draft medication order(s) were not checked against this service's contraindication rules, "
        f"which need the patient's {', '.join(missing)}.",
        extension={"orders": [o.reference for o in orders]},
    )
