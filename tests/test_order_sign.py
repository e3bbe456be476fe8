"""order-sign: contraindicated draft medication orders, from the knowledge base's own rules."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from flask.testing import FlaskClient

from service.app import create_app
from service.knowledge.model import Layer
from service.settings import Settings, SettingsError
from tests.cds_card_schema import conformance_problems
from tests.cds_tokens import BASE, Ehr
from tests.test_cds_hooks import SNOMED, bundle, condition, observation, patient

SERVICE = "/cds-services/buttock-pain-medication-safety"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ATC = "http://www.whocc.no/atc"
LOINC = "http://loinc.org"
IBUPROFEN = (RXNORM, "5640")
CELECOXIB = (RXNORM, "140587")
PARACETAMOL = (RXNORM, "161")


def order(ident: str, coding: tuple[str, str] | None = None, text: str | None = None, **extra: Any) -> dict[str, Any]:
    concept: dict[str, Any] = {}
    if coding:
        concept["coding"] = [{"system": coding[0], "code": coding[1]}]
    if text:
        concept["text"] = text
    return {
        "resourceType": "MedicationRequest",
        "id": ident,
        "status": "draft",
        "intent": "order",
        "subject": {"reference": "Patient/1288992"},
        **({"medicationCodeableConcept": concept} if concept else {}),
        **extra,
    }


def pregnant_at(week: int) -> dict[str, Any]:
    return {
        "patient": patient(birth="1994-03-01"),
        "conditions": bundle(condition("77386006", "preg")),
        "observations": bundle(observation(LOINC, "49051-6", "ga", valueQuantity={"value": week, "unit": "wk"})),
    }


def order_sign(cds: FlaskClient, ehr: Ehr, prefetch: dict[str, Any], *orders: dict[str, Any]) -> dict[str, Any]:
    body = {
        "hook": "order-sign",
        "hookInstance": str(uuid.uuid4()),
        "fhirServer": "https://fhir.example.org/r4",
        "context": {"userId": "Practitioner/example", "patientId": "1288992", "draftOrders": bundle(*orders)},
        "prefetch": prefetch,
    }
    response = cds.post(SERVICE, json=body, headers=ehr.header(audience=f"{BASE}{SERVICE}"))
    assert response.status_code == 200, response.get_json()
    document = response.get_json()
    assert conformance_problems(document) == []
    return document


@pytest.mark.parametrize(
    ("coding", "week", "expected"),
    [
        (IBUPROFEN, 12, ("warning", ["CI-NSAID-BEFORE-WEEK-20-CAUTION"])),
        ((ATC, "M01AE01"), 12, ("warning", ["CI-NSAID-BEFORE-WEEK-20-CAUTION"])),
        (IBUPROFEN, 20, ("critical", ["CI-NSAID-FROM-WEEK-20"])),
        ((ATC, "M01AE01"), 20, ("critical", ["CI-NSAID-FROM-WEEK-20"])),
        (IBUPROFEN, 36, ("critical", ["CI-NSAID-FROM-WEEK-20"])),
        ((ATC, "M01AE01"), 36, ("critical", ["CI-NSAID-FROM-WEEK-20"])),
        (CELECOXIB, 12, ("critical", ["CI-COX2-PREGNANCY"])),
        ((ATC, "M01AH01"), 12, ("critical", ["CI-COX2-PREGNANCY"])),
        (CELECOXIB, 20, ("critical", ["CI-NSAID-FROM-WEEK-20", "CI-COX2-PREGNANCY"])),
        ((ATC, "M01AH01"), 36, ("critical", ["CI-NSAID-FROM-WEEK-20", "CI-COX2-PREGNANCY"])),
        (PARACETAMOL, 30, (None, [])),
    ],
)
def test_nsaids_and_cox2_inhibitors_by_rxnorm_and_atc_through_pregnancy(
    cds: FlaskClient, ehr: Ehr, coding: tuple[str, str], week: int, expected: tuple[str | None, list[str]]
) -> None:
    indicator, rules = expected
    cards = order_sign(cds, ehr, pregnant_at(week), order("mr1", coding))["cards"]
    if not rules:
        assert cards == []
        return
    (card,) = cards
    assert card["indicator"] == indicator
    assert card["extension"]["rules"] == rules and card["extension"]["order"] == "MedicationRequest/mr1"
    assert all(rule in card["detail"] for rule in rules)
    deletes = [a for s in card["suggestions"] for a in s["actions"] if a["type"] == "delete"]
    assert deletes and all(a["resourceId"] == ["MedicationRequest/mr1"] for a in deletes)
    assert card["overrideReasons"]


def test_ibuprofen_at_30_weeks_is_critical_with_paracetamol_offered_instead(cds: FlaskClient, ehr: Ehr) -> None:
    (card,) = order_sign(cds, ehr, pregnant_at(30), order("ibu", IBUPROFEN))["cards"]
    replace, remove = card["suggestions"]
    assert replace["isRecommended"] is True and card["selectionBehavior"] == "at-most-one"
    delete, create = replace["actions"]
    assert delete == {"type": "delete", "description": delete["description"], "resourceId": ["MedicationRequest/ibu"]}
    medication = create["resource"]["medicationCodeableConcept"]
    assert create["type"] == "create" and {"system": RXNORM, "code": "161"} in [
        {"system": c["system"], "code": c["code"]} for c in medication["coding"]
    ]
    assert [a["type"] for a in remove["actions"]] == ["delete"]
    assert "FDA" in card["detail"] or "BNF" in card["detail"]  # the rule's sources, by title
    assert set(card["extension"]["sources"]) == {"FDA-NSAID-20W", "BNF-PREGNANCY"}


def test_a_gestational_age_measured_in_a_leap_second_is_read(cds: FlaskClient, ehr: Ehr) -> None:
    """A valid FHIR dateTime (second 60) was a 500: no check of the order at all."""
    prefetch = pregnant_at(30)
    yesterday = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    prefetch["observations"]["entry"][0]["resource"]["issued"] = f"{yesterday.isoformat()}T23:59:60Z"
    (card,) = order_sign(cds, ehr, prefetch, order("ibu", IBUPROFEN))["cards"]
    assert card["indicator"] == "critical"


def test_a_gestational_age_in_months_is_checked_as_a_week_not_recorded(cds: FlaskClient, ehr: Ehr) -> None:
    """Was a 400 (no check of the order at all): 7 months is no fixed number of weeks."""
    prefetch = pregnant_at(30)
    prefetch["observations"]["entry"][0]["resource"]["valueQuantity"] = {"value": 7, "unit": "mo", "code": "mo"}
    (card,) = order_sign(cds, ehr, prefetch, order("ibu", IBUPROFEN))["cards"]
    assert card["indicator"] == "warning" and "gestational week" in card["summary"]


@pytest.mark.parametrize(
    ("bound", "indicator", "summary"),
    [
        # more than 19 weeks is 19 weeks and a day or more: week 19 (a caution) or 20 on (contraindicated)
        ({"value": 19, "comparator": ">"}, "warning", "Record the patient's gestational week: Ibuprofen may be"),
        ({"value": 20, "comparator": ">="}, "critical", "Contraindicated: Ibuprofen"),
        ({"value": 140, "comparator": ">=", "code": "d"}, "critical", "Contraindicated: Ibuprofen"),
        ({"value": 21, "comparator": "<"}, "warning", "Record the patient's gestational week: Ibuprofen may be"),
    ],
)
def test_a_gestational_age_given_as_a_bound_is_checked_at_every_week_it_allows(
    cds: FlaskClient, ehr: Ehr, bound: dict[str, Any], indicator: str, summary: str
) -> None:
    """Attack 7 finding 4: the comparator was ignored, and "> 19 wk" read as week 19 made the
    NSAID contraindication from week 20 a "Caution … before week 20"."""
    prefetch = pregnant_at(30)
    prefetch["observations"]["entry"][0]["resource"]["valueQuantity"] = {"unit": "wk", **bound}
    (card,) = order_sign(cds, ehr, prefetch, order("ibu", IBUPROFEN))["cards"]
    assert card["indicator"] == indicator and card["summary"].startswith(summary)
    assert "CI-NSAID-FROM-WEEK-20" in card["detail"]


def test_a_bisphosphonate_in_pregnancy_has_no_alternative_but_removal(cds: FlaskClient, ehr: Ehr) -> None:
    (card,) = order_sign(cds, ehr, pregnant_at(10), order("zol", (ATC, "M05BA08")))["cards"]
    assert card["indicator"] == "critical" and card["extension"]["rules"] == ["CI-BISPHOSPHONATE-PREGNANCY"]
    (remove,) = card["suggestions"]
    assert [a["type"] for a in remove["actions"]] == ["delete"]


def test_nothing_contraindicates_an_nsaid_for_a_healthy_adult(cds: FlaskClient, ehr: Ehr) -> None:
    document = order_sign(cds, ehr, {"patient": patient(gender="male")}, order("ibu", IBUPROFEN))
    assert document == {"cards": []}


def adult(*conditions: dict[str, Any], born: str = "1960-01-01") -> dict[str, Any]:
    return {"patient": patient(gender="male", birth=born), "conditions": bundle(*conditions)}


CARDIOVASCULAR = condition("49601007", "cv")
KIDNEY = condition("90708001", "ckd")


@pytest.mark.parametrize(
    ("prefetch", "coding", "rule"),
    [
        (adult(CARDIOVASCULAR), CELECOXIB, "CI-COX2-DICLOFENAC-CARDIOVASCULAR"),
        (adult(CARDIOVASCULAR), (ATC, "M01AH05"), "CI-COX2-DICLOFENAC-CARDIOVASCULAR"),  # etoricoxib
        (adult(CARDIOVASCULAR), (RXNORM, "3355"), "CI-COX2-DICLOFENAC-CARDIOVASCULAR"),  # diclofenac
        (adult(CARDIOVASCULAR), IBUPROFEN, None),
        (adult(CARDIOVASCULAR), (ATC, "M02AA15"), None),  # diclofenac gel
        (adult(KIDNEY), IBUPROFEN, "CI-NSAID-KIDNEY"),
        (adult(born="2020-01-01"), CELECOXIB, "CI-CHILD-ADULT-MEDICINES"),
        (adult(born="2020-01-01"), (ATC, "M05BA08"), "CI-CHILD-ADULT-MEDICINES"),
    ],
)
def test_contraindications_outside_pregnancy(
    cds: FlaskClient, ehr: Ehr, prefetch: dict[str, Any], coding: tuple[str, str], rule: str | None
) -> None:
    cards = order_sign(cds, ehr, prefetch, order("o1", coding))["cards"]
    if rule is None:
        assert cards == []
        return
    (card,) = cards
    assert card["indicator"] == "critical" and rule in card["extension"]["rules"]


def test_an_unknown_code_is_a_not_checked_warning_when_the_patient_has_contraindications(
    cds: FlaskClient, ehr: Ehr
) -> None:
    """It got no card at all at 30 weeks: an NSAID the table did not know passed silently."""
    document = order_sign(cds, ehr, pregnant_at(30), order("x1", (RXNORM, "99999999")))
    (card,) = document["cards"]
    assert card["indicator"] == "warning" and card["summary"].startswith("Not checked: http://")
    assert card["extension"]["order"] == "MedicationRequest/x1" and "nsaid" in card["extension"]["drug_classes"]
    assert "CI-NSAID-FROM-WEEK-20" in card["detail"] and card["overrideReasons"]
    assert document["extension"]["unmapped_orders"] == [
        "MedicationRequest/x1: http://www.nlm.nih.gov/research/umls/rxnorm|99999999"
    ]


def test_an_unknown_order_gets_no_card_when_no_rule_bars_any_drug_for_the_patient(cds: FlaskClient, ehr: Ehr) -> None:
    healthy = {"patient": patient(birth="1980-01-01", gender="male")}
    document = order_sign(cds, ehr, healthy, order("x1", text="Amoxicillin 500 mg capsules"))
    assert document["cards"] == [] and document["extension"]["unmapped_orders"]


@pytest.mark.parametrize(
    ("text", "medication"),
    [
        ("Advil 200 MG Oral Tablet", "ibuprofen"),
        ("Nurofen Express 400mg", "ibuprofen"),
        ("Aleve 220 mg", "naproxen"),
        ("Ketoprofen 100 mg", "ketoprofen"),
        ("Dexketoprofen 25 mg", "dexketoprofen"),
        ("Mefenamic acid 500 mg", "mefenamic_acid"),
        ("Voltarol Emulgel 1%", "topical_diclofenac"),
        ("Voltaren 50 mg tablets", "diclofenac"),
        ("Celebrex 200 mg", "celecoxib"),
    ],
)
def test_nsaids_by_brand_and_by_name_are_checked(cds: FlaskClient, ehr: Ehr, text: str, medication: str) -> None:
    (card,) = order_sign(cds, ehr, pregnant_at(30), order("n", text=text))["cards"]
    assert card["indicator"] == "critical" and card["extension"]["medication"] == medication


def test_a_medication_reference_is_read_by_its_display(cds: FlaskClient, ehr: Ehr) -> None:
    draft = order("r", medicationReference={"reference": "Medication/123", "display": "Ibuprofen 400mg"})
    (card,) = order_sign(cds, ehr, pregnant_at(30), draft)["cards"]
    assert card["indicator"] == "critical" and card["extension"]["medication"] == "ibuprofen"


def test_aspirin_is_not_checked_rather_than_called_contraindicated(cds: FlaskClient, ehr: Ehr) -> None:
    """Low-dose aspirin is prescribed in pregnancy (pre-eclampsia); the name cannot tell the dose."""
    (card,) = order_sign(cds, ehr, pregnant_at(30), order("a", text="Aspirin 75 mg dispersible"))["cards"]
    assert card["indicator"] == "warning" and card["summary"].startswith("Not checked: Aspirin 75 mg")


def codings(*codes: tuple[str, str]) -> dict[str, Any]:
    return {"medicationCodeableConcept": {"coding": [{"system": system, "code": code} for system, code in codes]}}


@pytest.mark.parametrize(
    "medication",
    [
        {"medicationCodeableConcept": {"text": "Ibuprofen 200 mg / Acetaminophen 500 mg Oral Tablet"}},
        {"medicationCodeableConcept": {"text": "Paracetamol 500 mg and ibuprofen 150 mg tablets"}},
        codings(PARACETAMOL, IBUPROFEN),  # paracetamol's coding first
        {"medicationReference": {"reference": "Medication/7", "display": "Ibuprofen and paracetamol"}},
    ],
)
def test_a_paracetamol_and_nsaid_combination_is_carded_for_the_nsaid(
    cds: FlaskClient, ehr: Ehr, medication: dict[str, Any]
) -> None:
    """Mapped to paracetamol alone (the first coding, or the longest name), it got no card at 30 weeks."""
    (card,) = order_sign(cds, ehr, pregnant_at(30), order("combo", **medication))["cards"]
    assert card["indicator"] == "critical" and card["summary"].startswith("Contraindicated: Ibuprofen")
    extension = card["extension"]
    assert extension["order"] == "MedicationRequest/combo" and extension["rules"] == ["CI-NSAID-FROM-WEEK-20"]
    assert extension["medication"] == "ibuprofen" and extension["medications"] == ["ibuprofen"]
    deletes = [a for s in card["suggestions"] for a in s["actions"] if a["type"] == "delete"]
    assert deletes and all(a["resourceId"] == ["MedicationRequest/combo"] for a in deletes)
    assert "also holds Paracetamol (acetaminophen)" in card["detail"]


@pytest.mark.parametrize(
    "draft",
    [
        order("combo", text="Nuromol 200 mg/500 mg tablets"),
        order("combo", text="Combogesic 325 mg/97.5 mg tablets"),
        order("combo", PARACETAMOL, text="Maxigesic tablets"),  # coded by its paracetamol only
    ],
)
def test_a_paracetamol_and_ibuprofen_brand_is_carded_for_the_ibuprofen(
    cds: FlaskClient, ehr: Ehr, draft: dict[str, Any]
) -> None:
    """Unknown by name, the brand was "not checked" at best, and passed as paracetamol when coded so."""
    (card,) = order_sign(cds, ehr, pregnant_at(30), draft)["cards"]
    assert card["indicator"] == "critical" and card["extension"]["medications"] == ["ibuprofen"]


def test_a_combination_with_the_week_not_recorded_asks_for_it(cds: FlaskClient, ehr: Ehr) -> None:
    prefetch = {"patient": patient(birth="1994-03-01"), "conditions": bundle(condition("77386006", "preg"))}
    (card,) = order_sign(cds, ehr, prefetch, order("combo", **codings(PARACETAMOL, IBUPROFEN)))["cards"]
    assert card["indicator"] == "warning" and card["summary"].startswith("Record the patient's gestational week")
    assert card["extension"]["rules_for_some_values"] == ["CI-NSAID-FROM-WEEK-20", "CI-NSAID-BEFORE-WEEK-20-CAUTION"]


def test_an_ingredient_not_recognised_beside_paracetamol_is_not_checked(cds: FlaskClient, ehr: Ehr) -> None:
    """Aspirin (not checked on purpose) beside paracetamol passed as paracetamol: no card."""
    text = "Aspirin 250 mg / Acetaminophen 250 mg / Caffeine 65 mg Oral Tablet"
    document = order_sign(cds, ehr, pregnant_at(30), order("exc", text=text))
    (card,) = document["cards"]
    assert card["indicator"] == "warning" and card["summary"].startswith("Not checked:")
    assert "Aspirin" in card["summary"] and "contraindicated" not in card["summary"].lower()
    extension = card["extension"]
    assert extension["not_checked"] is True and "nsaid" in extension["drug_classes"]
    assert extension["medications"] == ["paracetamol"]
    assert extension["unchecked"] == ["Aspirin", "Caffeine 65 mg Oral Tablet"]
    assert document["extension"]["unmapped_orders"] == [f"MedicationRequest/exc: '{text}'"]


def test_aspirin_coded_beside_paracetamol_is_not_checked(cds: FlaskClient, ehr: Ehr) -> None:
    """An unknown coding beside a known one is read as another name for it; aspirin is known to be unchecked."""
    draft = order("asp", **codings(PARACETAMOL, (RXNORM, "1191")))
    (card,) = order_sign(cds, ehr, pregnant_at(30), draft)["cards"]
    assert card["indicator"] == "warning" and card["summary"] == "Not checked: this service does not check Aspirin"
    assert card["extension"]["medications"] == ["paracetamol"] and card["extension"]["unchecked"] == ["Aspirin"]


def test_an_ingredient_not_recognised_is_named_on_the_card_of_a_contraindicated_one(cds: FlaskClient, ehr: Ehr) -> None:
    draft = order("art", text="Diclofenac sodium 50 mg / misoprostol 200 mcg (Arthrotec)")
    (card,) = order_sign(cds, ehr, pregnant_at(30), draft)["cards"]
    assert card["indicator"] == "critical" and card["extension"]["medication"] == "diclofenac"
    assert card["extension"]["unchecked"] == ["misoprostol 200 mcg Arthrotec"]
    assert "Not checked: `misoprostol 200 mcg Arthrotec`" in card["detail"]


def test_the_unchecked_ingredients_a_card_lists_are_bounded(cds: FlaskClient, ehr: Ehr) -> None:
    """The EHR's text can be of any length: the card names the first ingredients, each cut short."""
    text = " / ".join(["Paracetamol 500 mg", *(f"Ingredient{'x' * 200}{i}" for i in range(30))])
    (card,) = order_sign(cds, ehr, pregnant_at(30), order("long", text=text))["cards"]
    unchecked = card["extension"]["unchecked"]
    assert card["summary"].startswith("Not checked:") and len(card["summary"]) <= 140
    assert len(unchecked) == 10 and all(len(part) <= 100 for part in unchecked)


