"""Every patient-facing text in every language the service speaks.

English is the source and stays where clinicians review it: finding questions in
``findings.yaml``, cause names in ``causes.yaml``, reasons in the rule files, care texts in
``care.yaml``, advice and referral texts in ``urgency.yaml``, the disclaimer in ``meta.yaml``,
why an interview is complete in ``interview.yaml``, and the few texts no rule owns in
``texts.yaml``. Each other language is one catalogue,
``rules/translations/<language>.yaml``, keyed by the same ids and checked at start like a rule
file: a missing or an extra key, or a ``{placeholder}`` lost in translation, refuses the start
naming the file and the key. A catalogue's header says who translated it and whether an
independent reviewer has checked it; ``GET /v1/knowledge-base`` publishes that.

Texts are looked up per language when an answer is written (the assessment itself holds ids
only), so nothing is copied per request.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from service import vocabulary as vocab
from service.knowledge.files import TEXTS_FILE, TRANSLATIONS_DIR, read_knowledge_file, translation_files
from service.knowledge.model import KnowledgeBase, KnowledgeBaseError, Layer

ENGLISH = "en"
REVIEW_STATUSES = ("machine_drafted", "reviewed")

_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_text = fields.String(required=True, validate=validate.Length(min=1))


class _ReviewSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf(REVIEW_STATUSES))
    reviewer = fields.String(load_default=None)
    date = fields.Date(load_default=None)
    notes = fields.String(load_default=None)
    unreviewed = fields.List(fields.String(), load_default=list)  # keys translated since the review

    @validates_schema
    def _reviewed_names_who_and_when(self, data: dict, **_: Any) -> None:
        if data["status"] == "reviewed" and not (data.get("reviewer") and data.get("date")):
            raise ValidationError("a reviewed catalogue names its reviewer and the date of the review")


class _CatalogueSchema(Schema):
    language = fields.String(required=True, validate=validate.Regexp(r"^[a-z]{2,3}$"))
    tag = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$"))
    name = _text
    translator = _text
    review = fields.Nested(_ReviewSchema, required=True)
    texts = fields.Dict(keys=fields.String(), required=True)


@dataclass(frozen=True)
class Review:
    status: str  # machine_drafted | reviewed
    reviewer: str | None = None
    date: str | None = None  # ISO date of the review
    notes: str | None = None
    unreviewed: tuple[str, ...] = ()  # texts translated since the review, awaiting the next one


@dataclass(frozen=True)
class Catalogue:
    """The patient-facing texts of one language, looked up by the knowledge base's ids."""

    language: str  # what clients ask for: en, zh, es
    tag: str  # the BCP 47 tag answers carry (Content-Language, FHIR language)
    name: str  # the language's name in that language
    translator: str
    review: Review
    texts: Mapping[str, str]  # "findings.saddle_anesthesia" -> the question, and so on
    whys: Mapping[str, str]  # rule id -> why a question that rule needs is asked

    def question(self, finding: str) -> str:
        return self.texts[f"findings.{finding}"]

    def cause(self, cause: str) -> str:
        return self.texts[f"causes.{cause}"]

    def reason(self, rule: str) -> str:
        """Why an escalation or contraindication rule concluded what it did, for the patient."""
        return self.texts[f"reasons.{rule}"]

    def care(self, item: str) -> str:
        return self.texts[f"care.{item}"]

    def advice(self, level: str, variant: str | None) -> str:
        """A level's advice, or its variant for a finding (``advice_when``) when one applies."""
        return self.texts[f"levels.{level}.advice" if variant is None else f"levels.{level}.advice_when.{variant}"]

    def referral(self, level: str) -> str:
        return self.texts[f"levels.{level}.referral"]

    def deferred(self, level: str) -> str:
        """Why care is held back at this urgency."""
        return self.texts[f"levels.{level}.defers_care"]

    def why(self, rule: str) -> str:
        return self.whys[rule]

    @property
    def disclaimer(self) -> str:
        return self.texts["disclaimer"]

    def questionnaire(self, key: str) -> str:
        return self.texts[f"questionnaire.{key}"]

    def stop_reason(self, reason: str) -> str:
        """Why the interview is complete (a stop reason of ``rules/interview.yaml``)."""
        return self.texts[f"interview.{reason}"]


