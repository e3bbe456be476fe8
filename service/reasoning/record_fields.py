"""The complaint's fields a record leaves unknown that could raise the urgency: ask them.

A record may leave the pain's onset, severity, course, side or duration out (or ``unknown``). The
rules then read it as the harmless value: not sudden, not severe, not getting worse, not
one-sided, new (a duration not given is not taken as long-standing).
Answering for the value that calls for the most care instead (as for an unknown age,
:mod:`service.reasoning.unrecorded`) was measured on the validation vignettes: it over-triaged
and fixed none, so the urgency shown stays the one the record gives. What changes is that the
service says what is missing and asks it: each such field is assessed alone with each value
the rules tell apart (the others left as they are), and a field whose value could raise the
urgency is named with the most urgent level it could reveal. While one is left, the interview
is not complete: "all the questions that matter have been answered" would be untrue.

A field the patient was asked and could not answer (``complaint.not_known``) is not probed:
it is not asked again, as a finding in ``findings.not_known`` is not, and the interview says
some answers were "don't know".
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Collection, Iterable
from typing import Any

from service import vocabulary as vocab
from service.knowledge.model import KnowledgeBase, Rule
from service.reasoning.assessment import Assessment, RecordField
from service.reasoning.record import ASKABLE_FIELDS
from service.reasoning.unrecorded import UNKNOWN, bands, rules_met

FIELDS = ASKABLE_FIELDS  # in the order they are asked
# the numeric fields, left out when unknown, by their name in unrecorded.PATHS: each is tried
# at the first of every band the rules draw on it, as a value left open is assessed
_NUMBERS = {"severity": "pain severity", "duration_days": "pain duration"}

Levels = Callable[[dict[str, Any]], Iterable[str]]
"""The urgency levels a door gives a record: one, or one per value of what it lacks (an age)."""


def unknown_fields(record: dict[str, Any]) -> tuple[str, ...]:
    """The fields of :data:`FIELDS` ``record`` leaves unknown and does not list as not known."""
    complaint = record.get("complaint", {})
    not_known = set(complaint.get("not_known", ()))
    return tuple(
        name
        for name in FIELDS
        if name not in not_known and complaint.get(name, None if name in _NUMBERS else UNKNOWN) in (None, UNKNOWN)
    )


class FieldProbe:
    """For one knowledge base, the values each field is probed with; call per record."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self._rank = {level: urgency.rank for level, urgency in kb.levels.items()}
        context = [r for r in kb.rules.values() if r.when.is_context]
        self.values: dict[str, tuple[Any, ...]] = {
            name: _told_apart(name, _candidates(kb, name), context) for name in FIELDS
        }
        # of those, the values that conclude something the field's unknown value does not: the
        # others can only take conclusions away, so trying them in combination reveals nothing
        self.concluding: dict[str, tuple[Any, ...]] = {
            name: tuple(v for v in values if rules_met(name, v, context) - rules_met(name, None, context))
            for name, values in self.values.items()
        }

    def __call__(
        self,
        record: dict[str, Any],
        shown: Assessment,
        levels: Levels,
        *,
        for_most_care: bool,
        jointly: bool = True,
        assessed_each: Collection[str] = (),
    ) -> Assessment:
        """``shown`` with the fields ``record`` leaves unknown whose value could raise its
        urgency (most urgent first), its interview then not complete.

        ``levels`` gives the levels the door would give a record (one, or one per value of a
        value it lacks); ``for_most_care``: the door shows the most urgent of those (a
        patient's door), else the least (a clinician's). ``jointly``: the fields are tried
        together too; a door leaves it out when every combination would be assessed at too
        many values of what the record lacks (a pregnancy recorded with nothing else took 12 s).
        ``assessed_each``: the fields ``record`` leaves out because the records give several
        values (a side answered left and both), which the door assesses at each of them: not
        unknown, not probed.
        Each probe is an assessment (one per value of what the record lacks): the interview
        doors probe only once no finding question is left, the clinician's door on every call.
        """
        interview = shown.interview
        current = self._rank[shown.urgency.level]
        if current == 0:  # nothing is more urgent
            return shown
        unknown = tuple(name for name in unknown_fields(record) if name not in assessed_each)

        def reach(values: dict[str, Any]) -> int:
            probed = copy.deepcopy(record)
            probed["complaint"].update(values)
            return self._level(levels(probed), current, for_most_care)

        reached = {name: min((reach({name: v}) for v in self.values[name]), default=current) for name in unknown}
        # Together: a red flag may need two of them at once (a sudden onset and severe pain),
        # which no field tried alone reveals. Each combination of the values that conclude
        # something is tried; the fields the most urgent one needs are named with its level.
        if jointly and len(unknown) > 1:
            best, needed = current, dict[str, Any]()
            for combination in itertools.product(*(self.concluding[name] for name in unknown)):
                values = dict(zip(unknown, combination, strict=True))
                if (rank := reach(values)) < best:
                    best, needed = rank, values
            if best < min(reached.values()):
                for name in list(needed):  # leave out what it does not need, in the order asked
                    if reach({n: v for n, v in needed.items() if n != name}) <= best:
                        del needed[name]
                for name in needed:
                    reached[name] = min(reached[name], best)
        found = sorted(
            (rank, place, RecordField(f"complaint.{name}", _level_at(self._rank, rank)))
            for place, (name, rank) in enumerate(reached.items())
            if rank < current
        )
        if not found:
            return shown
        fields = tuple(field for *_, field in found)
        return shown._replace(interview=interview._replace(complete=False, stop_reason=None, record_fields=fields))

    def _level(self, levels: Iterable[str], current: int, for_most_care: bool) -> int:
        """The rank a door shows for these levels: the most urgent (stopping at the top), or
        the least (stopping once one is no more urgent than ``current``: it cannot raise)."""
        ranks = (self._rank[level] for level in levels)
        if for_most_care:
            best = current
            for rank in ranks:
                best = min(best, rank)
                if best == 0:
                    break
            return best
        least = 0
        for rank in ranks:
            least = max(least, rank)
            if least >= current:
                break
        return least


def _candidates(kb: KnowledgeBase, name: str) -> tuple[Any, ...]:
    """Every value of ``name`` a record could give: the choices but ``unknown``; for a number,
    the first of each band the rules' bounds draw on its scale."""
    if name in _NUMBERS:
        return tuple(float(v) for v in bands(kb, _NUMBERS[name]))
    return tuple(value for value in vocab.CHOICE_FIELDS[name] if value != UNKNOWN)


def _told_apart(name: str, candidates: tuple[Any, ...], context: list[Rule]) -> tuple[Any, ...]:
    """Of ``candidates``, the first of each set of values the context rules tell apart, less
    those they do not tell from not known (left and right fire the same rules; so may a
    severity of 0 and none): the others would be assessed to the same answer."""
    seen = {rules_met(name, None, context)}
    kept = []
    for value in candidates:
        accepted = rules_met(name, value, context)
        if accepted not in seen:
            seen.add(accepted)
            kept.append(value)
    return tuple(kept)


def _level_at(rank: dict[str, int], wanted: int) -> str:
    return next(level for level, r in rank.items() if r == wanted)
