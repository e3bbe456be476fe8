"""Semantic checks on a loaded knowledge base.

Structure (types, required keys, enum values) is checked while loading; these checks are
about meaning: every id resolves, every rule can fire for some input, red flags escalate,
escalation is monotone, medication needs a clinician, nothing is dead.
"""

from __future__ import annotations

from service import vocabulary as vocab
from service.knowledge.model import KnowledgeBase, KnowledgeBaseError, Layer, Range, Rule


def check_knowledge_base(kb: KnowledgeBase) -> None:
    """Raise :class:`KnowledgeBaseError` on the first problem found."""
    _check_references(kb)
    for rule in kb.rules.values():
        _check_rule_can_fire(kb, rule)
        _check_layer_contract(kb, rule)
        _check_duration_steps(rule)
    _check_reachable(kb)
    _check_no_cycles(kb)
    _check_nothing_dead(kb)
    _check_implicated_causes_are_listed(kb)
    _check_specialty_population(kb)
    for item in kb.care.values():
        if item.kind == "medication" and not item.requires_clinician:
            raise KnowledgeBaseError("care.yaml", item.id, "medication must have requires_clinician: true")
        if item.kind in ("medication", "therapy") and item.defer_from == "never":
            raise KnowledgeBaseError("care.yaml", item.id, "medication and therapy are deferred in an emergency")
        if not item.for_causes and not kb.rules[item.rule].when.present:
            raise KnowledgeBaseError("care.yaml", item.id, "needs for_causes or when.present")
        if item.defer_from != "never" and not kb.levels[item.defer_from].defers_care:
            raise KnowledgeBaseError("urgency.yaml", item.defer_from, f"defers '{item.id}' but gives no defers_care")
    _check_interview(kb)
    _check_one_location_at_a_time(kb)
    _check_age_in_pregnancy(kb)
    for rule_id in kb.self_test_rules:
        if rule_id not in kb.rules:
            raise KnowledgeBaseError("meta.yaml", "self_test", f"unknown rule '{rule_id}'")


def _check_references(kb: KnowledgeBase) -> None:
    for finding in kb.findings:
        if finding in vocab.LOCATIONS:
            # durable_rules keys a fact by its id: a finding named like a location would be
            # stored once with the location and silently lost
            raise KnowledgeBaseError("findings.yaml", finding, "shares its id with a complaint location")

    def known(file: str, item: str, ids: tuple[str, ...], table: dict, what: str) -> None:
        for ref in ids:
            if ref not in table:
                raise KnowledgeBaseError(file, item, f"unknown {what} '{ref}'")

    for cause in kb.causes.values():
        known("causes.yaml", cause.id, cause.sources, kb.sources, "source")
        known("causes.yaml", cause.id, cause.population, kb.findings, "finding")
    for item in kb.care.values():
        known("care.yaml", item.id, item.sources, kb.sources, "source")
        known("care.yaml", item.id, item.for_causes, kb.causes, "cause")
    for rule in kb.rules.values():
        known(rule.file, rule.id, rule.sources, kb.sources, "source")
        known(rule.file, rule.id, rule.when.present + rule.when.absent, kb.findings, "finding")
        known(rule.file, rule.id, rule.when.causes, kb.causes, "cause")
        known(rule.file, rule.id, rule.implicates, kb.causes, "cause")
        if rule.cause is not None:
            known(rule.file, rule.id, (rule.cause,), kb.causes, "cause")
        if rule.derive is not None:
            known(rule.file, rule.id, (rule.derive,), kb.findings, "finding")
            if not kb.findings[rule.derive].derived:
                raise KnowledgeBaseError(rule.file, rule.id, f"'{rule.derive}' is not a derived finding")
    for level in kb.levels.values():
        known("urgency.yaml", level.id, tuple(level.advice_when), kb.findings, "finding")


def _check_duration_steps(rule: Rule) -> None:
    """A duration bound is a whole number of the steps durations are floored to
    (``vocab.DURATION_STEP_PER_DAY``), else a sliver of durations would fall on neither side."""
    bound = rule.when.duration_days
    for value in (bound.min, bound.max) if bound else ():
        if value is not None and round(value * vocab.DURATION_STEP_PER_DAY, 6) % 1:
            raise KnowledgeBaseError(rule.file, rule.id, f"duration bound {value} is finer than a thousandth of a day")