@dataclass(frozen=True)
class Languages:
    """English and every translation, English first; built once at start."""

    catalogues: Mapping[str, Catalogue]

    @property
    def english(self) -> Catalogue:
        return self.catalogues[ENGLISH]

    def __getitem__(self, language: str) -> Catalogue:
        return self.catalogues[language]

    def __iter__(self) -> Iterator[Catalogue]:
        return iter(self.catalogues.values())

    def besides(self, catalogue: Catalogue) -> list[Catalogue]:
        """Every other language (what a resource in ``catalogue``'s language is translated into)."""
        return [other for other in self if other is not catalogue]


def load_languages(directory: Path, kb: KnowledgeBase) -> Languages:
    """English from the knowledge base and ``texts.yaml``, then every catalogue, each checked."""
    source = english_texts(kb, _service_texts(directory))
    english = _catalogue(
        kb,
        source,
        language=ENGLISH,
        tag=ENGLISH,
        name="English",
        translator="source text",
        review=Review("reviewed", notes="The source: reviewed with the knowledge base."),
    )
    catalogues = {ENGLISH: english}
    for name in translation_files(directory):
        catalogue = _load_catalogue(directory, name, kb, source)
        catalogues[catalogue.language] = catalogue
    return Languages(catalogues)


def english_texts(kb: KnowledgeBase, service_texts: Mapping[str, str]) -> dict[str, str]:
    """Every patient-facing English text by key: the key set every catalogue must match."""
    texts = {"disclaimer": kb.disclaimer}
    texts |= {f"findings.{f.id}": f.question for f in kb.findings.values() if f.question}
    texts |= {f"causes.{c.id}": c.name for c in kb.causes.values()}
    texts |= {
        f"reasons.{r.id}": r.reason
        for r in kb.rules.values()
        if r.reason and r.layer in (Layer.ESCALATION, Layer.CONTRAINDICATION)
    }
    texts |= {f"care.{item.id}": item.text for item in kb.care.values()}
    for level in kb.levels.values():
        texts[f"levels.{level.id}.advice"] = level.advice
        texts |= {f"levels.{level.id}.advice_when.{f}": text for f, text in level.advice_when.items()}
        texts[f"levels.{level.id}.referral"] = level.referral
        if level.defers_care:
            texts[f"levels.{level.id}.defers_care"] = level.defers_care
    texts |= {f"interview.{reason}": text for reason, text in kb.interview.stop_reasons.items()}
    return texts | dict(service_texts)


def _service_texts(directory: Path) -> dict[str, str]:
    """``texts.yaml`` flattened; its Questionnaire labels must cover every choice value."""
    raw = read_knowledge_file(directory, TEXTS_FILE)
    if not isinstance(raw, dict):
        raise KnowledgeBaseError(TEXTS_FILE, "file", "expected a mapping of texts")
    texts = _flatten(TEXTS_FILE, raw)
    choices = {"sex": vocab.SEXES, "locations": vocab.LOCATIONS, **vocab.CHOICE_FIELDS}
    for choice, values in choices.items():
        for value in values:
            if f"questionnaire.options.{choice}.{value}" not in texts:
                raise KnowledgeBaseError(TEXTS_FILE, f"questionnaire.options.{choice}.{value}", "no label")
    if "questions.could_lead" not in texts:
        raise KnowledgeBaseError(TEXTS_FILE, "questions.could_lead", "missing")
    return texts


