"""Compile the knowledge base into durable_rules' JSON ruleset format.

Each rule becomes a durable_rules rule whose patterns match facts (see
:mod:`service.reasoning.durable.facts` for their shapes). Rules with the same conditions share
one engine rule, named by the first of them, that stands for all of them: creating a session
allocates tables for each rule and each pattern of the ruleset (measured: about 0.4 µs each
with stock durable-rules 2.0.28, about 0.06 µs with the build the service installs), and a
third of the knowledge base's rules repeat another rule's conditions with a different
conclusion. What a rule concludes that later
rules can match — a derived finding, a supported cause — is a fact the driver asserts when
the rule fires, so the engine itself does the chaining between layers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from service import vocabulary as vocab
from service.knowledge.model import Condition, KnowledgeBase, KnowledgeBaseError, Layer, Range, Rule
from service.reasoning.durable.facts import (
    ENGINE_MAX,
    ENGINE_MIN,
    FactKey,
    fact_key,
    finding_fact,
    identity,
    supported_fact,
)

Pattern = dict[str, Any]


@dataclass(frozen=True)
class CompiledRules:
    """A ruleset in durable_rules' JSON format, the knowledge-base rules each of its rules
    stands for, the facts each knowledge-base rule asserts when it fires (only those some
    pattern could match), and the facts some rule watches.
    """

    ruleset: dict[str, dict[str, Any]]
    rules: dict[str, tuple[str, ...]]
    consequences: dict[str, tuple[dict[str, Any], ...]]
    watched: frozenset[FactKey]


def compile_knowledge_base(kb: KnowledgeBase) -> CompiledRules:
    for rule in kb.rules.values():
        _check_thresholds(rule)
    ruleset: dict[str, dict[str, Any]] = {}
    rules: dict[str, tuple[str, ...]] = {}  # engine rule -> the knowledge-base rules, file order
    named: dict[str, str] = {}  # what the patterns match -> the engine rule that has them
    for rule in kb.rules.values():
        patterns = _patterns(rule.when)
        name = named.setdefault(_signature(patterns), rule.id)
        ruleset.setdefault(name, {"all": patterns})
        rules[name] = (*rules.get(name, ()), rule.id)
    watched = frozenset(key for rule in kb.rules.values() for key in _watched(rule.when))
    consequences = {r.id: tuple(f for f in _consequences(r) if fact_key(f) in watched) for r in kb.rules.values()}
    return CompiledRules(ruleset=ruleset, rules=rules, consequences=consequences, watched=watched)


def _signature(patterns: list[Pattern]) -> str:
    """What a rule's patterns match, whatever their names and order: equal for equal conditions."""
    return json.dumps(sorted(json.dumps(body, sort_keys=True) for pattern in patterns for body in pattern.values()))


def _watched(when: Condition) -> list[FactKey]:
    """The facts the patterns of one rule match (see :func:`_patterns`)."""
    if when.is_context:
        return [("record", "", ""), *(("location", location, "") for location in when.locations)]
    return [
        *(("finding", f, "present") for f in when.present),
        *(("finding", f, "absent") for f in when.absent),
        *(("supported", cause, "") for cause in when.causes),
    ]


def _consequences(rule: Rule) -> tuple[dict[str, Any], ...]:
    # durable_rules takes a fact's "id" as its message id and answers "already observed" to a
    # second fact with the same one, "by" or not: a finding concluded twice (or given and
    # concluded) is stored once, all the chaining needs. A supported fact has no "id", so
    # "by" is what keeps those of different rules distinct (measured, durable_rules 2.0.28).
    if rule.derive is not None:
        return ({**finding_fact(rule.derive, "present"), "by": rule.id},)
    if rule.layer is Layer.EVIDENCE and rule.supports and rule.cause is not None:
        return (supported_fact(rule.cause, rule.id),)
    return ()


def _check_thresholds(rule: Rule) -> None:
    """Thresholds must keep comparisons exact against numbers moved by ``engine_number``."""
    for bound in (getattr(rule.when, attribute) for attribute in vocab.RANGE_FIELDS):
        for value in (bound.min, bound.max) if bound else ():
            if value is not None and value != 0 and not ENGINE_MIN < value < ENGINE_MAX:
                raise KnowledgeBaseError(rule.file, rule.id, f"threshold {value} outside the engine's range")


def _any_of(attribute: str, values: tuple[str, ...]) -> Pattern:
    return _any_of_tests([{attribute: value} for value in values])


def _bounds(attribute: str, bound: Range | None) -> list[Pattern]:
    if bound is None:
        return []
    tests: list[Pattern] = []
    if bound.min is not None:
        tests.append({"$gte": {attribute: bound.min}})
    if bound.max is not None:
        tests.append({"$lte": {attribute: bound.max}})
    if bound.unknown:  # the record fact leaves out a number the record did not give
        within = tests[0] if len(tests) == 1 else {"$and": tests}
        return [{"$or": [within, {"$nex": {attribute: 1}}]}] if tests else [{"$nex": {attribute: 1}}]
    return tests


def _one_of(kind: str, names: tuple[str, ...]) -> Pattern:
    """A test that the fact is about one of ``names`` (see :func:`identity` for why by name)."""
    return _any_of_tests([{identity(kind, name): True} for name in names])


def _any_of_tests(options: list[Pattern]) -> Pattern:
    return options[0] if len(options) == 1 else {"$or": options}


def _finding(finding_id: str, status: str) -> Pattern:
    return {"$and": [{"t": "finding"}, {identity("finding", finding_id): status}]}


def _patterns(when: Condition) -> list[Pattern]:
    """One pattern per fact the rule needs; durable_rules joins them (different facts)."""
    if when.is_context:
        tests: list[Pattern] = [{"t": "record"}]
        if when.pregnant is not None:
            tests.append({"pregnant": when.pregnant})
        for attribute in vocab.CHOICE_FIELDS:
            if values := getattr(when, attribute):
                tests.append(_any_of(attribute, values))
        for attribute in vocab.RANGE_FIELDS:
            tests += _bounds(attribute, getattr(when, attribute))
        patterns = [{"record": {"$and": tests}}]
        if when.locations:
            patterns.append({"location": {"$and": [{"t": "location"}, _one_of("location", when.locations)]}})
        return patterns
    patterns = [{f"p{i}": _finding(f, "present")} for i, f in enumerate(when.present)]
    patterns += [{f"a{i}": _finding(f, "absent")} for i, f in enumerate(when.absent)]
    if when.causes:
        patterns.append({"cause": {"$and": [{"t": "supported"}, _one_of("cause", when.causes)]}})
    return patterns