def _check_age_in_pregnancy(kb: KnowledgeBase) -> None:
    """The span is not empty and a source chose it (its numbers are the team's, not a document's)."""
    span = kb.age_in_pregnancy
    if span.min > span.max:
        raise KnowledgeBaseError("meta.yaml", "unrecorded.age_in_pregnancy", "min is above max")
    for ref in span.sources:
        if ref not in kb.sources:
            raise KnowledgeBaseError("meta.yaml", "unrecorded.age_in_pregnancy", f"unknown source '{ref}'")


def _empty(bound: Range | None, limits: tuple[float, float]) -> bool:
    if bound is None or bound.unknown:  # a number left out still fires it
        return False
    low = limits[0] if bound.min is None else max(bound.min, limits[0])
    high = limits[1] if bound.max is None else min(bound.max, limits[1])
    return low > high


def _check_rule_can_fire(kb: KnowledgeBase, rule: Rule) -> None:
    """Refuse rules that no record could ever fire."""
    when = rule.when

    def refuse(why: str) -> None:
        raise KnowledgeBaseError(rule.file, rule.id, f"can never fire: {why}")

    if not when.is_context and (
        when.pregnant is not None
        or when.sex
        or when.age
        or when.gestational_week
        or when.locations
        or when.side
        or when.onset
        or when.course
        or when.severity
        or when.duration_days
    ):
        refuse("mixes record conditions with findings; derive a finding from the record first")
    if both := set(when.present) & set(when.absent):
        refuse(f"requires {sorted(both)} both present and absent")
    if derived_absent := [f for f in when.absent if kb.findings[f].derived]:
        refuse(f"derived findings are never absent, only not concluded: {derived_absent}")
    if _empty(when.age, vocab.AGE_RANGE):
        refuse("age range is empty")
    if _empty(when.gestational_week, vocab.GESTATIONAL_WEEK_RANGE):
        refuse("gestational_week range is empty")
    if _empty(when.severity, vocab.SEVERITY_RANGE):
        refuse("severity range is empty")
    if _empty(when.duration_days, (0, float("inf"))):
        refuse("duration_days range is empty")
    if when.gestational_week is not None and when.pregnant is False:
        refuse("gestational week condition on a patient who is not pregnant")
    for required in ("age", "gestational_week"):  # always given; a left-out week means "not pregnant"
        if (bound := getattr(when, required)) is not None and bound.unknown:
            raise KnowledgeBaseError(rule.file, rule.id, f"'unknown' applies only to optional numbers, not {required}")
    if (when.pregnant or when.gestational_week) and when.sex and set(when.sex) <= {"male"}:
        refuse("pregnancy condition on a male patient")


def _check_layer_contract(kb: KnowledgeBase, rule: Rule) -> None:
    if rule.when.causes and rule.layer not in (Layer.CARE, Layer.CONTRAINDICATION):
        raise KnowledgeBaseError(rule.file, rule.id, "only care and contraindication rules may depend on causes")
    if rule.layer is Layer.CONTRAINDICATION and not (
        rule.drug_classes or rule.modalities or rule.caution_drug_classes or rule.caution_modalities
    ):
        raise KnowledgeBaseError(rule.file, rule.id, "a contraindication must suppress or caution something")
    if rule.implicates and not rule.red_flag:
        raise KnowledgeBaseError(rule.file, rule.id, "only a red flag implicates causes")
    if rule.layer is Layer.EVIDENCE and rule.supports and not rule.when.present:
        raise KnowledgeBaseError(rule.file, rule.id, "supporting evidence needs at least one present finding")
    if rule.layer is Layer.ESCALATION:
        if rule.when.absent:
            raise KnowledgeBaseError(
                rule.file,
                rule.id,
                "escalation may not depend on absent findings (adding findings must never lower urgency)",
            )
        if rule.red_flag and kb.levels[rule.level or ""].rank > kb.levels["urgent"].rank:
            raise KnowledgeBaseError(rule.file, rule.id, "a red flag must be at least 'urgent'")
        if rule.level == "self_care":
            raise KnowledgeBaseError(rule.file, rule.id, "escalation to self_care raises nothing")
    if rule.layer is not Layer.CONTEXT and rule.layer is not Layer.CARE and rule.when.is_context:
        raise KnowledgeBaseError(rule.file, rule.id, "needs at least one finding condition")


