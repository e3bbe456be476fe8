"""The intake Questionnaire and our local CodeSystem, built from the knowledge base.

Both are published as ``experimental``: the knowledge base behind them has not been
validated prospectively. Their ``version`` is the knowledge base's, and their ``date`` the
month of that release (knowledge-base versions are ``YYYY.MM.n``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from fhir.resources.R4B.codesystem import CodeSystem
from fhir.resources.R4B.questionnaire import Questionnaire

from service import vocabulary as vocab
from service.interop.fhir.canonical import CODE_SYSTEM_ID, QUESTIONNAIRE_ID
from service.interop.fhir.terminology import Coding, Terminology
from service.knowledge.clinician import Specialty
from service.knowledge.model import KnowledgeBase, KnowledgeBaseError
from service.knowledge.translations import Catalogue

PUBLISHER = "Buttock and hip pain decision support service"
PREGNANT = {"question": "pregnant", "operator": "=", "answerBoolean": True}
_RELEASE = re.compile(r"^(\d{4})\.(0[1-9]|1[0-2])\.")


def release_date(kb: KnowledgeBase) -> str:
    """The FHIR ``date`` (year and month) of the knowledge-base release."""
    match = _RELEASE.match(kb.version)
    if match is None:
        raise KnowledgeBaseError("meta.yaml", "version", "must start with the release year and month, YYYY.MM.")
    return f"{match[1]}-{match[2]}"


def published(kb: KnowledgeBase) -> dict[str, Any]:
    """What every resource we publish says about itself."""
    return {
        "version": kb.version,
        "status": "active",
        "experimental": True,
        "date": release_date(kb),
        "publisher": PUBLISHER,
    }


TRANSLATION = "http://hl7.org/fhir/StructureDefinition/translation"


class _Wording:
    """A text element in the served language, with FHIR ``translation`` extensions for the others."""

    def __init__(self, texts: Catalogue, others: Sequence[Catalogue]) -> None:
        self.texts = texts
        self.others = others

    def __call__(self, element: str, lookup: Callable[[Catalogue], str]) -> dict[str, Any]:
        said: dict[str, Any] = {element: lookup(self.texts)}
        if self.others:
            said[f"_{element}"] = {
                "extension": [
                    {
                        "url": TRANSLATION,
                        "extension": [
                            {"url": "lang", "valueCode": other.tag},
                            {"url": "content", "valueString": lookup(other)},
                        ],
                    }
                    for other in self.others
                ]
            }
        return said

    def item(self, link_id: str, **rest: Any) -> dict[str, Any]:
        return {"linkId": link_id, **self("text", lambda t: t.questionnaire(f"items.{link_id}")), **rest}

    def finding(self, finding: str, **rest: Any) -> dict[str, Any]:
        return {"linkId": finding, **self("text", lambda t: t.question(finding)), **rest}

    def option(self, coding: Coding, label: str) -> dict[str, Any]:
        return {"valueCoding": {**coding, **self("display", lambda t: t.questionnaire(label))}}

    def choice(self, link_id: str, system: str, values: tuple[str, ...], **extra: Any) -> dict[str, Any]:
        """A choice item over one of the record's enumerations (its labels in ``texts.yaml``)."""
        options = [self.option({"system": system, "code": v}, f"options.{link_id}.{v}") for v in values]
        return self.item(link_id, type="choice", answerOption=options, **extra)


def answer_options(terms: Terminology, say: _Wording) -> list[dict[str, Any]]:
    """Yes / no / unknown, for every finding."""
    return [
        say.option({"system": terms.systems["yes_no"], "code": "Y"}, "answers.Y"),
        say.option({"system": terms.systems["yes_no"], "code": "N"}, "answers.N"),
        say.option({"system": terms.systems["null_flavor"], "code": "UNK"}, "answers.UNK"),
    ]


