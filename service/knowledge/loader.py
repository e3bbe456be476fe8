"""Build the :class:`KnowledgeBase` from ``rules/*.yaml`` and check it thoroughly.

The service refuses to start on a knowledge base that is wrong in any way we can detect:
a typo in a finding id would otherwise silently disable a red flag. Every error names the
file and the rule or item it is about.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from pathlib import Path

from marshmallow import ValidationError

from service import vocabulary as vocab
from service.knowledge.checks import check_knowledge_base
from service.knowledge.files import (
    KNOWLEDGE_FILES,
    RULE_FILES,
    CareSchema,
    CauseSchema,
    FindingSchema,
    InterviewSettingsSchema,
    LevelSchema,
    MetaSchema,
    ScreenSchema,
    SourceSchema,
    load_list,
    read_knowledge_file,
    rule_schema,
    translation_files,
)
from service.knowledge.model import (
    CareItem,
    Cause,
    Condition,
    Finding,
    Interview,
    KnowledgeBase,
    KnowledgeBaseError,
    Layer,
    Range,
    Rule,
    Scoring,
    Screen,
    Source,
    Span,
    UrgencyLevel,
)


def _range(raw: Mapping | None) -> Range | None:
    return Range(raw["min"], raw["max"], raw["includes_unknown"]) if raw else None


def _condition(when: Mapping, *, causes: Iterable[str] = (), extra_present: Iterable[str] = ()) -> Condition:
    patient, complaint = when.get("patient", {}), when.get("complaint", {})
    present = tuple(dict.fromkeys([*extra_present, *when.get("present", ())]))
    return Condition(
        present=present,
        absent=tuple(when.get("absent", ())),
        causes=tuple(causes) or tuple(when.get("causes", ())),
        pregnant=patient.get("pregnant"),
        sex=tuple(patient.get("sex", ())),
        age=_range(patient.get("age")),
        gestational_week=_range(patient.get("gestational_week")),
        locations=tuple(complaint.get("locations", ())),
        side=tuple(complaint.get("side", ())),
        onset=tuple(complaint.get("onset", ())),
        course=tuple(complaint.get("course", ())),
        severity=_range(complaint.get("severity")),
        duration_days=_range(complaint.get("duration_days")),
    )


def _rules_from(name: str, layer: Layer, raw_rules: list[dict], causes: Mapping[str, Cause]) -> list[Rule]:
    rules = []
    for raw in raw_rules:
        then = raw["then"]
        common = {
            "id": raw["id"],
            "rationale": raw["rationale"],
            "sources": tuple(raw["sources"]),
            "file": name,
        }
        if layer is Layer.DERIVED:
            when = _condition(raw["when"])
            rules.append(
                Rule(
                    layer=Layer.CONTEXT if when.is_context else Layer.DERIVED,
                    when=when,
                    derive=then["derive"],
                    **common,
                )
            )
        elif layer is Layer.EVIDENCE:
            cause = then.get("supports") or then["against"]
            population = causes[cause].population if cause in causes else ()
            sign = 1 if "supports" in then else -1
            rules.append(
                Rule(
                    layer=layer,
                    when=_condition(raw["when"], extra_present=population),
                    cause=cause,
                    weight=sign * then["weight"],
                    **common,
                )
            )
        elif layer is Layer.ESCALATION:
            rules.append(
                Rule(
                    layer=layer,
                    when=_condition(raw["when"]),
                    level=then["level"],
                    red_flag=then["red_flag"],
                    reason=then["reason"],
                    refer=tuple(then["refer"]),
                    implicates=tuple(then["implicates"]),
                    **common,
                )
            )
        else:
            rules.append(
                Rule(
                    layer=layer,
                    when=_condition(raw["when"]),
                    reason=then["reason"],
                    drug_classes=tuple(then["suppress"].get("drug_classes", ())),
                    modalities=tuple(then["suppress"].get("modalities", ())),
                    caution_drug_classes=tuple(then["caution"].get("drug_classes", ())),
                    caution_modalities=tuple(then["caution"].get("modalities", ())),
                    **common,
                )
            )
    return rules


def care_rule_id(care_id: str) -> str:
    """The id of the rule that offers a care item (shown in traces)."""
    return "CARE-" + care_id.upper().replace("_", "-")


def _care_from(raw_items: list[dict]) -> tuple[list[CareItem], list[Rule]]:
    items, rules = [], []
    for raw in raw_items:
        rule_id = care_rule_id(raw["id"])
        items.append(
            CareItem(
                id=raw["id"],
                kind=raw["kind"],
                text=raw["text"],
                for_causes=tuple(raw["for_causes"]),
                requires_clinician=raw["requires_clinician"],
                sources=tuple(raw["sources"]),
                rule=rule_id,
                drug_class=raw["drug_class"],
                modality=raw["modality"],
                defer_from=raw["defer_from"],
            )
        )
        rules.append(
            Rule(
                id=rule_id,
                layer=Layer.CARE,
                file="care.yaml",
                care=raw["id"],
                rationale=f"Offer '{raw['id']}' for the causes it treats.",
                when=_condition(raw["when"], causes=raw["for_causes"]),
                sources=tuple(raw["sources"]),
            )
        )
    return items, rules


def _unique(name: str, ids: Iterable[str], what: str) -> None:
    seen: set[str] = set()
    for item in ids:
        if item in seen:
            raise KnowledgeBaseError(name, item, f"duplicate {what} id")
        seen.add(item)


def load_knowledge_base(directory: Path) -> KnowledgeBase:
    """Read and validate every file in ``directory``; raise :class:`KnowledgeBaseError`."""
    meta = read_knowledge_file(directory, "meta.yaml")
    try:
        meta = MetaSchema().load(meta if isinstance(meta, dict) else {})
    except ValidationError as error:
        raise KnowledgeBaseError("meta.yaml", "file", str(error.messages)) from None

    raw = {
        "sources": load_list(directory, "sources.yaml", "sources", SourceSchema()),
        "findings": load_list(directory, "findings.yaml", "findings", FindingSchema()),
        "causes": load_list(directory, "causes.yaml", "causes", CauseSchema()),
        "levels": load_list(directory, "urgency.yaml", "levels", LevelSchema()),
        "care": load_list(directory, "care.yaml", "care", CareSchema()),
    }
    for name, key in (
        ("sources.yaml", "sources"),
        ("findings.yaml", "findings"),
        ("causes.yaml", "causes"),
        ("care.yaml", "care"),
    ):
        _unique(name, (item["id"] for item in raw[key]), key.rstrip("s"))
    # the interview's policies sit in its own file, beside the screens that cite them
    for source in load_list(directory, "interview.yaml", "sources", SourceSchema()):
        if any(s["id"] == source["id"] for s in raw["sources"]):
            raise KnowledgeBaseError("interview.yaml", source["id"], "duplicate source id")
        raw["sources"].append(source)

    causes = {
        c["id"]: Cause(
            id=c["id"],
            name=c["name"],
            description=c["description"],
            sources=tuple(c["sources"]),
            population=tuple(c["population"].get("requires", ())),
            specialties=tuple(c["specialties"]),
        )
        for c in raw["causes"]
    }
    rules: list[Rule] = []
    for name, layer in RULE_FILES.items():
        rules += _rules_from(name, layer, load_list(directory, name, "rules", rule_schema(layer)), causes)
    care, care_rules = _care_from(raw["care"])
    rules += care_rules
    first_seen: dict[str, str] = {}
    for r in rules:
        if r.id in first_seen:
            raise KnowledgeBaseError(r.file, r.id, f"duplicate rule id (also in rules/{first_seen[r.id]})")
        first_seen[r.id] = r.file

    levels = [lv["id"] for lv in raw["levels"]]
    if levels != list(vocab.URGENCY_LEVELS):
        raise KnowledgeBaseError(
            "urgency.yaml", "levels", f"must be exactly {list(vocab.URGENCY_LEVELS)} in that order"
        )

    ages = meta["unrecorded"]["age_in_pregnancy"]
    knowledge_base = KnowledgeBase(
        version=meta["version"],
        sha256=_digest(directory),
        disclaimer=meta["disclaimer"],
        scoring=Scoring(
            high=meta["scoring"]["confidence"]["high"],
            moderate=meta["scoring"]["confidence"]["moderate"],
            max_cause_questions=meta["scoring"]["max_cause_questions"],
        ),
        self_test=meta["self_test"]["record"],
        self_test_rules=tuple(meta["self_test"]["expect_rules"]),
        sources={s["id"]: Source(**s) for s in raw["sources"]},
        findings={f["id"]: Finding(**f) for f in raw["findings"]},
        causes=causes,
        levels={
            lv["id"]: UrgencyLevel(
                id=lv["id"],
                rank=i,
                advice=lv["advice"],
                advice_when=lv["advice_when"],
                referral=lv["referral"],
                defers_care=lv["defers_care"],
            )
            for i, lv in enumerate(raw["levels"])
        },
        rules={r.id: r for r in rules},
        care={c.id: c for c in care},
        interview=_interview(directory),
        age_in_pregnancy=Span(ages["min"], ages["max"], tuple(ages["sources"])),
        specialty_population=_specialty_population(directory),
    )
    check_knowledge_base(knowledge_base)
    return knowledge_base


def _interview(directory: Path) -> Interview:
    """``interview.yaml``: the screens in file order (their priority) and the stopping rule."""
    document = read_knowledge_file(directory, "interview.yaml")
    if not isinstance(document, dict):
        raise KnowledgeBaseError("interview.yaml", "file", "expected a mapping")
    settings = {k: v for k, v in document.items() if k not in ("sources", "screens")}
    try:
        settings = InterviewSettingsSchema().load(settings)
    except ValidationError as error:
        raise KnowledgeBaseError("interview.yaml", "file", str(error.messages)) from None
    screens = load_list(directory, "interview.yaml", "screens", ScreenSchema())
    _unique("interview.yaml", (s["id"] for s in screens), "screen")
    return Interview(
        screens=tuple(
            Screen(
                id=s["id"],
                rationale=s["rationale"],
                ask=tuple(s["ask"]),
                sources=tuple(s["sources"]),
                when_present=tuple(s["when"].get("present", ())),
                when_locations=tuple(s["when"].get("locations", ())),
            )
            for s in screens
        ),
        stop_at_level=settings["stop"]["at_level"],
        stop_reasons=dict(settings["stop"]["reasons"]),
        asked_after_yes=settings["asked_after_yes"],
        not_asked_when={finding: tuple(whens) for finding, whens in settings["not_asked_when"].items()},
    )


def _specialty_population(directory: Path) -> dict[str, tuple[str, ...]]:
    """``specialty_population`` in causes.yaml: specialty -> the derived findings it requires."""
    raw = read_knowledge_file(directory, "causes.yaml").get("specialty_population", {})
    if not isinstance(raw, dict) or not all(
        isinstance(v, list) and all(isinstance(f, str) for f in v) for v in raw.values()
    ):
        raise KnowledgeBaseError("causes.yaml", "specialty_population", "expected specialty: [derived finding ids]")
    return {str(specialty): tuple(findings) for specialty, findings in raw.items()}


def _digest(directory: Path) -> str:
    """sha256 over every knowledge file and translation catalogue, name and bytes, in a fixed order."""
    digest = hashlib.sha256()
    for name in sorted(KNOWLEDGE_FILES) + translation_files(directory):
        digest.update(name.encode() + b"\0" + (directory / name).read_bytes() + b"\0")
    return digest.hexdigest()