def test_single_medicines_are_checked_as_before(cds: FlaskClient, ehr: Ehr) -> None:
    """Controls: one medicine, by code and by a name with a dose cut by a slash, gets what it got."""
    orders = (
        order("ibu", IBUPROFEN),
        order("sus", text="Ibuprofen 100 mg/5 ml oral suspension"),
        order("pcm", PARACETAMOL),
        order("liq", text="Paracetamol 120 mg/5 ml oral suspension"),
    )
    document = order_sign(cds, ehr, pregnant_at(30), *orders)
    assert [c["extension"]["order"] for c in document["cards"]] == ["MedicationRequest/ibu", "MedicationRequest/sus"]
    for card in document["cards"]:
        assert card["summary"].startswith("Contraindicated: Ibuprofen") and "unchecked" not in card["extension"]
        assert "also holds" not in card["detail"]
        assert [s["label"] for s in card["suggestions"]] == [
            "Replace Ibuprofen with Paracetamol (acetaminophen)",
            "Remove the Ibuprofen order",
        ]
    assert "extension" not in document  # no order left unmapped


def test_topical_diclofenac_named_by_its_ingredient_keeps_its_code(cds: FlaskClient, ehr: Ehr) -> None:
    """The cardiovascular rule removes systemic diclofenac only: the gel's text must not add it."""
    draft = order("gel", (ATC, "M02AA15"), text="Diclofenac 1% gel")
    assert order_sign(cds, ehr, adult(CARDIOVASCULAR), draft)["cards"] == []