def _enabled_when(finding: str, terms: Terminology) -> dict[str, Any]:
    """The ``enableWhen`` of a finding's item: on ``pregnant`` for the findings that matter only
    in pregnancy; on ``sex`` for those a woman may need to answer whether or not she is known
    to be pregnant (shown unless the sex is answered male: R4 leaves open whether ``!=``
    holds for an unanswered question, so "not answered" is said as well)."""
    if finding in terms.pregnancy_only:
        return {"enableWhen": [PREGNANT]}
    if finding in terms.not_male_only:
        male = {"system": terms.systems["gender"], "code": "male"}
        return {
            "enableWhen": [
                {"question": "sex", "operator": "exists", "answerBoolean": False},
                {"question": "sex", "operator": "!=", "answerCoding": male},
            ],
            "enableBehavior": "any",
        }
    return {}


def build_questionnaire(
    kb: KnowledgeBase, terms: Terminology, texts: Catalogue, others: Sequence[Catalogue]
) -> dict[str, Any]:
    """Every contract field and every input finding (yes / no / unknown), validated as R4, worded
    in ``texts``' language with translations into the ``others``."""
    say = _Wording(texts, others)
    fields = terms.fields
    findings = [
        say.finding(
            f,
            type="choice",
            answerOption=answer_options(terms, say),
            code=[terms.findings[f]],
            **_enabled_when(f, terms),
        )
        for f in kb.input_findings
    ]
    # age, sex and the week are not required: a patient who does not know (or will not say)
    # leaves them blank and is assessed for every value they could have; where it hurts is
    items = [
        say.item("age", type="integer", code=[fields["age"]]),
        say.choice("sex", terms.systems["gender"], vocab.SEXES),
        say.item("pregnant", type="boolean", code=[fields["pregnant"]]),
        say.item("gestational_week", type="integer", code=[fields["gestational_week"]], enableWhen=[PREGNANT]),
        say.choice("locations", terms.local, vocab.LOCATIONS, required=True, repeats=True),
        say.choice("side", terms.local, vocab.SIDES),
        say.choice("onset", terms.local, vocab.ONSETS),
        say.item("duration_days", type="decimal"),
        say.item("severity", type="integer", code=[fields["severity"]]),
        say.choice("course", terms.local, vocab.COURSES),
        say.item("findings", type="group", item=findings),
    ]
    questionnaire = {
        "resourceType": "Questionnaire",
        "id": QUESTIONNAIRE_ID,
        "language": texts.tag,
        "url": terms.questionnaire,
        "name": "ButtockPainIntake",
        **say("title", lambda t: t.questionnaire("title")),
        **published(kb),
        "subjectType": ["Patient"],
        "item": items,
    }
    return Questionnaire.model_validate(questionnaire).model_dump(mode="json", exclude_none=True)


def _concept(code: str, definition: str, display: str | None = None) -> dict[str, str]:
    return {"code": code, "display": display or code.replace("_", " "), "definition": definition}


def build_code_system(kb: KnowledgeBase, terms: Terminology, specialties: Mapping[str, Specialty]) -> dict[str, Any]:
    """Our published local codes: the contract's field values, every finding id and the referral
    specialties SNOMED CT does not name with confidence; each with a definition."""
    values = (
        ("Pain location", vocab.LOCATIONS),
        ("Side of the pain", vocab.SIDES),
        ("Onset of the pain", vocab.ONSETS),
        ("Course of the pain", vocab.COURSES),
    )
    concepts = [_concept(v, f"{what}: {v.replace('_', ' ')}.") for what, group in values for v in group]
    for f in kb.input_findings:
        finding = kb.findings[f]
        concepts.append(_concept(f, finding.question or finding.description or f"Finding: {f.replace('_', ' ')}."))
    concepts += [_concept(name, f"The symptom record's field '{name}'.") for name in terms.fields]
    concepts += [
        _concept(s.id, f"Referral specialty: {s.display}.", s.display) for s in specialties.values() if s.snomed is None
    ]
    code_system = {
        "resourceType": "CodeSystem",
        "id": CODE_SYSTEM_ID,
        "url": terms.local,
        "name": "ButtockPainCodes",
        "title": "Buttock and hip pain decision support codes",
        **published(kb),
        "content": "complete",
        "caseSensitive": True,
        "concept": list({c["code"]: c for c in concepts}.values()),
    }
    return CodeSystem.model_validate(code_system).model_dump(mode="json", exclude_none=True)
