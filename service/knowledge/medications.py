"""Medication → drug class (``rules/medications.yaml``), checked against the knowledge base.

The order-sign service needs to know which of the knowledge base's drug classes a draft
order belongs to before the contraindication rules can speak about it. The table is data,
reviewed like the rules: a class no care item or contraindication rule names, a code mapped
twice or an alternative for an unknown rule refuses the start. So are the words of its
``dose_forms``: which say that an order goes on the skin (diclofenac gel is no systemic
diclofenac), and which only say how a medicine is given, never what it is.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from service.knowledge.files import read_knowledge_file
from service.knowledge.model import KnowledgeBase, KnowledgeBaseError, Layer

FILE = "medications.yaml"

# Between the ingredients a combination's name lists: "Ibuprofen 200 mg / Acetaminophen 500 mg",
# "Paracetamol and ibuprofen", "paracetamol + caffeine". Not "with" nor a comma, which names also
# use for a brand or a form ("[Advil Dual Action with Acetaminophen]", "Ibuprofen, tablets").
_BETWEEN_INGREDIENTS = re.compile(r"/|\+|&|\band\b", re.IGNORECASE)
# A part that starts with a number or a unit goes on with a dose ("20 MG/ML", "5% w/w", "400 mg/day")
# and names no ingredient: its first word must have three letters or more and be no unit.
_LEADING_WORD = re.compile(r"\W*([^\W\d_]{3,})")
_UNITS = frozenset(
    {"mcg", "meq", "mmol", "unt", "unit", "units", "actuat", "dose", "doses", "hour", "hours", "day", "days"}
    | {"week", "weeks", "gram", "grams", "milligram", "milligrams", "microgram", "micrograms", "litre", "liter"}
)
_WORD = re.compile(r"[^\W\d_]{3,}")  # a word that may be a name: units such as "mg" and "ml" are shorter
_BRACKETS = re.compile(r"[()\[\]{}]")  # a part may hold half a pair: "tramadol) tablets"
_EDGES = string.whitespace + ",;:.-"

_codes = fields.List(fields.String(validate=validate.Length(min=1)), load_default=list)


class _CodesSchema(Schema):
    rxnorm = _codes
    atc = _codes
    snomed = _codes


class _MedicationSchema(Schema):
    id = fields.String(required=True, validate=validate.Length(min=1))
    display = fields.String(required=True, validate=validate.Length(min=1))
    drug_classes = fields.List(fields.String(), required=True)
    codes = fields.Nested(_CodesSchema, load_default=dict)
    combinations = fields.Nested(_CodesSchema, load_default=dict)
    text = fields.List(fields.String(validate=validate.Length(min=3)), required=True, validate=validate.Length(min=1))
    checked = fields.Boolean(load_default=True)
    topical = fields.String(load_default=None, validate=validate.Length(min=1))


class _AlternativeSchema(Schema):
    rule = fields.String(required=True)
    medication = fields.String(required=True)


_form_words = fields.List(fields.String(validate=validate.Regexp(r"^[a-z]{3,}$")), required=True)


class _DoseFormsSchema(Schema):
    topical = _form_words
    systemic = _form_words
    other = _form_words


class _TableSchema(Schema):
    systems = fields.Dict(keys=fields.String(validate=validate.OneOf(("rxnorm", "atc", "snomed"))), values=fields.Url())
    dose_forms = fields.Nested(_DoseFormsSchema, required=True)
    medications = fields.List(fields.Nested(_MedicationSchema), required=True, validate=validate.Length(min=1))
    alternatives = fields.List(fields.Nested(_AlternativeSchema), load_default=list)


@dataclass(frozen=True)
class Medication:
    id: str
    display: str
    drug_classes: tuple[str, ...]
    codings: tuple[tuple[str, str], ...]  # (system URI, code), the first is the preferred one
    names: tuple[str, ...]
    # False: recognised, never checked (aspirin: its name cannot tell an antiplatelet from an NSAID
    # dose). Known so that beside a checked medicine it is not read as another name for that one.
    checked: bool = True
    topical: str | None = None  # the entry it is as an order on the skin says (diclofenac: topical diclofenac)
    # codes of products holding it with other ingredients not named (ATC "ibuprofen, combinations")
    combinations: tuple[tuple[str, str], ...] = ()


_Found = tuple[re.Match[str], re.Pattern[str], Medication]


@dataclass(frozen=True)
class Identified:
    """What an order names: the table's medicines it checks (every ingredient of a combination),
    and, beside them, what it holds that is not checked: a medicine the table leaves unchecked on
    purpose (aspirin) or a part of its name that names an ingredient the table cannot map."""

    medications: tuple[Medication, ...]
    unchecked: tuple[str, ...]


@dataclass(frozen=True)
class DoseForms:
    """The words of an order that say how it is given (``dose_forms`` in the table)."""

    topical: re.Pattern[str]  # on the skin: a gel, a patch
    systemic: re.Pattern[str]  # into the body: a tablet, an injection
    words: frozenset[str]  # every one of them, and the other forms and the units: words naming no medicine

    def into_the_body(self, texts: list[str]) -> bool:
        """Whether one of ``texts`` says the order is taken into the body: a tablet, an injection."""
        return any(self.systemic.search(t) for t in texts)

    def on_the_skin(self, texts: list[str]) -> bool:
        """Whether ``texts`` say the order goes on the skin, and none says otherwise: an order
        that says nothing of its route, or both, is taken as systemic (the safe side)."""
        return any(self.topical.search(t) for t in texts) and not self.into_the_body(texts)


@dataclass(frozen=True)
class MedicationTable:
    medications: dict[str, Medication]
    alternatives: dict[str, str]  # contraindication rule id -> medication id
    _by_code: dict[tuple[str, str], Medication] = field(repr=False)
    _by_combination_code: dict[tuple[str, str], Medication] = field(repr=False)
    _by_name: tuple[tuple[re.Pattern[str], Medication], ...] = field(repr=False)
    _forms: DoseForms = field(repr=False)

    def by_code(self, system: str | None, code: str | None) -> Medication | None:
        return self._by_code.get((system or "", code or ""))

    def identify(
        self, codings: Iterable[tuple[str | None, str | None]], texts: Iterable[str], forms: Iterable[str] = ()
    ) -> Identified:
        """Every medicine an order's ``codings`` (system, code) and ``texts`` name, not only the
        first: a combination of paracetamol and an NSAID is checked for the NSAID too, whether it
        comes as two codings or as one name listing both. A name found in a text that is a word of
        another medicine's name the order gives is that medicine ("Diclofenac 1% gel" coded as
        topical diclofenac is no systemic diclofenac besides), unless the order says it goes into
        the body ("Diclofenac 50 mg oral tablets" coded so is). A medicine with a topical entry is
        that entry when the texts, or ``forms`` (what the order says of its route or dose form
        beside its medicine's name), say it goes on the skin (:meth:`DoseForms.on_the_skin`):
        "diclofenac sodium 10 MG/ML Topical Gel" was systemic diclofenac, whatever its code.

        ``unchecked``, when some medicine is checked: what the order holds beside it that is not
        (aspirin, coded or named, beside acetaminophen; the parts of a text naming a medicine of
        the table that name an ingredient it cannot map, "Caffeine 65 mg"; a text naming none of
        them with a word that says more than how it is given, a brand the table lacks beside
        paracetamol's code): the order must not pass as checked for them. An unknown coding is
        read as another name for what the other codes and the texts say: a code has no words.
        A code for a combination (ATC ``M01AE51``, "ibuprofen, combinations") names its
        medicine, and the other ingredients it does not name are not checked.
        """
        texts, codes = list(texts), [(system or "", code or "") for system, code in codings]
        combined = [(code, m) for system, code in codes if (m := self._by_combination_code.get((system, code)))]
        coded = [m for system, code in codes if (m := self.by_code(system, code))] + [m for _, m in combined]
        found = [(text, self._names_in(text)) for text in texts]
        spoken = dict.fromkeys((pattern, m) for _, names in found for _, pattern, m in names)  # each name once
        given = list(dict.fromkeys(coded + [m for _, m in spoken]))
        how = [*texts, *forms]
        systemic = self._forms.into_the_body(how)
        named = [m for pattern, m in spoken if systemic or not _word_of_another_name(pattern, m, given)]
        on_the_skin = self._forms.on_the_skin(how)
        everything = dict.fromkeys(
            self.medications[m.topical] if on_the_skin and m.topical else m for m in coded + named
        )
        medications = tuple(m for m in everything if m.checked)
        unchecked = [m.display for m in everything if not m.checked]
        unchecked += [f"the other ingredients of {code}" for code, _ in combined]
        unchecked += [part for text, names in found for part in _unrecognised_parts(text, names, self._forms.words)]
        return Identified(medications, tuple(dict.fromkeys(unchecked)) if medications else ())

    def _names_in(self, text: str) -> list[_Found]:
        """The table's names in ``text`` as whole words, in the text's order. Longer names are
        taken first, and a name inside one already taken is part of it ("voltarol" in
        "Voltarol Emulgel" names topical diclofenac, not systemic diclofenac besides)."""
        taken: list[_Found] = []
        covered = bytearray(len(text))  # the characters a taken name covers: linear in the text
        for pattern, medication in self._by_name:
            for match in pattern.finditer(text):
                if not any(covered[match.start() : match.end()]):
                    taken.append((match, pattern, medication))
                    _cover(covered, match)
        return sorted(taken, key=lambda found: found[0].start())


def _cover(covered: bytearray, match: re.Match[str]) -> None:
    """Marks the characters ``match`` takes, so that telling whether a span holds a name costs
    the span's length, not the number of names found (a text may repeat one thousands of times)."""
    covered[match.start() : match.end()] = b"\1" * (match.end() - match.start())


def _word_of_another_name(pattern: re.Pattern[str], medication: Medication, given: list[Medication]) -> bool:
    """Whether the name ``pattern`` found is a word of another given medicine's own name."""
    return any(other.id != medication.id and any(pattern.search(n) for n in other.names) for other in given)


def _unrecognised_parts(text: str, names: list[_Found], how_given: frozenset[str]) -> list[str]:
    """The parts of ``text``, cut between ingredients, that may name an ingredient but none of
    ``names``. Beside a name, a part whose first word is no unit or dose form: aspirin and
    caffeine in "Aspirin 250 mg / Acetaminophen 250 mg / Caffeine 65 mg" ("20 MG/ML" is a dose).
    In a text that names none of the table's medicines, a part with any word that says more
    than how it is given (``how_given``): "Dualfen 500 mg/150 mg tablets", a paracetamol and
    ibuprofen brand coded by its paracetamol only, was read as another name for paracetamol;
    "500 mg film-coated tablets" still is."""
    covered = bytearray(len(text))
    for match, _, _ in names:
        _cover(covered, match)
    bounds = [0, *(i for between in _BETWEEN_INGREDIENTS.finditer(text) for i in between.span()), len(text)]
    parts = []
    for start, end in zip(bounds[::2], bounds[1::2], strict=True):
        part = text[start:end]
        if names:
            word = _LEADING_WORD.match(part)
            words = [word.group(1)] if word and not any(covered[start:end]) else []
        else:
            words = _WORD.findall(part)
        if any(w.lower() not in how_given for w in words):
            parts.append(" ".join(_BRACKETS.sub(" ", part).split()).strip(_EDGES))
    return parts


def _medication(entry: dict[str, Any], systems: dict[str, str], classes: set[str]) -> Medication:
    """One entry of the table, its drug classes known to the rules and its codes' systems named."""
    for drug_class in entry["drug_classes"]:
        if drug_class not in classes:
            raise KnowledgeBaseError(FILE, entry["id"], f"drug class '{drug_class}' is named by no care item or rule")
    if entry["drug_classes"] and not entry["checked"]:
        raise KnowledgeBaseError(FILE, entry["id"], "a medication that is not checked has no drug classes")

    def coded(codes_by_kind: dict[str, list[str]]) -> tuple[tuple[str, str], ...]:
        codings = []
        for kind, codes in codes_by_kind.items():
            if codes and kind not in systems:
                raise KnowledgeBaseError(FILE, entry["id"], f"no system URI for '{kind}' codes")
            codings += [(systems[kind], code) for code in codes]
        return tuple(codings)

    return Medication(
        id=entry["id"],
        display=entry["display"],
        drug_classes=tuple(entry["drug_classes"]),
        codings=coded(entry["codes"]),
        combinations=coded(entry["combinations"]),
        names=tuple(entry["text"]),
        checked=entry["checked"],
        topical=entry["topical"],
    )


def _topical_entries(medications: dict[str, Medication]) -> None:
    """Each medicine's topical entry is a checked medicine with none of its own."""
    for medication in medications.values():
        topical = medications.get(medication.topical) if medication.topical else None
        if medication.topical and (topical is None or not topical.checked or topical.topical):
            raise KnowledgeBaseError(
                FILE, medication.id, f"topical '{medication.topical}' is no checked medicine without one"
            )


def _dose_forms(raw: dict[str, list[str]]) -> DoseForms:
    def any_of(words: list[str]) -> re.Pattern[str]:
        return re.compile(rf"\b(?:{'|'.join(map(re.escape, words))})\b", re.IGNORECASE)

    return DoseForms(
        topical=any_of(raw["topical"]),
        systemic=any_of(raw["systemic"]),
        words=_UNITS | {w for words in raw.values() for w in words},
    )


def load_medications(directory: Path, kb: KnowledgeBase) -> MedicationTable:
    try:
        raw = _TableSchema().load(read_knowledge_file(directory, FILE) or {})
    except ValidationError as error:
        raise KnowledgeBaseError(FILE, "file", str(error.messages)) from None
    classes = {c.drug_class for c in kb.care.values() if c.drug_class}
    classes |= {d for r in kb.rules_in(Layer.CONTRAINDICATION) for d in (*r.drug_classes, *r.caution_drug_classes)}
    systems = raw.get("systems", {})
    medications: dict[str, Medication] = {}
    by_code: dict[tuple[str, str], Medication] = {}
    for entry in raw["medications"]:
        if entry["id"] in medications:
            raise KnowledgeBaseError(FILE, entry["id"], "duplicate medication id")
        medication = _medication(entry, systems, classes)
        for coding in (*medication.codings, *medication.combinations):
            if coding in by_code:
                raise KnowledgeBaseError(FILE, entry["id"], f"code {coding[1]} is also mapped to {by_code[coding].id}")
            by_code[coding] = medication
        medications[medication.id] = medication
    _topical_entries(medications)
    contraindications = {r.id for r in kb.rules_in(Layer.CONTRAINDICATION)}
    alternatives = {}
    for alternative in raw["alternatives"]:
        if alternative["rule"] not in contraindications:
            raise KnowledgeBaseError(FILE, alternative["rule"], "alternative for an unknown contraindication rule")
        if alternative["medication"] not in medications:
            raise KnowledgeBaseError(FILE, alternative["rule"], f"unknown medication '{alternative['medication']}'")
        if not medications[alternative["medication"]].checked:
            raise KnowledgeBaseError(FILE, alternative["rule"], f"'{alternative['medication']}' is not checked")
        alternatives[alternative["rule"]] = alternative["medication"]
    names = sorted(((n, m) for m in medications.values() for n in m.names), key=lambda pair: -len(pair[0]))
    return MedicationTable(
        medications=medications,
        alternatives=alternatives,
        _by_code={c: m for c, m in by_code.items() if c in m.codings},
        _by_combination_code={c: m for m in medications.values() for c in m.combinations},
        _by_name=tuple((re.compile(rf"\b{re.escape(n)}\b", re.IGNORECASE), m) for n, m in names),
        _forms=_dose_forms(raw["dose_forms"]),
    )