# --- the route an order's text gives: diclofenac on the skin is no systemic diclofenac -------

NOT_LISTED = (RXNORM, "99999001")  # a product code the table does not list: the order is read by its display


def displayed(coding: tuple[str, str], display: str, text: str | None = None) -> dict[str, Any]:
    """A ``medicationCodeableConcept`` whose coding carries a display (an RxNorm clinical drug's name)."""
    concept: dict[str, Any] = {"coding": [{"system": coding[0], "code": coding[1], "display": display}]}
    return {"medicationCodeableConcept": concept | ({"text": text} if text else {})}


@pytest.mark.parametrize("coding", [NOT_LISTED, (RXNORM, "3355")], ids=["product-code", "ingredient-code"])
@pytest.mark.parametrize(
    "display",
    [
        "diclofenac sodium 10 MG/ML Topical Gel",
        "diclofenac epolamine 0.013 MG/MG Transdermal System",
        "diclofenac sodium 16 MG/ML Topical Solution",
        "Diclofenac 140mg medicated plasters",
        "Voltaren 1 % Gel",
        "Voltarol 12 Hour Emulgel P 2.32% gel",
    ],
)
def test_diclofenac_on_the_skin_is_not_read_as_systemic_diclofenac(
    cds: FlaskClient, ehr: Ehr, coding: tuple[str, str], display: str
) -> None:
    """Matched by its ingredient's name, a diclofenac gel or patch was systemic diclofenac: a false
    critical card (the cardiovascular rule, which removes systemic diclofenac only)."""
    assert order_sign(cds, ehr, adult(CARDIOVASCULAR), order("gel", **displayed(coding, display)))["cards"] == []


