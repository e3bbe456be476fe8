"""CDS Hooks cards from an assessment: what a clinician sees in the EHR.

One summary card (urgency, reasons, causes, care, what was left out and why), a card with
the questions worth asking next, and cards for findings recorded both ways and for what
could not be used or is still missing. Text that came from FHIR (codes, link ids) is shown
as a code span, never as live markdown: an EHR's data cannot add links or formatting to a card.
Cards speak to clinicians (``rules/clinician.yaml``), cite rule ids and sources, and follow
CDS Hooks 2.0 to the letter: ``selectionBehavior`` wherever there are suggestions,
``overrideReasons`` on warning and critical cards, and no null, empty list or empty object.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from service.interop.fhir.intake import Intake, told
from service.interop.fhir.terminology import Coding, Terminology
from service.knowledge.clinician import ClinicianTexts, Specialty
from service.knowledge.model import KnowledgeBase
from service.knowledge.translations import Catalogue
from service.reasoning.assessment import Assessment, Reason
from service.reasoning.unrecorded import Bracket

Card = dict[str, Any]

INDICATOR = {"emergency": "critical", "urgent": "warning", "routine": "info", "self_care": "info"}
SUMMARY_MAX = 140  # CDS Hooks 2.0: a card summary SHOULD be under 140 characters
SNOMED = "http://snomed.info/sct"
REFERRAL = {"system": SNOMED, "code": "3457005", "display": "Patient referral"}
PRIORITY = {"emergency": "stat", "urgent": "urgent"}  # ServiceRequest.priority; otherwise routine
# how the rules read each of the complaint's fields a record leaves unknown
_READ_AS = {
    "onset": "not sudden",
    "severity": "not severe",
    "course": "not getting worse",
    "side": "not one-sided",
    "duration": "new, under 12 weeks",
}


def _field_name(path: str) -> str:
    """A complaint field as a card names it: ``complaint.duration_days`` is the duration."""
    return path.removeprefix("complaint.").removesuffix("_days")


def _words(identifier: str) -> str:
    return identifier.replace("_", " ")


def listed(names: tuple[str, ...]) -> str:
    """Names as a sentence lists them: "age", "age and sex", "age, sex and pain location"."""
    return " and ".join(names) if len(names) < 3 else f"{', '.join(names[:-1])} and {names[-1]}"


def _not_recorded(bracketed: Bracket) -> str:
    """What the record lacks: "The record has no age.", or for values the records narrow
    down, what they allow ("… gives the age only as 49 or 50 …")."""
    narrowed = bracketed.candidates
    parts = [f"gives the {name} only as {told(values)}" for name, values in narrowed.items()]
    if none := tuple(name for name in bracketed.missing if name not in narrowed):
        parts.insert(0, f"has no {listed(none)}")
    why = (
        " (a date given only to the month or the year or as a period, a value given only as a bound, or records "
        "that disagree)"
        if narrowed
        else ""
    )
    return f"The record {' and '.join(parts)}{why}."


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, list | dict) and not value)


def compact(value: Any) -> Any:
    """``value`` without nulls, empty lists and empty objects, at any depth (CDS Hooks 2.0)."""
    if isinstance(value, dict):
        pruned = {k: compact(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if not _empty(v)}
    if isinstance(value, list):
        return [v for v in (compact(item) for item in value) if not _empty(v)]
    return value


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_BACKTICKS = re.compile(r"`+")


def code_span(text: str) -> str:
    """``text`` as one CommonMark code span: shown literally, whatever markdown or HTML it holds."""
    flat = _CONTROL.sub(" ", text)  # a line break could end the span's paragraph
    fence = "`" * (max((len(run) for run in _BACKTICKS.findall(flat)), default=0) + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{fence}{pad}{flat}{pad}{fence}"


@dataclass(frozen=True)
class CardWriter:
    """Writes cards that all name the same source: this service and its knowledge-base version.

    ``terms`` is the coding table served at ``base``, the public base URL links point under;
    ``texts`` the English patient wording the cards quote (cause names, care, questions).
    """

    kb: KnowledgeBase
    clinician: ClinicianTexts
    texts: Catalogue
    terms: Terminology
    base: str

    @property
    def source(self) -> dict[str, str]:
        return {
            "label": f"Buttock pain decision support (knowledge base {self.kb.version})",
            "url": f"{self.base}/v1/knowledge-base",
        }

    def cards(
        self,
        assessment: Assessment,
        intake: Intake,
        patient_id: str,
        bracketed: Bracket | None = None,
    ) -> list[Card]:
        """The summary of ``assessment`` and the cards that go with it; ``bracketed``: the
        record lacked values and ``assessment`` is what holds whatever they are."""
        unrecorded = bracketed.missing if bracketed else ()
        narrowed = bool(bracketed and bracketed.candidates)
        cards = [self.summary(assessment, patient_id, unrecorded, len(intake.unread), narrowed=narrowed)]
        if bracketed:
            cards.append(self.unrecorded(bracketed))
        if assessment.interview.record_fields:
            cards.append(self.record_fields(assessment))
        if intake.conflicts:
            cards.append(self.conflicts(intake))
        if intake.differing:
            cards.append(self.differing(intake))
        if assessment.questions:
            cards.append(self.questions(assessment))
        if intake.unmapped:
            cards.append(self.unmapped(intake))
        return cards

    def card(self, summary: str, indicator: str, detail: str, **extra: Any) -> Card:
        short = summary if len(summary) <= SUMMARY_MAX else summary[: SUMMARY_MAX - 1] + "…"
        card = {
            "uuid": str(uuid.uuid4()),
            "summary": short,
            "indicator": indicator,
            "detail": detail,
            "source": self.source,
            **extra,
        }
        if card.get("suggestions"):
            card["selectionBehavior"] = "at-most-one"
        if indicator != "info":
            card["overrideReasons"] = list(self.clinician.override_reasons)
        return compact(card)  # type: ignore[no-any-return]

    def summary(
        self,
        assessment: Assessment,
        patient_id: str,
        unrecorded: tuple[str, ...] = (),
        unread: int = 0,
        *,
        narrowed: bool = False,
    ) -> Card:
        """``unread``: how many Observations and Conditions could not be read; the answer then
        rests on the rest of the record only, and says so instead of "no red flags".
        ``narrowed``: the records allow some of the ``unrecorded`` values only within bounds."""
        urgency = assessment.urgency
        level = urgency.level
        top = self.texts.cause(assessment.causes[0].id) if assessment.causes else "no leading cause"
        lines = [f"**{self.clinician.level(level)}**", ""]
        if unread:
            lines = [
                f"**On the data this service could read only: {unread} coded item(s) in the record could not be "
                "read and may hold a red flag (see the card listing them).**",
                "",
                f"On the rest: {self.clinician.level(level)}",
                "",
            ]
        lines += [f"- {self.clinician.reason(r.rule)} ({r.rule}; {', '.join(r.sources)})" for r in urgency.reasons]
        if assessment.causes:
            lines += ["", "**Possible causes**", ""]
            lines += [
                f"{c.rank}. {self.texts.cause(c.id)} — {c.confidence} ({c.score:.2f}); for: {', '.join(c.supporting)}"
                for c in assessment.causes
            ]
        if assessment.care:
            lines += ["", "**Care** (as worded for the patient)", ""]
            for c in assessment.care:
                lines.append(f"- {self.texts.care(c.id)}{' *(under a clinician)*' if c.requires_clinician else ''}")
                lines += [f"  - Caution: {self.kb.rules[w.rule].rationale} ({w.rule})" for w in c.cautions]
        if assessment.suppressed_care:
            lines += ["", "**Not suggested for this patient**", ""]
            lines += [
                f"- {_words(s.id)}: {' '.join(self.kb.rules[r].rationale for r in s.rules)} ({', '.join(s.rules)})"
                for s in assessment.suppressed_care
            ]
        if unrecorded:
            names = listed(unrecorded)
            what = f"{names.capitalize()} not recorded exactly" if narrowed else f"No {names} recorded"
            lines += [
                "",
                f"_{what}: the urgency shown holds whatever it is; the reasons, causes and care "
                f"are those of one {names} that gives it (see the card on the {names})._",
            ]
        lines += ["", f"_{self.clinician.disclaimer}_"]
        red_flags = urgency.red_flags
        extra: dict[str, Any] = {
            "extension": {
                "urgency": level,
                "red_flags": [f.rule for f in red_flags],
                "causes": [c.id for c in assessment.causes],
                "knowledge_base": {
                    "version": assessment.knowledge_base_version,
                    "sha256": assessment.knowledge_base_sha256,
                },
            }
        }
        specialties = assessment.referral.specialties
        if level != "self_care" and specialties:
            extra["suggestions"] = [self._referral(level, specialties, urgency.reasons, patient_id)]
        flags = f" — {len(red_flags)} red flag(s)" if red_flags else ""
        flags += f" — {unread} item(s) not read" if unread else ""
        return self.card(f"{_words(level).capitalize()}: {top}{flags}", INDICATOR[level], "\n".join(lines), **extra)

    def questions(self, assessment: Assessment) -> Card:
        lines = [f"- {self.texts.question(q.finding)} — {self.texts.why(q.rules[0])}" for q in assessment.questions]
        return self.card(
            f"Ask next: {len(assessment.questions)} question(s), red flags first",
            "info",
            "\n".join(lines),
            links=[self._intake_link()],
        )

    def unrecorded(self, bracketed: Bracket) -> Card:
        """What the missing values could change: the summary holds for all of them, and the
        most urgent of them is named with its reasons, so nothing they could mean is hidden."""
        names = listed(bracketed.missing)
        least, most = bracketed.least_urgent.urgency, bracketed.most_urgent.urgency
        every = "every value it allows that" if bracketed.candidates else f"every {names}"
        lines = [
            f"{_not_recorded(bracketed)} It was assessed for {every} the rules tell apart; "
            f"the summary shows what holds for all of them: {self.clinician.level(least.level)}"
        ]
        if most.level != least.level:
            lines += ["", f"For some values the triage is higher: **{self.clinician.level(most.level)}**", ""]
            lines += [f"- {self.clinician.reason(r.rule)} ({r.rule})" for r in most.reasons if r.red_flag]
        lines += ["", f"Record the {names} (or complete the intake questionnaire) and call again."]
        higher = f" — could be {_words(most.level)}" if most.level != least.level else ""
        return self.card(
            f"Record the patient's {names}{higher}", "warning", "\n".join(lines), links=[self._intake_link()]
        )

    def record_fields(self, assessment: Assessment) -> Card:
        """The pain's onset, severity, course, side or duration the record does not give, where
        a value would raise the triage: the rules read each as its harmless value (not sudden,
        not severe, not getting worse, not one-sided, new), so the summary assumes it; this names what
        recording it could show (:mod:`service.reasoning.record_fields`)."""
        fields = assessment.interview.record_fields
        names = listed(tuple(_field_name(f.field) for f in fields))
        lines = [
            f"The record does not give the pain's {names}, and the rules read each as its harmless value: the "
            "summary assumes that. Assessed with every value the rules tell apart, recording it could raise "
            "the triage:",
            "",
        ]
        for f in fields:
            name = _field_name(f.field)
            lines.append(f"- {name} (read as {_READ_AS[name]}): could be **{self.clinician.level(f.could_be)}**")
        lines += ["", f"Record the {names} (or complete the intake questionnaire) and call again."]
        return self.card(
            f"Record the pain's {names} — could be {_words(fields[0].could_be)}",
            "warning",
            "\n".join(lines),
            links=[self._intake_link()],
        )

    def conflicts(self, intake: Intake) -> Card:
        lines = [f"- {_words(finding)}" for finding in intake.conflicts]
        return self.card(
            f"{len(intake.conflicts)} finding(s) recorded both present and absent: assessed as present",
            "warning",
            "The FHIR data says both yes and no to these findings. They were assessed as present, "
            "the safe side for a red flag; check them with the patient:\n" + "\n".join(lines),
        )

    def differing(self, intake: Intake) -> Card:
        return self._listing(
            f"{len(intake.differing)} value(s) recorded differently: check them with the patient",
            "warning",
            "The FHIR data gives these values more than once, differently, or only as a bound (> 23 wk). None was "
            "picked by the order of the data: severity takes the higher, gestational age the later record; where "
            "the records cannot tell (weeks their dates do not order, ages they allow none of in common, a sex, "
            "onset, course, side or duration answered differently, a bound) each value they give is assessed, and an "
            "answer 'unknown' beside a known one adds nothing. Each line says what was assessed:",
            intake.differing,
        )

    def unmapped(self, intake: Intake) -> Card:
        """A warning while an Observation or Condition that counts could not be read (a red-flag
        diagnosis coded in a way this service does not know, for one), else information."""
        unread = f": {len(intake.unread)} could hold a red flag, check them" if intake.unread else ""
        return self._listing(
            f"{len(intake.unmapped)} FHIR item(s) were not used{unread}",
            "warning" if intake.unread else "info",
            "These items have no mapping in this service, or do not count (their status says so), "
            "and did not inform the assessment:",
            intake.unmapped,
        )

    def _listing(self, summary: str, indicator: str, intro: str, entries: list[str]) -> Card:
        """A card listing what the FHIR data said (at most 50 entries), each shown literally."""
        return self.card(summary, indicator, "\n".join([intro, *(f"- {code_span(e)}" for e in entries[:50])]))

    def _intake_link(self) -> dict[str, str]:
        return {"label": "Open the intake questionnaire", "url": self.terms.questionnaire, "type": "absolute"}

    def _referral(
        self, level: str, specialties: tuple[str, ...], reasons: tuple[Reason, ...], patient_id: str
    ) -> dict[str, Any]:
        """One suggestion: a draft ServiceRequest per specialty, coded, with its reasons."""
        names = ", ".join(_words(s) for s in specialties)
        return {
            "label": f"Refer ({_words(level)}): {names}",
            "uuid": str(uuid.uuid4()),
            "isRecommended": level in ("emergency", "urgent"),
            "actions": [
                {
                    "type": "create",
                    "description": f"Draft a referral to {_words(specialty)}.",
                    "resource": self._service_request(
                        level, self.clinician.specialties[specialty], reasons, patient_id
                    ),
                }
                for specialty in specialties
            ],
        }

    def _service_request(
        self, level: str, specialty: Specialty, reasons: tuple[Reason, ...], patient_id: str
    ) -> dict[str, Any]:
        # the reasons that send the patient to this specialty; a cause-led referral has all of them
        own = [r for r in reasons if specialty.id in self.kb.rules[r.rule].refer] or list(reasons)
        return {
            "resourceType": "ServiceRequest",
            "status": "draft",
            "intent": "proposal",
            "priority": PRIORITY.get(level, "routine"),
            "code": {"coding": [REFERRAL], "text": f"Referral to {specialty.display}"},
            "subject": {"reference": f"Patient/{patient_id}"},
            "performerType": {"coding": [self._specialty_coding(specialty)], "text": specialty.display},
            "reasonCode": [
                {"coding": self._finding_codings(r.rule), "text": self.clinician.reason(r.rule)} for r in own
            ],
            "note": [
                {
                    "text": f"Rules: {', '.join(r.rule for r in own)} "
                    f"(buttock pain decision support, knowledge base {self.kb.version})."
                }
            ],
        }

    def _specialty_coding(self, specialty: Specialty) -> Coding:
        if specialty.snomed:
            return {"system": SNOMED, "code": specialty.snomed, "display": specialty.display}
        return {"system": self.terms.local, "code": specialty.id, "display": specialty.display}

    def _finding_codings(self, rule: str) -> list[Coding]:
        """The codings of the recorded findings that fired an escalation rule."""
        return [self.terms.findings[f] for f in self.kb.rules[rule].when.present if f in self.terms.findings]
