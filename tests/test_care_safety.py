"""Care that fits the patient, as properties over generated records (issue 9, section 2).

These hold on any valid record because contraindication rules suppress the care, whatever
causes the record happens to support:

- no COX-2 inhibitor or diclofenac tablets with cardiovascular disease (EMA, MHRA);
- nothing adult-only for a child under 12 (team policy, BNF for Children);
- no preterm labour before week 24 (it is the early pregnancy pathway then);
- traction is never offered (NICE NG59); bone medicines only with diagnosed osteoporosis;
- in pregnancy the warning signs are always listed;
- an emergency offers only what to do now: no medication, therapy, exercise, massage or
  traction, and nothing that presumes a harmless cause — all of it is listed as deferred;
  an urgent case offers nothing that presumes a harmless cause;
- a cause a fired red flag implicates leads the list of causes.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings

from tests.strategies import records

SETTINGS = settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

CARDIOVASCULAR_BANNED = {"cox2_inhibitor", "diclofenac"}
ADULT_ONLY_DRUGS = {
    "cox2_inhibitor",
    "muscle_relaxant",
    "corticosteroid_injection",
    "bisphosphonate",
    "glucosamine",
    "herbal_preparation",
}
ADULT_ONLY_MODALITIES = {"shockwave", "fusion_surgery", "traction"}
BONE_MEDICINES = {"zoledronic_acid", "herbal_bone_preparations"}


def test_care_fits_the_patient(kb, assess) -> None:
    @SETTINGS
    @given(record=records(kb))
    def check(record: dict[str, Any]) -> None:
        result = assess(record)
        present = set(record["findings"]["present"])
        pregnancy = record["patient"].get("pregnancy")
        offered = [kb.care[item["id"]] for item in result["care"]]
        classes = {item.drug_class for item in offered}
        modalities = {item.modality for item in offered}

        if "cardiovascular_disease" in present:
            assert not classes & CARDIOVASCULAR_BANNED
        if record["patient"]["age"] < 12:
            assert not classes & ADULT_ONLY_DRUGS
            assert not modalities & ADULT_ONLY_MODALITIES
        if pregnancy and pregnancy["gestational_week"] < 24:
            assert "preterm_labour" not in {c["id"] for c in result["causes"]}
        if pregnancy:
            assert "pregnancy_warning_signs" in {item.id for item in offered}
        assert "traction" not in modalities
        if "osteoporosis_diagnosed" not in present:
            assert not BONE_MEDICINES & {item.id for item in offered}

    check()


def test_care_fits_the_urgency_and_red_flags_lead(kb, assess) -> None:
    @SETTINGS
    @given(record=records(kb))
    def check(record: dict[str, Any]) -> None:
        result = assess(record)
        level = result["urgency"]["level"]
        offered = [kb.care[item["id"]] for item in result["care"]]
        deferred = {s["id"] for s in result["suppressed_care"]} - {i.id for i in offered}
        if level == "emergency":
            assert all(item.defer_from == "never" for item in offered)
            assert not {item.kind for item in offered} & {"medication", "therapy"}
        if level == "urgent":
            assert all(item.defer_from in ("never", "emergency") for item in offered)
        if level in ("emergency", "urgent"):  # what was held back is said, with its reason
            fired_care = {kb.rules[step["rule"]].care for step in result["trace"] if kb.rules[step["rule"]].care}
            held_back = {c for c in fired_care if kb.care[c].defer_from != "never"} - {i.id for i in offered}
            assert held_back <= deferred
        implicated = {cause for flag in result["red_flags"] for cause in kb.rules[flag["id"]].implicates} & {
            c["id"] for c in result["causes"]
        }
        if implicated:
            assert result["causes"][0]["id"] in implicated

    check()