@pytest.mark.parametrize(
    "medication",
    [
        displayed(NOT_LISTED, "diclofenac sodium 75 MG Delayed Release Oral Tablet"),
        displayed(NOT_LISTED, "diclofenac sodium 25 MG/ML Injectable Solution"),
        displayed(NOT_LISTED, "Diclofenac 50 mg"),  # says nothing of its route: systemic, the safe side
        displayed((RXNORM, "3355"), "Diclofenac"),
        displayed(NOT_LISTED, "diclofenac potassium 50 MG Oral Tablet", text="Diclofenac 1% gel"),  # says both
        displayed(NOT_LISTED, "diclofenac potassium 50 MG Oral Tablet", text="Voltaren Gel"),  # and names both
        displayed((ATC, "M02AA15"), "Diclofenac 50 mg oral tablets"),  # coded topical, said to be tablets
    ],
)
def test_diclofenac_not_said_to_go_on_the_skin_stays_systemic(
    cds: FlaskClient, ehr: Ehr, medication: dict[str, Any]
) -> None:
    (card,) = order_sign(cds, ehr, adult(CARDIOVASCULAR), order("d", **medication))["cards"]
    assert card["indicator"] == "critical" and card["extension"]["medications"] == ["diclofenac"]
    assert card["extension"]["rules"] == ["CI-COX2-DICLOFENAC-CARDIOVASCULAR"]


@pytest.mark.parametrize(
    ("extra", "critical"),
    [
        (
            {
                "dosageInstruction": [
                    {"route": {"coding": [{"system": SNOMED, "code": "6064005", "display": "Topical"}]}}
                ]
            },
            False,
        ),
        ({"dosageInstruction": [{"text": "apply thinly", "route": {"text": "Transdermal"}}]}, False),
        ({"dosageInstruction": [{"route": {"text": "Oral"}}]}, True),
        ({"dosageInstruction": [{"route": {"coding": [{"system": SNOMED, "code": "6064005"}]}}]}, True),  # no words
    ],
)
def test_the_route_of_an_order_for_diclofenac_says_whether_it_goes_on_the_skin(
    cds: FlaskClient, ehr: Ehr, extra: dict[str, Any], critical: bool
) -> None:
    cards = order_sign(cds, ehr, adult(CARDIOVASCULAR), order("d", **displayed(NOT_LISTED, "Diclofenac 1%"), **extra))
    assert [c["indicator"] for c in cards["cards"]] == (["critical"] if critical else [])


def test_the_form_of_a_contained_medication_says_whether_it_goes_on_the_skin(cds: FlaskClient, ehr: Ehr) -> None:
    contained = {
        "resourceType": "Medication",
        "id": "m",
        "code": {"coding": [{"system": RXNORM, "code": "3355"}]},
        "form": {"text": "Medicated plaster"},
    }
    draft = order("p", contained=[contained], medicationReference={"reference": "#m"})
    assert order_sign(cds, ehr, adult(CARDIOVASCULAR), draft)["cards"] == []


def test_diclofenac_on_the_skin_is_still_an_nsaid_in_pregnancy(cds: FlaskClient, ehr: Ehr) -> None:
    draft = order("gel", **displayed(NOT_LISTED, "diclofenac sodium 10 MG/ML Topical Gel"))
    (card,) = order_sign(cds, ehr, pregnant_at(30), draft)["cards"]
    assert card["indicator"] == "critical" and card["extension"]["medications"] == ["topical_diclofenac"]
    assert card["extension"]["rules"] == ["CI-NSAID-FROM-WEEK-20"]


# --- brand names -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "draft",
    [
        order("p", text="Tylenol 500 mg caplets"),
        order("p", text="Panadol 500mg tablets"),
        order("p", text="Calpol Infant 120mg/5ml oral suspension"),
        order("p", **displayed(NOT_LISTED, "Tylenol 325 MG Oral Tablet")),
    ],
)
def test_paracetamol_by_brand_is_checked(cds: FlaskClient, ehr: Ehr, draft: dict[str, Any]) -> None:
    """Unknown to the table, Tylenol, Panadol and Calpol were each a "Not checked" warning at 30 weeks."""
    assert order_sign(cds, ehr, pregnant_at(30), draft) == {"cards": []}  # and no order left unmapped


def test_an_order_named_only_by_a_brand_the_table_lacks_is_not_checked(cds: FlaskClient, ehr: Ehr) -> None:
    """A brand the table does not know (this one is made up) could be an NSAID: never a silent pass."""
    document = order_sign(cds, ehr, pregnant_at(30), order("b", text="Zolfadol 500 mg tablets"))
    (card,) = document["cards"]
    assert card["indicator"] == "warning"
    assert card["summary"] == "Not checked: Zolfadol 500 mg tablets is not a medicine this service checks"
    assert card["extension"]["not_checked"] is True and "nsaid" in card["extension"]["drug_classes"]
    assert "medications" not in card["extension"]  # nothing in it was checked
    assert document["extension"]["unmapped_orders"] == ["MedicationRequest/b: 'Zolfadol 500 mg tablets'"]


# --- words beside a known code that the table does not account for ---------------------------