def _flatten(file: str, tree: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested mappings as dotted keys; every leaf must be a non-empty string."""
    flat: dict[str, str] = {}
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat |= _flatten(file, value, f"{path}.")
        elif isinstance(value, str) and value.strip():
            flat[path] = value.strip()
        else:
            raise KnowledgeBaseError(file, path, "expected a non-empty text (quote 'Yes', 'No' and the like)")
    return flat


def _translations(file: str, tree: Mapping[str, Any], language: str, prefix: str = "") -> dict[str, tuple[str, str]]:
    """Dotted key -> (the English it was translated from, the translation).

    Each text is a leaf ``{en: ..., <language>: ...}``: the English beside its translation, for
    reviewers, and so that a reworded English text is caught (see :func:`_load_catalogue`).
    """
    pairs: dict[str, tuple[str, str]] = {}
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if not isinstance(value, Mapping):
            raise KnowledgeBaseError(file, path, f"expected {{en: <English>, {language}: <translation>}}")
        if set(value) == {ENGLISH, language}:
            english, translated = _flatten(file, {path: value[ENGLISH]}), _flatten(file, {path: value[language]})
            pairs[path] = (english[path], translated[path])
        else:
            pairs |= _translations(file, value, language, f"{path}.")
    return pairs


def _load_catalogue(directory: Path, name: str, kb: KnowledgeBase, source: Mapping[str, str]) -> Catalogue:
    try:
        raw = _CatalogueSchema().load(read_knowledge_file(directory, name) or {})
    except ValidationError as error:
        raise KnowledgeBaseError(name, "header", str(error.messages)) from None
    if f"{TRANSLATIONS_DIR}/{raw['language']}.yaml" != name or raw["language"] == ENGLISH:
        raise KnowledgeBaseError(name, "language", f"'{raw['language']}' must name the file and not be English")
    pairs = _translations(name, raw["texts"], raw["language"])
    for missing in sorted(source.keys() - pairs.keys()):
        raise KnowledgeBaseError(name, missing, f"no translation (English: {source[missing]!r})")
    for extra in sorted(pairs.keys() - source.keys()):
        raise KnowledgeBaseError(name, extra, "not a text of the knowledge base (misspelt or removed id?)")
    texts = {}
    for key, english in source.items():  # English key order: the order reviewers read
        translated_from, texts[key] = pairs[key]
        if translated_from != english.strip():
            raise KnowledgeBaseError(
                name, key, f"translates an older English text; the English is now {english!r} (update both)"
            )
        if set(_PLACEHOLDER.findall(english)) != set(_PLACEHOLDER.findall(texts[key])):
            raise KnowledgeBaseError(name, key, f"must keep the placeholders of the English: {english!r}")
    review = raw["review"]
    for key in review["unreviewed"]:
        if key not in source:
            raise KnowledgeBaseError(name, f"review.unreviewed.{key}", "not a text of the knowledge base")
    return _catalogue(
        kb,
        texts,
        language=raw["language"],
        tag=raw["tag"],
        name=raw["name"],
        translator=raw["translator"],
        review=Review(
            status=review["status"],
            reviewer=review["reviewer"],
            date=review["date"].isoformat() if review["date"] else None,
            notes=review["notes"],
            unreviewed=tuple(review["unreviewed"]),
        ),
    )


def _catalogue(kb: KnowledgeBase, texts: dict[str, str], **header: Any) -> Catalogue:
    """A catalogue with its question reasons worked out once: the first rule a question is for
    says why it is asked (a red flag's reason, or the cause a "yes" could put first)."""
    could_lead = texts["questions.could_lead"]
    whys = {r.id: texts[f"reasons.{r.id}"] for r in kb.rules_in(Layer.ESCALATION)}
    whys |= {
        r.id: could_lead.format(cause=texts[f"causes.{r.cause_id}"]) for r in kb.rules_in(Layer.EVIDENCE) if r.supports
    }
    return Catalogue(texts=texts, whys=whys, **header)
