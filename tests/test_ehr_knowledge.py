"""The EHR's knowledge files: clinician wording and the medication table, checked at load."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from service.interop.fhir.terminology import load_terminology
from service.knowledge.clinician import load_clinician_texts
from service.knowledge.loader import load_knowledge_base
from service.knowledge.medications import MedicationTable, load_medications
from service.knowledge.model import KnowledgeBase, KnowledgeBaseError, Layer
from tests.conftest import edit
from tests.test_knowledge_loader import RULES

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ATC = "http://www.whocc.no/atc"


def test_every_urgency_level_escalation_rule_and_specialty_has_clinician_wording(kb: KnowledgeBase) -> None:
    texts = load_clinician_texts(RULES, kb)
    assert set(texts.levels) == set(kb.levels)
    assert set(texts.reasons) == {r.id for r in kb.rules_in(Layer.ESCALATION)}
    assert all(texts.reasons.values()) and all(texts.levels.values())
    referred = {s for r in kb.rules.values() for s in r.refer} | {s for c in kb.causes.values() for s in c.specialties}
    assert set(texts.specialties) == referred
    assert all(c["system"] and c["code"] and c["display"] for c in texts.override_reasons)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["reasons"].pop("ESC-CES-SADDLE"), r"reasons\.ESC-CES-SADDLE: no clinician wording"),
        (lambda d: d["levels"].pop("urgent"), r"levels\.urgent: no clinician wording"),
        (lambda d: d["reasons"].update({"ESC-TYPO": "x"}), r"reasons\.ESC-TYPO: not a known escalation rule"),
        (lambda d: d["specialties"].pop("neurology"), r"specialties\.neurology: no clinician wording"),
    ],
)
def test_clinician_wording_must_cover_exactly_the_knowledge_base(
    rules_copy: Path,
    change: Callable[[dict[str, Any]], None],
    message: str,
) -> None:
    edit(rules_copy, "clinician.yaml", change)
    kb = load_knowledge_base(rules_copy)
    with pytest.raises(KnowledgeBaseError, match=r"rules/clinician\.yaml: " + message):
        load_clinician_texts(rules_copy, kb)


def test_medications_map_by_code_then_by_name(kb: KnowledgeBase) -> None:
    table = load_medications(RULES, kb)
    assert table.by_code(RXNORM, "5640").id == "ibuprofen"
    assert table.by_code(ATC, "M01AH01").drug_classes == ("cox2_inhibitor",)
    assert table.by_code(ATC, "M05BA08").drug_classes == ("bisphosphonate",)
    assert table.by_code(RXNORM, "999999") is None
    assert named(table, "Ibuprofen 400 MG Oral Tablet") == (["ibuprofen"], [])
    assert named(table, "Zoledronic acid 5 mg/100 ml infusion") == (["zoledronic_acid"], [])
    assert named(table, "ibuprofenate") == ([], [])  # whole words only
    assert table.alternatives["CI-NSAID-FROM-WEEK-20"] == "paracetamol"


def named(
    table: MedicationTable, *texts: str, codings: tuple[tuple[str, str], ...] = ()
) -> tuple[list[str], list[str]]:
    """The ids of the checked medicines ``texts`` and ``codings`` name, and what is left unchecked."""
    identified = table.identify(codings, texts)
    return [m.id for m in identified.medications], list(identified.unchecked)


@pytest.mark.parametrize(
    ("text", "medications", "unchecked"),
    [
        ("Ibuprofen 200 mg / Acetaminophen 500 mg Oral Tablet", ["ibuprofen", "paracetamol"], []),
        ("Paracetamol 500 mg and ibuprofen 150 mg tablets", ["paracetamol", "ibuprofen"], []),
        ("Paracetamol/Ibuprofen 500mg/150mg tablets", ["paracetamol", "ibuprofen"], []),
        ("Nuromol 200 mg/500 mg tablets", ["ibuprofen"], []),
        (
            "Aspirin 250 mg / Acetaminophen 250 mg / Caffeine 65 mg Oral Tablet",
            ["paracetamol"],
            ["Aspirin", "Caffeine 65 mg Oral Tablet"],
        ),
        ("Paracetamol 325 mg + Nimesulide 100 mg", ["paracetamol"], ["Nimesulide 100 mg"]),
        ("Aspirin and paracetamol tablets", ["paracetamol"], ["Aspirin"]),
        ("Paracetamol 500 mg with acetylsalicylic acid 300 mg", ["paracetamol"], ["Aspirin"]),  # not cut there
        ("Seglentis (celecoxib and tramadol) tablets", ["celecoxib"], ["tramadol tablets"]),
        (
            "Diclofenac sodium 50 mg / misoprostol 200 mcg (Arthrotec)",
            ["diclofenac"],
            ["misoprostol 200 mcg Arthrotec"],
        ),
        ("Voltarol Emulgel 1%", ["topical_diclofenac"], []),  # not systemic diclofenac besides
        ("Aspirin 75 mg / dipyridamole 200 mg", [], []),  # names nothing known: the whole order is unmapped
    ],
)
def test_a_combination_names_every_ingredient_and_what_the_table_cannot_map(
    kb: KnowledgeBase, text: str, medications: list[str], unchecked: list[str]
) -> None:
    assert named(load_medications(RULES, kb), text) == (medications, unchecked)


@pytest.mark.parametrize(
    "text",
    [
        "Ibuprofen 20 MG/ML Oral Suspension",
        "Ibuprofen 100 mg/5 ml oral suspension",
        "Ibuprofen 5% w/w gel",
        "Ibuprofen 400 mg three times/day",
        "Diclofenac Sodium 0.01 MG/MG Topical Gel",
        "Ketorolac 15.75 MG/ACTUAT Nasal Spray",
        "Paracetamol 500 mg soluble tablets",
    ],
)
def test_a_dose_is_no_second_ingredient(kb: KnowledgeBase, text: str) -> None:
    """A dose cut by a slash names no ingredient: a single medicine stays checked in full."""
    assert named(load_medications(RULES, kb), text)[1] == []


def test_every_coding_and_every_name_an_order_gives_counts(kb: KnowledgeBase) -> None:
    """The first known coding or the longest name used to decide alone: paracetamol hid the NSAID."""
    table = load_medications(RULES, kb)
    assert named(table, codings=((RXNORM, "161"), (RXNORM, "5640"))) == (["paracetamol", "ibuprofen"], [])
    assert named(table, "Ibuprofen 200 mg", codings=((RXNORM, "161"),)) == (["paracetamol", "ibuprofen"], [])
    # aspirin is known so as to be left unchecked, never read as another name for what it is beside
    assert named(table, codings=((RXNORM, "161"), (RXNORM, "1191"))) == (["paracetamol"], ["Aspirin"])
    assert named(table, "Aspirin 75 mg", codings=((ATC, "B01AC06"),)) == ([], [])  # nothing checked at all
    # an unknown coding beside a known one is another name for it, and so is a text that only says how it is given
    assert named(table, "500 mg tablets", codings=((RXNORM, "161"), (RXNORM, "99999999"))) == (["paracetamol"], [])
    # a text naming nothing known with any other word is not: a brand the table lacks (made up here)
    assert named(table, "Dualfen 500 mg/150 mg", codings=((RXNORM, "161"),)) == (["paracetamol"], ["Dualfen 500 mg"])


def test_a_name_that_is_a_word_of_a_coded_medicines_name_is_that_medicine(kb: KnowledgeBase) -> None:
    """Topical diclofenac coded by ATC and named "Diclofenac 1% gel" is no systemic diclofenac too
    (which the cardiovascular rule would remove), but a systemic coding keeps its class unless
    the order says it goes on the skin."""
    table = load_medications(RULES, kb)
    assert named(table, "Diclofenac 1% gel", codings=((ATC, "M02AA15"),)) == (["topical_diclofenac"], [])
    assert named(table, "Voltaren 1% gel", codings=((ATC, "M02AA15"),)) == (["topical_diclofenac"], [])
    assert named(table, "Voltaren 50 mg", codings=((RXNORM, "3355"),))[0] == ["diclofenac"]


@pytest.mark.parametrize(
    ("texts", "forms", "medication"),
    [
        (["Diclofenac Sodium 0.01 MG/MG Topical Gel"], [], "topical_diclofenac"),
        (["Voltaren"], ["Transdermal route"], "topical_diclofenac"),  # the dosage's route says it
        (["Diclofenac 1%"], ["Gel"], "topical_diclofenac"),  # the contained Medication's form says it
        (["Diclofenac 1% gel"], ["Oral route"], "diclofenac"),  # says both: the safe side
        (["Diclofenac 25 mg"], [], "diclofenac"),  # says nothing of its route
        (["Ibuprofen 5% w/w gel"], [], "ibuprofen"),  # no topical entry: an NSAID wherever it goes
    ],
)
def test_an_order_on_the_skin_is_the_topical_entry(
    kb: KnowledgeBase, texts: list[str], forms: list[str], medication: str
) -> None:
    identified = load_medications(RULES, kb).identify((), texts, forms)
    assert [m.id for m in identified.medications] == [medication] and identified.unchecked == ()


def test_every_drug_class_a_contraindication_names_for_this_issue_is_mapped(kb: KnowledgeBase) -> None:
    table = load_medications(RULES, kb)
    mapped = {c for m in table.medications.values() for c in m.drug_classes}
    assert {"nsaid", "cox2_inhibitor", "bisphosphonate"} <= mapped


def _first(document: dict[str, Any], medication: str) -> dict[str, Any]:
    return next(m for m in document["medications"] if m["id"] == medication)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: _first(d, "ibuprofen").update(drug_classes=["nsaids"]), "drug class 'nsaids' is named by no"),
        (lambda d: _first(d, "naproxen")["codes"].update(rxnorm=["5640"]), "code 5640 is also mapped to ibuprofen"),
        (
            lambda d: _first(d, "naproxen").update(combinations={"atc": ["M01AE51"]}),
            "code M01AE51 is also mapped to ibuprofen",
        ),
        (
            lambda d: _first(d, "naproxen").update(combinations={"atc": ["M01AE02"]}),
            "code M01AE02 is also mapped to naproxen",
        ),
        (
            lambda d: d["alternatives"].append({"rule": "CI-NOPE", "medication": "paracetamol"}),
            "unknown contraindication",
        ),
        (lambda d: d["alternatives"].append({"rule": "CI-HERBAL-PREGNANCY", "medication": "x"}), "unknown medication"),
        (lambda d: d["medications"].append(_first(d, "ibuprofen")), "duplicate medication id"),
        (lambda d: _first(d, "aspirin").update(drug_classes=["nsaid"]), "not checked has no drug classes"),
        (lambda d: d["alternatives"][0].update(medication="aspirin"), "'aspirin' is not checked"),
        (lambda d: _first(d, "diclofenac").update(topical="aspirin"), "topical 'aspirin' is no checked medicine"),
        (lambda d: _first(d, "ibuprofen").update(topical="diclofenac"), "topical 'diclofenac' is no checked"),
        (lambda d: d["dose_forms"]["topical"].append("Gel"), "dose_forms"),
    ],
)
def test_the_medication_table_is_checked(
    rules_copy: Path,
    change: Callable[[dict[str, Any]], None],
    message: str,
) -> None:
    edit(rules_copy, "medications.yaml", change)
    kb = load_knowledge_base(rules_copy)
    with pytest.raises(KnowledgeBaseError, match=r"rules/medications\.yaml: .*" + message):
        load_medications(rules_copy, kb)


def test_the_new_files_count_in_the_knowledge_base_digest(rules_copy: Path, kb: KnowledgeBase) -> None:
    edit(rules_copy, "medications.yaml", lambda d: d["medications"].pop())
    assert load_knowledge_base(rules_copy).sha256 != kb.sha256


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["also"]["fever"].append(dict(d["also"]["urinary_retention"][0])), "mapped twice"),
        (lambda d: d["also"].update(fevre=[]), "unknown input finding"),
    ],
)
def test_the_other_codings_of_a_finding_are_checked(
    rules_copy: Path, change: Callable[[dict[str, Any]], None], message: str
) -> None:
    """A code read as two findings, or as a finding the rules do not know, refuses the start."""
    edit(rules_copy, "fhir.yaml", change)
    with pytest.raises(KnowledgeBaseError, match=r"rules/fhir\.yaml: .*" + message):
        load_terminology(rules_copy, load_knowledge_base(rules_copy))