@pytest.mark.parametrize(
    "draft",
    [
        order("combo", PARACETAMOL, text="Dualfen 500 mg/150 mg tablets"),
        order("combo", **displayed(PARACETAMOL, "Dualfen 500 mg/150 mg tablets")),
        order("combo", **displayed(NOT_LISTED, "Dualfen 500 mg/150 mg tablets", text="Paracetamol 500 mg")),
    ],
    ids=["text", "display", "beside-a-name"],
)
def test_an_unlisted_brand_beside_a_known_code_is_not_checked(
    cds: FlaskClient, ehr: Ehr, draft: dict[str, Any]
) -> None:
    """A paracetamol and ibuprofen brand the table lacks (made up here), coded or named by its
    paracetamol only, was read as another name for paracetamol: no card at 30 weeks."""
    document = order_sign(cds, ehr, pregnant_at(30), draft)
    (card,) = document["cards"]
    assert (
        card["indicator"] == "warning" and card["summary"] == "Not checked: this service does not check Dualfen 500 mg"
    )
    extension = card["extension"]
    assert extension["not_checked"] is True and "nsaid" in extension["drug_classes"]
    assert extension["medications"] == ["paracetamol"] and extension["unchecked"] == ["Dualfen 500 mg"]
    assert "Dualfen" in document["extension"]["unmapped_orders"][0]


@pytest.mark.parametrize(
    "draft",
    [
        order("p", **displayed(PARACETAMOL, "acetaminophen 500 MG Oral Tablet")),
        order("p", PARACETAMOL, text="500 mg film-coated tablets"),
        order("p", PARACETAMOL, text="Oral Suspension, 160 MG per 5 ML, sugar free"),
        order("p", **displayed(PARACETAMOL, "Acetaminophen", text="Tylenol Oral Tablet")),
        order("p", **codings(PARACETAMOL, NOT_LISTED)),  # a product code beside it: codes have no words
        order("p", **displayed(NOT_LISTED, "acetaminophen 650 MG Extended Release Oral Tablet")),
    ],
)
def test_dose_and_form_words_beside_a_known_code_are_no_unknown_medicine(
    cds: FlaskClient, ehr: Ehr, draft: dict[str, Any]
) -> None:
    assert order_sign(cds, ehr, pregnant_at(30), draft) == {"cards": []}


def test_an_nsaid_coded_and_described_by_its_form_is_carded_without_unchecked_parts(cds: FlaskClient, ehr: Ehr) -> None:
    draft = order("i", **displayed(IBUPROFEN, "Ibuprofen 200 MG Oral Tablet", text="200 mg oral tablets"))
    (card,) = order_sign(cds, ehr, pregnant_at(30), draft)["cards"]
    assert card["indicator"] == "critical" and "unchecked" not in card["extension"]


def test_a_bundle_of_several_orders_gets_one_card_per_contraindicated_order(cds: FlaskClient, ehr: Ehr) -> None:
    orders = (
        order("a", IBUPROFEN),
        order("b", PARACETAMOL),
        order("c", (ATC, "M01AH05")),  # etoricoxib
        order("d", text="Naproxen 250 mg tablets"),  # by name only
        order("e", (SNOMED, "1234567")),
        {"resourceType": "ServiceRequest", "id": "s1", "status": "draft", "intent": "order"},
    )
    document = order_sign(cds, ehr, pregnant_at(30), *orders)
    flagged = [c["extension"]["order"] for c in document["cards"]]
    assert flagged == ["MedicationRequest/a", "MedicationRequest/c", "MedicationRequest/d", "MedicationRequest/e"]
    medications = [c["extension"].get("medication") for c in document["cards"]]
    assert medications == ["ibuprofen", "etoricoxib", "naproxen", None]  # e: not checked
    assert document["extension"]["unmapped_orders"] == ["MedicationRequest/e: http://snomed.info/sct|1234567"]


def test_a_contained_medication_is_read(cds: FlaskClient, ehr: Ehr) -> None:
    contained = {"resourceType": "Medication", "id": "m", "code": {"coding": [{"system": ATC, "code": "M01AH01"}]}}
    draft = order("r", contained=[contained], medicationReference={"reference": "#m"})
    (card,) = order_sign(cds, ehr, pregnant_at(8), draft)["cards"]
    assert card["extension"]["medication"] == "celecoxib"


def test_an_nsaid_with_the_gestational_week_not_recorded_is_a_warning_naming_both_stretches(
    cds: FlaskClient, ehr: Ehr
) -> None:
    prefetch = {"patient": patient(birth="1994-03-01"), "conditions": bundle(condition("77386006", "preg"))}
    (card,) = order_sign(cds, ehr, prefetch, order("ibu", IBUPROFEN))["cards"]
    assert card["indicator"] == "warning" and card["summary"].startswith("Record the patient's gestational week")
    extension = card["extension"]
    assert "rules" not in extension and extension["unrecorded"] == ["gestational week"]
    assert extension["rules_for_some_values"] == ["CI-NSAID-FROM-WEEK-20", "CI-NSAID-BEFORE-WEEK-20-CAUTION"]
    (replace,) = [s for s in card["suggestions"] if s["label"].startswith("Replace")]
    assert replace["label"].startswith("Replace Ibuprofen with Paracetamol") and not replace.get("isRecommended")


def test_what_holds_in_every_week_stays_critical_when_the_week_is_not_recorded(cds: FlaskClient, ehr: Ehr) -> None:
    prefetch = {"patient": patient(birth="1994-03-01"), "conditions": bundle(condition("77386006", "preg"))}
    (card,) = order_sign(cds, ehr, prefetch, order("cx", CELECOXIB))["cards"]
    assert card["indicator"] == "critical" and card["summary"].startswith("Contraindicated: Celecoxib")
    assert card["extension"]["rules"] == ["CI-COX2-PREGNANCY"]
    assert card["extension"]["rules_for_some_values"] == ["CI-NSAID-FROM-WEEK-20"]
    assert "Depending on the patient's gestational week, which is not recorded" in card["detail"]


def test_no_contraindication_of_a_drug_depends_on_where_it_hurts(kb) -> None:
    """order-sign checks a record without a pain location at one location (service/web/cds_hooks.py):
    exact only while no rule on a drug class tests a location, a finding derived from one, or a
    cause (whose evidence may test one). Should one ever do so, bracket the location there too."""
    from_location: set[str] = set()
    for _ in kb.rules:  # derived from derived: enough passes to reach every chain
        from_location |= {
            r.derive for r in kb.rules.values() if r.when.locations or set(r.when.present) & from_location
        } - {None}
    for rule in kb.rules.values():
        if rule.layer is Layer.CONTRAINDICATION and (rule.drug_classes or rule.caution_drug_classes):
            assert not rule.when.causes and not set(rule.when.present) & from_location, rule.id


def test_an_order_nothing_contraindicates_for_any_week_gets_no_card(cds: FlaskClient, ehr: Ehr) -> None:
    prefetch = {"patient": patient(birth="1994-03-01"), "conditions": bundle(condition("77386006", "preg"))}
    assert order_sign(cds, ehr, prefetch, order("pcm", PARACETAMOL))["cards"] == []