def _check_reachable(kb: KnowledgeBase) -> None:
    """Every derived finding a rule needs must be concluded by some rule that can fire."""
    derivable: set[str] = set()
    changed = True
    while changed:
        changed = False
        for rule in kb.rules.values():
            needs = {f for f in rule.when.present if kb.findings[f].derived}
            if rule.derive and rule.derive not in derivable and needs <= derivable:
                derivable.add(rule.derive)
                changed = True
    for rule in kb.rules.values():
        missing = {f for f in rule.when.present if kb.findings[f].derived} - derivable
        if missing:
            raise KnowledgeBaseError(rule.file, rule.id, f"can never fire: no rule concludes {sorted(missing)}")


def _check_no_cycles(kb: KnowledgeBase) -> None:
    """A derived finding may not, through other derived findings, depend on itself."""
    done: set[str] = set()

    def visit(finding: str, path: tuple[str, ...]) -> None:
        if finding in path:
            rule = kb.derivers[path[-1]][0]
            raise KnowledgeBaseError(
                rule.file,
                rule.id,
                f"derived findings form a cycle: {' -> '.join((*path, finding))}",
            )
        if finding in done:
            return
        for rule in kb.derivers.get(finding, ()):
            for needed in rule.when.present:
                if kb.findings[needed].derived:
                    visit(needed, (*path, finding))
        done.add(finding)

    for finding in kb.derivers:
        visit(finding, ())


def _check_nothing_dead(kb: KnowledgeBase) -> None:
    used = {f for r in kb.rules.values() for f in (*r.when.present, *r.when.absent)}
    for finding in kb.findings.values():
        if finding.derived and finding.id not in used:
            raise KnowledgeBaseError("findings.yaml", finding.id, "derived finding that no rule uses")
        if not finding.derived and not finding.question:
            raise KnowledgeBaseError("findings.yaml", finding.id, "input finding needs a question")
    supported = {r.cause for r in kb.rules.values() if r.supports}
    for cause in kb.causes:
        if cause not in supported:
            raise KnowledgeBaseError("causes.yaml", cause, "no evidence rule supports this cause")


def _implied(kb: KnowledgeBase, present: tuple[str, ...]) -> set[str]:
    """The findings that ``present`` guarantees: itself plus what finding rules derive from it."""
    implied = set(present)
    changed = True
    while changed:
        changed = False
        for rule in kb.rules_in(Layer.DERIVED):
            if (
                rule.derive
                and rule.derive not in implied
                and not rule.when.absent
                and set(rule.when.present) <= implied
            ):
                implied.add(rule.derive)
                changed = True
    return implied


def _check_implicated_causes_are_listed(kb: KnowledgeBase) -> None:
    """Whenever a red flag fires, every cause it implicates is supported (so it can rank first)."""
    evidence = [r for r in kb.rules_in(Layer.EVIDENCE) if r.supports]
    for rule in kb.rules_in(Layer.ESCALATION):
        implied = _implied(kb, rule.when.present)
        for cause in rule.implicates:
            if not any(e.cause == cause and set(e.when.present) <= implied for e in evidence):
                raise KnowledgeBaseError(
                    rule.file, rule.id, f"no evidence rule supports '{cause}' whenever this rule fires"
                )