def test_without_a_birth_date_an_order_barred_in_young_children_asks_for_the_age(cds: FlaskClient, ehr: Ehr) -> None:
    prefetch = {"patient": {"resourceType": "Patient", "id": "1288992", "gender": "male"}}
    (card,) = order_sign(cds, ehr, prefetch, order("cx", CELECOXIB))["cards"]
    assert card["indicator"] == "warning" and card["summary"].startswith("Record the patient's age")
    assert card["extension"]["rules_for_some_values"] == ["CI-CHILD-ADULT-MEDICINES"]
    assert order_sign(cds, ehr, prefetch, order("pcm", PARACETAMOL))["cards"] == []


def test_the_order_check_and_the_assessment_share_one_source_of_truth(cds: FlaskClient, ehr: Ehr) -> None:
    record = {
        "patient": {"age": 31, "sex": "female", "pregnancy": {"gestational_week": 30}},
        "complaint": {"locations": ["buttock"]},
        "findings": {"present": ["sharp_pain", "pain_radiates_below_knee"], "absent": []},
    }
    assessment = cds.post("/v1/assessments", json=record).get_json()
    oral_nsaids = next(s for s in assessment["suppressed_care"] if s["id"] == "oral_nsaids")
    (card,) = order_sign(cds, ehr, pregnant_at(30), order("ibu", IBUPROFEN))["cards"]
    assert card["extension"]["rules"] == oral_nsaids["rules"]


@pytest.mark.parametrize(
    ("service", "hook"), [(SERVICE, "patient-view"), ("/cds-services/buttock-pain-triage", "order-sign")]
)
def test_an_unsupported_hook_is_a_422_that_names_it(cds: FlaskClient, ehr: Ehr, service: str, hook: str) -> None:
    body = {"hook": hook, "hookInstance": "h", "context": {"userId": "u", "patientId": "p"}}
    response = cds.post(service, json=body, headers=ehr.header(audience=f"{BASE}{service}"))
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert f"not '{hook}'" in response.get_json()["detail"]
    assert "$.hook" in response.get_json()["errors"]


@pytest.mark.parametrize(
    "draft_orders",
    [
        {"resourceType": "List", "entry": [{"resource": {"resourceType": "MedicationRequest"}}]},
        {"resourceType": "Bundle", "entry": {"resource": {"resourceType": "MedicationRequest"}}},
    ],
    ids=["not-a-bundle", "entry-not-a-list"],
)
def test_draft_orders_that_are_no_bundle_are_a_400(cds: FlaskClient, ehr: Ehr, draft_orders: dict[str, Any]) -> None:
    """No CDS Hooks order-sign call at all: nothing in it can be told to be an order."""
    body = {
        "hook": "order-sign",
        "hookInstance": "h",
        "context": {"userId": "u", "patientId": "1288992", "draftOrders": draft_orders},
        "prefetch": pregnant_at(30),
    }
    response = cds.post(SERVICE, json=body, headers=ehr.header(audience=f"{BASE}{SERVICE}"))
    assert response.status_code == 400 and response.mimetype == "application/problem+json"
    assert "context.draftOrders" in response.get_json()["detail"]


def refused(change: str) -> dict[str, Any]:
    """A paracetamol order the FHIR library, or this service, refuses; its note holds a name
    that must never be echoed."""
    draft = order("o2", PARACETAMOL, note=[{"text": "Jane Roe asked for it"}])
    if change == "status":
        draft["status"] = "Draft"
    elif change == "contained":
        draft["contained"] = [{"resourceType": "Medicine", "id": "m"}]
    else:
        del draft[change]
    return draft


@pytest.mark.parametrize(
    ("draft", "named_as"),
    [
        (refused("status"), "entry[1] (MedicationRequest/o2)"),
        (refused("subject"), "entry[1] (MedicationRequest/o2)"),
        (refused("contained"), "entry[1] (MedicationRequest/o2)"),
        (refused("id"), "entry[1]"),
        ("no resource", "entry[1]"),
        (bundle(order("o3", IBUPROFEN)), "entry[1]"),
        (
            {
                "resourceType": "ServiceRequest",
                "id": "s1",
                "status": "draft",
                "intent": "order",
                "subject": {"reference": "Patient/1288992"},
                "contained": [order("o4", IBUPROFEN)],
            },
            "entry[1]",
        ),
    ],
    ids=[
        "status-Draft",
        "no-subject",
        "contained-not-r4",
        "no-id",
        "entry-without-resource",
        "nested-bundle",
        "order-contained-in-another-resource",
    ],
)
def test_an_order_that_cannot_be_read_is_not_checked_and_the_others_are(
    cds: FlaskClient, ehr: Ehr, draft: Any, named_as: str
) -> None:
    """One refused draft order made the whole call a 400, and the ibuprofen order signed beside
    it at 30 weeks got no card (attack round 7, finding 8). Now each order that can be read is
    checked, and each one that cannot gets a "not checked" warning naming it, never its data."""
    orders = bundle(order("o1", IBUPROFEN))
    orders["entry"].append({"resource": draft} if isinstance(draft, dict) else {"fullUrl": "urn:uuid:x"})
    body = {
        "hook": "order-sign",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/example", "patientId": "1288992", "draftOrders": orders},
        "prefetch": pregnant_at(30),
    }
    response = cds.post(SERVICE, json=body, headers=ehr.header(audience=f"{BASE}{SERVICE}"))
    assert response.status_code == 200
    document = response.get_json()
    assert conformance_problems(document) == []
    contraindicated, not_read = document["cards"]
    assert (
        contraindicated["indicator"] == "critical" and contraindicated["extension"]["order"] == "MedicationRequest/o1"
    )
    assert not_read["indicator"] == "warning"
    assert not_read["summary"] == f"Not checked: draft order {named_as} could not be read"
    assert not_read["extension"]["entry"] == 1 and not_read["extension"]["not_checked"] is True
    assert "nsaid" in not_read["extension"]["drug_classes"]
    (listed,) = document["extension"]["unread_orders"]
    assert listed.startswith(f"{named_as}: ")
    assert "Jane" not in response.get_data(as_text=True)


def test_an_order_that_cannot_be_read_gets_no_card_when_no_rule_bars_any_drug(cds: FlaskClient, ehr: Ehr) -> None:
    """As for an order the table cannot map: no rule here could speak about it, whatever it is."""
    document = order_sign(cds, ehr, {"patient": patient(birth="1980-01-01")}, refused("status"))
    assert document["cards"] == []
    assert document["extension"]["unread_orders"] == [
        "entry[0] (MedicationRequest/o2): a draft MedicationRequest is not valid R4: "
        "MedicationRequest.status is not a code of its required value set"
    ]


def test_silent_rollout_counts_the_cards_but_shows_none(ehr: Ehr, tmp_path) -> None:
    clients = ehr.write_clients(tmp_path / "clients.json")
    app = create_app(
        {"TESTING": True, "CDS_CLIENTS": str(clients), "PUBLIC_BASE_URL": BASE, "CDS_SILENT_ROLLOUT": True}
    )
    client = app.test_client()
    metric = 'cds_hooks_cards_total{indicator="critical",service="buttock-pain-medication-safety"}'

    def counted() -> float:
        text = client.get("/metrics").get_data(as_text=True)
        return next((float(line.split()[-1]) for line in text.splitlines() if line.startswith(metric)), 0.0)

    before = counted()
    assert order_sign(client, ehr, pregnant_at(30), order("ibu", IBUPROFEN)) == {"cards": []}
    assert counted() == before + 1


def test_the_silent_rollout_setting_is_a_checked_boolean() -> None:
    assert Settings.from_env({"CDS_SILENT_ROLLOUT": "true"}).cds_silent_rollout is True
    assert Settings.from_env({}).cds_silent_rollout is False
    with pytest.raises(SettingsError, match="CDS_SILENT_ROLLOUT"):
        Settings.from_env({"CDS_SILENT_ROLLOUT": "yes please"})


# --- Medication.ingredient (a compounded or combination product) -------------------------------


def ingredient(coding: tuple[str, str], text: str) -> dict[str, Any]:
    return {
        "itemCodeableConcept": {"coding": [{"system": coding[0], "code": coding[1], "display": text}], "text": text}
    }


def with_medication(ident: str, **medication: Any) -> dict[str, Any]:
    contained = {"resourceType": "Medication", "id": "m", **medication}
    return order(ident, contained=[contained], medicationReference={"reference": "#m"})


@pytest.mark.parametrize(
    ("draft", "medications"),
    [
        (with_medication("o1", code={"coding": [{"system": RXNORM, "code": "5640"}]}), ["ibuprofen"]),
        (with_medication("o2", ingredient=[ingredient(IBUPROFEN, "Ibuprofen")]), ["ibuprofen"]),
        (
            with_medication(
                "o3", ingredient=[ingredient(PARACETAMOL, "Acetaminophen"), ingredient(IBUPROFEN, "Ibuprofen")]
            ),
            ["ibuprofen"],
        ),
        (
            with_medication(
                "o4",
                code={"text": "Acetaminophen"},
                ingredient=[ingredient(PARACETAMOL, "Acetaminophen"), ingredient(IBUPROFEN, "Ibuprofen")],
            ),
            ["ibuprofen"],
        ),
        (with_medication("o5", ingredient=[{"itemReference": {"display": "Naproxen 250 mg"}}]), ["naproxen"]),
        (with_medication("o6", ingredient=[{"itemCodeableConcept": {"text": "ibuprofen 200 mg"}}]), ["ibuprofen"]),
    ],
    ids=["code", "ingredient", "two-ingredients", "paracetamol-named-with-ibuprofen-ingredient", "reference", "text"],
)
def test_the_ingredients_of_a_contained_medication_are_checked(
    cds: FlaskClient, ehr: Ehr, draft: dict[str, Any], medications: list[str]
) -> None:
    """FHIR R4 lists a compounded or combination product's parts in ``Medication.ingredient``:
    read only by its ``code``, ibuprofen as an ingredient was "not checked" at 30 weeks, and a
    product named paracetamol with an ibuprofen ingredient got no card at all."""
    (card,) = order_sign(cds, ehr, pregnant_at(30), draft)["cards"]
    assert card["indicator"] == "critical" and card["extension"]["rules"] == ["CI-NSAID-FROM-WEEK-20"]
    assert card["extension"]["medications"] == medications


def test_a_paracetamol_ingredient_alone_gets_no_card(cds: FlaskClient, ehr: Ehr) -> None:
    draft = with_medication("p", ingredient=[ingredient(PARACETAMOL, "Acetaminophen")])
    assert order_sign(cds, ehr, pregnant_at(30), draft)["cards"] == []


def test_an_ingredient_coded_only_by_an_unknown_code_is_not_checked(cds: FlaskClient, ehr: Ehr) -> None:
    """An unknown code beside the product's is another name for it, but an ingredient is a part:
    paracetamol holding an ingredient coded only by a local code (ibuprofen, for all the service
    can tell) passed as checked, with no card at 30 weeks."""
    local = {"itemCodeableConcept": {"coding": [{"system": "http://example.org/local", "code": "IBU1"}]}}
    draft = with_medication("p", code={"coding": [{"system": RXNORM, "code": "161"}]}, ingredient=[local])
    (card,) = order_sign(cds, ehr, pregnant_at(30), draft)["cards"]
    assert card["indicator"] == "warning" and card["summary"].startswith("Not checked:")
    assert card["extension"]["unchecked"] == ["the ingredient coded http://example.org/local|IBU1"]
    known = {"itemCodeableConcept": {"coding": [{"system": "http://snomed.info/sct", "code": "387517004"}]}}
    draft = with_medication("p", code={"coding": [{"system": RXNORM, "code": "161"}]}, ingredient=[known])
    assert order_sign(cds, ehr, pregnant_at(30), draft)["cards"] == []  # paracetamol's own SNOMED code


def test_an_unknown_ingredient_beside_paracetamol_is_not_checked(cds: FlaskClient, ehr: Ehr) -> None:
    draft = with_medication(
        "p", ingredient=[ingredient(PARACETAMOL, "Acetaminophen"), {"itemReference": {"display": "Caffeine 65 mg"}}]
    )
    (card,) = order_sign(cds, ehr, pregnant_at(30), draft)["cards"]
    assert card["indicator"] == "warning" and card["extension"]["unchecked"] == ["Caffeine 65 mg"]


# --- ATC codes for combinations (level 5, "<ingredient>, combinations") ------------------------


@pytest.mark.parametrize(
    ("code", "medication"),
    [("M01AE51", "ibuprofen"), ("M01AE52", "naproxen"), ("M01AB55", "diclofenac"), ("M01AB51", "indometacin")],
)
def test_an_atc_code_for_an_nsaid_combination_is_checked_for_the_nsaid(
    cds: FlaskClient, ehr: Ehr, code: str, medication: str
) -> None:
    """ "Ibuprofen, combinations" (M01AE51), diclofenac with misoprostol (M01AB55)…: a warning
    "Not checked" at 30 weeks, where the plain ingredient's code is critical."""
    (card,) = order_sign(cds, ehr, pregnant_at(30), order("c", (ATC, code)))["cards"]
    assert card["indicator"] == "critical" and card["extension"]["medications"] == [medication]
    assert card["extension"]["unchecked"] == [f"the other ingredients of {code}"]
    assert f"the other ingredients of {code}" in card["detail"]


def test_the_rest_of_a_combination_code_is_not_checked(cds: FlaskClient, ehr: Ehr) -> None:
    """Paracetamol, combinations (N02BE51): nothing bars paracetamol, but the rest may be anything."""
    (card,) = order_sign(cds, ehr, pregnant_at(30), order("c", (ATC, "N02BE51")))["cards"]
    assert card["indicator"] == "warning" and card["summary"].startswith("Not checked:")
    assert card["extension"]["medications"] == ["paracetamol"]
    assert card["extension"]["unchecked"] == ["the other ingredients of N02BE51"]


def test_the_atc_code_m01ae09_is_flurbiprofen_not_loxoprofen(cds: FlaskClient, ehr: Ehr) -> None:
    """The table once gave flurbiprofen's ATC code to loxoprofen: the card named the wrong
    medicine (docs/terminology-review.md)."""
    (card,) = order_sign(cds, ehr, pregnant_at(30), order("f", (ATC, "M01AE09")))["cards"]
    assert card["indicator"] == "critical" and card["extension"]["medications"] == ["flurbiprofen"]