def _check_specialty_population(kb: KnowledgeBase) -> None:
    """A population-bound specialty is only referred to when its population is guaranteed."""
    for specialty, population in kb.specialty_population.items():
        for finding in population:
            if finding not in kb.findings or not kb.findings[finding].derived:
                raise KnowledgeBaseError("causes.yaml", specialty, f"population '{finding}' is not a derived finding")
    for rule in kb.rules_in(Layer.ESCALATION):
        implied = _implied(kb, rule.when.present)
        for specialty in rule.refer:
            if specialty in kb.specialty_population and not implied & set(kb.specialty_population[specialty]):
                raise KnowledgeBaseError(rule.file, rule.id, f"refers to {specialty} without its population")
    for cause in kb.causes.values():
        for specialty in cause.specialties:
            if specialty in kb.specialty_population and not set(cause.population) & set(
                kb.specialty_population[specialty]
            ):
                raise KnowledgeBaseError("causes.yaml", cause.id, f"lists {specialty} without its population")


def _check_interview(kb: KnowledgeBase) -> None:
    """Every screen names real findings and sources, and asks only what an escalation needs."""
    _check_interview_mappings(kb)
    escalation_inputs = _escalation_inputs(kb)
    for screen in kb.interview.screens:
        for ref in screen.when_present:
            if ref not in kb.findings:
                raise KnowledgeBaseError("interview.yaml", screen.id, f"unknown finding '{ref}'")
        for ref in screen.sources:
            if ref not in kb.sources:
                raise KnowledgeBaseError("interview.yaml", screen.id, f"unknown source '{ref}'")
        for ref in screen.ask:
            if ref not in kb.findings:
                raise KnowledgeBaseError("interview.yaml", screen.id, f"unknown finding '{ref}'")
            if kb.findings[ref].derived:
                raise KnowledgeBaseError("interview.yaml", screen.id, f"'{ref}' is derived: ask input findings")
            if ref not in escalation_inputs:
                raise KnowledgeBaseError(
                    "interview.yaml", screen.id, f"'{ref}' raises no urgency in any rule, so it would never be asked"
                )


def _check_interview_mappings(kb: KnowledgeBase) -> None:
    """``asked_after_yes`` and ``not_asked_when`` name input findings to ask, and real findings."""
    for finding, after in kb.interview.asked_after_yes.items():
        for ref in (finding, after):
            if ref not in kb.findings or kb.findings[ref].derived:
                raise KnowledgeBaseError("interview.yaml", f"asked_after_yes {finding}", f"'{ref}' is no input finding")
    for finding, whens in kb.interview.not_asked_when.items():
        if finding not in kb.findings or kb.findings[finding].derived:
            raise KnowledgeBaseError("interview.yaml", f"not_asked_when {finding}", f"'{finding}' is no input finding")
        for ref in whens:
            if ref not in kb.findings:
                raise KnowledgeBaseError("interview.yaml", f"not_asked_when {finding}", f"unknown finding '{ref}'")


def _escalation_inputs(kb: KnowledgeBase) -> set[str]:
    """The input findings some escalation rule depends on, through derived findings."""
    inputs: set[str] = set()
    pending = [f for r in kb.rules_in(Layer.ESCALATION) for f in r.when.present]
    seen: set[str] = set()
    while pending:
        finding = pending.pop()
        if finding in seen:
            continue
        seen.add(finding)
        if kb.findings[finding].derived:
            pending += [f for r in kb.derivers.get(finding, ()) for f in r.when.present]
        else:
            inputs.add(finding)
    return inputs


def _check_one_location_at_a_time(kb: KnowledgeBase) -> None:
    """Refuse a rule that needs findings no single pain location gives together.

    A record lacking its location is assessed once per single location
    (:mod:`service.reasoning.unrecorded`); that covers pain in several places only while
    every rule is satisfied by one of them. ``where``: the locations that give a finding
    derived from the location (directly, or from such findings).
    """
    where: dict[str, set[str]] = {}
    changed = True
    while changed:  # derived from derived: until nothing is added
        changed = False
        for rule in kb.rules.values():
            needed = [where[f] for f in rule.when.present if f in where]
            if needed and not set.intersection(*needed):
                raise KnowledgeBaseError(
                    rule.file, rule.id, "needs pain in two places at once; no single location gives all of it"
                )
            given = set(rule.when.locations) or (set.intersection(*needed) if needed else set())
            if rule.derive is not None and given and not given <= where.get(rule.derive, set()):
                where[rule.derive] = where.get(rule.derive, set()) | given
                changed = True