# --- ingredients given by reference to another contained resource ------------------------------


def referring_to(ident: str, *others: dict[str, Any], **medication: Any) -> dict[str, Any]:
    """An order for a contained Medication coded as paracetamol, beside ``others`` (contained)."""
    paracetamol = {"coding": [{"system": RXNORM, "code": "161", "display": "Acetaminophen"}]}
    contained = [{"resourceType": "Medication", "id": "m", "code": paracetamol, **medication}, *others]
    return order(ident, contained=contained, medicationReference={"reference": "#m"})


def by_reference(*targets: str) -> list[dict[str, Any]]:
    return [{"itemReference": {"reference": target}} for target in targets]


IBUPROFEN_CODE = {"coding": [{"system": RXNORM, "code": "5640"}]}


@pytest.mark.parametrize(
    "draft",
    [
        referring_to(
            "med", {"resourceType": "Medication", "id": "i", "code": IBUPROFEN_CODE}, ingredient=by_reference("#i")
        ),
        referring_to(
            "sub", {"resourceType": "Substance", "id": "i", "code": IBUPROFEN_CODE}, ingredient=by_reference("#i")
        ),
        referring_to(
            "nested",
            {
                "resourceType": "Substance",
                "id": "s",
                "code": {"text": "Acetaminophen"},
                "ingredient": [{"substanceReference": {"reference": "#i"}}],
            },
            {"resourceType": "Medication", "id": "i", "ingredient": [{"itemCodeableConcept": IBUPROFEN_CODE}]},
            ingredient=by_reference("#s"),
        ),
        referring_to(
            "cycle",
            {"resourceType": "Medication", "id": "i", "code": IBUPROFEN_CODE, "ingredient": by_reference("#m", "#i")},
            ingredient=by_reference("#i", "#i"),
        ),
    ],
    ids=["medication", "substance", "ingredient-of-an-ingredient", "cycle"],
)
def test_an_ingredient_given_by_reference_to_a_contained_resource_is_read(
    cds: FlaskClient, ehr: Ehr, draft: dict[str, Any]
) -> None:
    """A Medication coded as paracetamol whose ingredient references a contained Medication or
    Substance coded as ibuprofen got no card at all at 30 weeks: only the reference's display was
    read (attack round 7, finding 6). A reference cycle is read once and ends."""
    document = order_sign(cds, ehr, pregnant_at(30), draft)
    (card,) = document["cards"]
    assert card["indicator"] == "critical" and card["extension"]["rules"] == ["CI-NSAID-FROM-WEEK-20"]
    assert card["extension"]["medications"] == ["ibuprofen"] and "unchecked" not in card["extension"]


def chain(length: int) -> list[dict[str, Any]]:
    """Medications c0 → c1 → … each the ingredient of the one before, the last coded as paracetamol."""
    links = [
        {"resourceType": "Medication", "id": f"c{i}", "ingredient": by_reference(f"#c{i + 1}")} for i in range(length)
    ]
    return [
        *links,
        {"resourceType": "Medication", "id": f"c{length}", "code": {"coding": [{"system": RXNORM, "code": "161"}]}},
    ]


@pytest.mark.parametrize(
    ("draft", "unread"),
    [
        (referring_to("gone", ingredient=by_reference("#x")), "the ingredient #x (not in the order)"),
        (
            referring_to("server", ingredient=by_reference("Medication/9")),
            "the ingredient Medication/9 (not sent with the order)",
        ),
        (
            referring_to(
                "other", {"resourceType": "Basic", "id": "b", "code": IBUPROFEN_CODE}, ingredient=by_reference("#b")
            ),
            "the ingredient #b (a Basic, not a Medication or Substance)",
        ),
        (
            referring_to("empty", {"resourceType": "Medication", "id": "e"}, ingredient=by_reference("#e")),
            "the ingredient #e (no code, text or ingredient)",
        ),
        (
            referring_to("deep", *chain(12), ingredient=by_reference("#c0")),
            "the ingredient #c8 (nested more than 8 ingredients deep)",
        ),
        (
            order("top", medicationReference={"reference": "#m", "display": "Paracetamol"}),
            "the medication #m (not in the order)",
        ),
    ],
    ids=["dangling", "on-the-server", "not-a-medication", "nothing-readable", "too-deep", "medication-dangling"],
)
def test_an_ingredient_that_cannot_be_read_makes_the_order_not_checked(
    cds: FlaskClient, ehr: Ehr, draft: dict[str, Any], unread: str
) -> None:
    """Whatever an unread ingredient is, the order beside it is never "checked in full": at 30
    weeks it gets the "Not checked" warning naming that ingredient, not silence."""
    document = order_sign(cds, ehr, pregnant_at(30), draft)
    (card,) = document["cards"]
    assert card["indicator"] == "warning" and card["summary"].startswith("Not checked:")
    assert card["extension"]["unchecked"] == [unread] and card["extension"]["not_checked"] is True
    assert document["extension"]["unmapped_orders"][0].startswith(f"MedicationRequest/{draft['id']}: ")


@pytest.mark.parametrize("ibuprofen_first", [False, True], ids=["paracetamol-first", "ibuprofen-first"])
def test_every_contained_resource_sharing_the_id_referenced_is_read(
    cds: FlaskClient, ehr: Ehr, ibuprofen_first: bool
) -> None:
    """Two contained resources with one id (invalid FHIR the library accepts): only the first was
    read, so paracetamol ``#m`` followed by ibuprofen ``#m`` got no card at all at 30 weeks
    (attack round 8, finding 4). Each is read: the order is carded for the ibuprofen either way."""
    paracetamol = {"resourceType": "Medication", "id": "m", "code": {"coding": [{"system": RXNORM, "code": "161"}]}}
    ibuprofen = {"resourceType": "Medication", "id": "m", "code": IBUPROFEN_CODE}
    contained = [ibuprofen, paracetamol] if ibuprofen_first else [paracetamol, ibuprofen]
    draft = order("dup", contained=contained, medicationReference={"reference": "#m"})
    (card,) = order_sign(cds, ehr, pregnant_at(30), draft)["cards"]
    assert card["indicator"] == "critical" and card["extension"]["rules"] == ["CI-NSAID-FROM-WEEK-20"]
    assert card["extension"]["medications"] == ["ibuprofen"]


def test_an_ingredient_that_cannot_be_read_beside_ibuprofen_is_named_on_its_critical_card(
    cds: FlaskClient, ehr: Ehr
) -> None:
    draft = referring_to(
        "both", {"resourceType": "Substance", "id": "i", "code": IBUPROFEN_CODE}, ingredient=by_reference("#i", "#x")
    )
    (card,) = order_sign(cds, ehr, pregnant_at(30), draft)["cards"]
    assert card["indicator"] == "critical" and card["extension"]["medications"] == ["ibuprofen"]
    assert card["extension"]["unchecked"] == ["the ingredient #x (not in the order)"]
