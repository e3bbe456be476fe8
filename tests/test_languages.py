"""Answers in the patient's language: Accept-Language negotiation, the catalogues in
rules/translations/ and their start-up checks, and the rule that language never changes the
clinical content of an answer."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.app import create_app
from service.knowledge.loader import load_knowledge_base
from service.knowledge.model import KnowledgeBase, KnowledgeBaseError
from service.knowledge.translations import Languages, load_languages
from service.web.components import components
from service.web.languages import negotiate, preferences
from tests.cds_tokens import Ehr
from tests.conftest import edit, make_record
from tests.test_cds_hooks import LOCAL, bundle, hook_request, observation, patient

TRANSLATION = "http://hl7.org/fhir/StructureDefinition/translation"
QUESTIONNAIRE = "/fhir/Questionnaire/buttock-pain-intake"
AVAILABLE = ("en", "es", "zh")
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def languages(app: Flask) -> Languages:
    return components(app).languages


def edit_catalogue(directory: Path, language: str, change: Callable[[dict[str, Any]], None]) -> None:
    edit(directory, f"translations/{language}.yaml", change)


# --- negotiation (RFC 9110 §12.5.4, RFC 4647 basic ranges) ------------------------------


@pytest.mark.parametrize(
    ("header", "language"),
    [
        (None, "en"),
        ("", "en"),
        ("zh", "zh"),
        ("zh-CN", "zh"),
        ("zh-Hans", "zh"),
        ("zh-Hans-CN", "zh"),
        ("zh-SG", "zh"),
        ("es", "es"),
        ("es-MX", "es"),
        ("es-419", "es"),
        ("ES-us", "es"),
        ("en-US", "en"),
        ("fr", "en"),  # unsupported: English
        ("fr, es;q=0.5", "es"),  # the first acceptable one we speak
        ("es;q=0.5, zh;q=0.8", "zh"),  # weights, not header order
        ("es;q=0.8, zh;q=0.8", "es"),  # equal weights: header order
        ("en-US,en;q=0.9,zh-CN;q=0.8", "en"),
        ("de-DE, de;q=0.9, es;q=0.1", "es"),
        ("*", "en"),
        ("fr, *;q=0.1", "en"),
        ("en;q=0, *", "es"),  # * is any language not ruled out
        ("en;q=0, es;q=0, *", "zh"),
        ("zh;q=0, zh-CN", "en"),  # q=0 rules Chinese out, whatever region follows
        ("es;q=0", "en"),  # nothing acceptable: English, never 406
        ("zh;q=0.000, es;q=0.001", "es"),
        ("zh;q=1.000", "zh"),
        ("zh; q=0.5 , es ; q = 0.4", "zh"),  # whitespace around the parameter
    ],
)
def test_accept_language_chooses_the_language(header: str | None, language: str) -> None:
    assert negotiate(header, AVAILABLE) == language


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("zh;q=abc, es", "es"),  # a malformed weight drops its range only
        ("zh;q=2, es;q=0.1", "es"),  # weights are 0..1
        ("zh;q=0.5;q=0.9, es;q=0.1", "es"),  # two weights
        ("zh;level=1, es;q=0.1", "es"),  # parameters other than q are not language ranges
        ("zh;q=0.1234, es;q=0.1", "es"),  # at most three decimals
        ("zh-, es;q=0.1", "es"),
        ("zh_CN, es;q=0.1", "es"),
        ("12, es;q=0.1", "es"),
        (";;;,,,", "en"),
        ("q=0.5", "en"),
        ("zh" + "-abcdefghi" * 3, "en"),  # subtags are at most 8 characters
        ("é, zh", "zh"),
        ("x" * 10_000, "en"),
        (",".join(["fr"] * 2_000) + ",zh", "zh"),
    ],
)
def test_a_malformed_entry_is_skipped_without_spoiling_the_rest(header: str, language: str) -> None:
    assert negotiate(header, AVAILABLE) == language


def test_preferences_are_heaviest_first_in_header_order() -> None:
    assert preferences("a;q=0.5, b, c;q=0.5, *;q=0") == [("b", 1.0), ("a", 0.5), ("c", 0.5), ("*", 0.0)]


# --- every localised answer says its language ------------------------------------------


def _post(client: FlaskClient, record: dict[str, Any], accept_language: str | None) -> Any:
    headers = {} if accept_language is None else {"Accept-Language": accept_language}
    return client.post("/v1/assessments", json=record, headers=headers)


def _get_questionnaire(client: FlaskClient, accept_language: str | None) -> Any:
    headers = {} if accept_language is None else {"Accept-Language": accept_language}
    return client.get(QUESTIONNAIRE, headers=headers)


LOCALISED = {"assessment": lambda c, h: _post(c, make_record(), h), "questionnaire": _get_questionnaire}


@pytest.mark.parametrize("endpoint", sorted(LOCALISED))
@pytest.mark.parametrize(
    ("header", "tag"),
    [(None, "en"), ("es-MX", "es"), ("zh-CN,zh;q=0.9", "zh"), ("fr", "en"), ("zh;q=nonsense", "en")],
)
def test_localised_answers_carry_content_language_and_vary(client, endpoint: str, header, tag: str) -> None:
    response = LOCALISED[endpoint](client, header)
    assert response.status_code == 200
    assert response.headers["Content-Language"] == tag
    assert {"Accept-Language", "Origin"} <= set(response.vary)  # CORS's Vary: Origin is kept


@pytest.mark.parametrize("header", ["\udcff", "zh;q=0.5\x7f", "a" * 8_000, ",;=*" * 500, "*;q=0"])
def test_a_hostile_accept_language_is_answered_in_english(client, header: str) -> None:
    try:
        response = _post(client, make_record(), header.encode("utf-8", "surrogateescape").decode("latin-1"))
    except ValueError:  # the test client refuses to send it at all: nothing for the service to do
        return
    assert response.status_code == 200
    assert response.headers["Content-Language"] == "en"


def test_the_knowledge_base_publishes_each_language_and_its_review_status(client, languages) -> None:
    published = client.get("/v1/knowledge-base").get_json()["languages"]
    assert [entry["language"] for entry in published] == ["en", "es", "zh"]
    for entry in published:
        catalogue = languages[entry["language"]]
        assert entry["tag"] == catalogue.tag
        assert entry["review"]["status"] == catalogue.review.status in ("machine_drafted", "reviewed")
        assert entry["review"].get("unreviewed", []) == list(catalogue.review.unreviewed)
        assert entry["translator"]


def test_the_reviewers_page_shows_each_language_and_its_review_status(client, languages) -> None:
    page = client.get("/knowledge-base").get_data(as_text=True)
    for catalogue in languages:
        row = page.split(f'id="language-{catalogue.language}"')[1].split("</tr>")[0]
        assert catalogue.tag in row and catalogue.review.status in row


# --- the catalogues -----------------------------------------------------------------------


def test_every_catalogue_has_exactly_the_english_keys(languages) -> None:
    english = set(languages.english.texts)
    assert [c.language for c in languages] == ["en", "es", "zh"]
    for catalogue in languages:
        assert set(catalogue.texts) == english, catalogue.language


def test_the_english_keys_are_every_patient_facing_id(languages, kb: KnowledgeBase) -> None:
    keys = set(languages.english.texts)
    assert {f"findings.{f}" for f in kb.input_findings} <= keys
    assert {f"causes.{c}" for c in kb.causes} <= keys
    assert {f"care.{c}" for c in kb.care} <= keys
    assert {f"reasons.{r.id}" for r in kb.rules.values() if r.reason} <= keys
    assert {f"levels.{level}.advice" for level in kb.levels} <= keys
    assert {"disclaimer", "questions.could_lead", "questionnaire.title"} <= keys


def test_every_chinese_text_is_in_chinese(languages) -> None:
    """Nothing left in English by mistake (a wrong language is worse than a clumsy phrase)."""
    untranslated = [key for key, text in languages["zh"].texts.items() if not CJK.search(text)]
    assert not untranslated


def test_the_red_flag_questions_name_the_saddle_area_in_every_language(languages) -> None:
    assert "马鞍区" in languages["zh"].question("saddle_anesthesia")
    assert "entre las piernas" in languages["es"].question("saddle_anesthesia")


def test_no_spanish_question_is_asked_in_the_negative(languages, kb: KnowledgeBase) -> None:
    """Answered with Sí / No buttons, "¿No puede orinar?" draws "No (no puedo)": recorded as
    absent, a missed red flag (found by the independent review). "Sí" must mean the finding."""
    negative = re.compile(r"¿(El dolor )?no\b", re.IGNORECASE)
    asked_negatively = [f for f in kb.input_findings if negative.search(languages["es"].question(f))]
    assert not asked_negatively


@pytest.mark.parametrize("language", ["zh", "es"])
def test_a_missing_translation_refuses_the_start_naming_file_and_key(rules_copy: Path, language: str) -> None:
    edit_catalogue(rules_copy, language, lambda d: d["texts"]["findings"].pop("saddle_anesthesia"))
    with pytest.raises(
        KnowledgeBaseError, match=rf"rules/translations/{language}\.yaml: findings\.saddle_anesthesia: "
    ):
        create_app({"RULES_DIR": str(rules_copy)})


@pytest.mark.parametrize("language", ["zh", "es"])
def test_an_extra_translation_refuses_the_start_naming_file_and_key(rules_copy: Path, language: str) -> None:
    edit_catalogue(rules_copy, language, lambda d: d["texts"]["causes"].update(sciatika={"en": "?", language: "?"}))
    kb = load_knowledge_base(rules_copy)
    with pytest.raises(KnowledgeBaseError, match=rf"rules/translations/{language}\.yaml: causes\.sciatika: not a text"):
        load_languages(rules_copy, kb)


BROKEN: list[tuple[Callable[[dict[str, Any]], None], str]] = [
    (lambda d: d["texts"]["questions"]["could_lead"].update(es="sin marcador"), r"questions\.could_lead: must keep"),
    (lambda d: d["texts"]["findings"]["fever"].update(es=""), r"findings\.fever: expected a non-empty text"),
    (lambda d: d["texts"]["questionnaire"]["answers"]["N"].update(es=False), r"questionnaire\.answers\.N: expected"),
    (lambda d: d["texts"]["findings"].update(fever="¿Tiene fiebre?"), r"findings\.fever: expected \{en: <English>, es"),
    (lambda d: d["texts"]["findings"]["fever"].update(en="Are you hot?"), r"findings\.fever: translates an older"),
    (lambda d: d["review"].update(status="reviewed", reviewer=None), r"header: .*names its reviewer"),
    (lambda d: d["review"].update(status="approved"), r"header: .*status"),
    (lambda d: d.update(language="fr"), r"language: 'fr' must name the file"),
    (lambda d: d.pop("translator"), r"header: .*translator"),
    (lambda d: d["review"].update(unreviewed=["findings.nope"]), r"review\.unreviewed\.findings\.nope: not a text"),
]


@pytest.mark.parametrize(("change", "message"), BROKEN)
def test_a_broken_catalogue_refuses_the_start(rules_copy: Path, change, message: str) -> None:
    edit_catalogue(rules_copy, "es", change)
    kb = load_knowledge_base(rules_copy)
    with pytest.raises(KnowledgeBaseError, match=r"rules/translations/es\.yaml: " + message):
        load_languages(rules_copy, kb)


def test_an_english_text_that_a_catalogue_lacks_is_named_with_its_english(rules_copy: Path) -> None:
    """When a finding is added to the knowledge base, the start says what is left to translate."""
    findings = rules_copy / "findings.yaml"
    findings.write_text(
        findings.read_text(encoding="utf-8").replace(
            "findings:\n", 'findings:\n  - {id: new_finding, group: general, question: "A new question?"}\n', 1
        ),
        encoding="utf-8",
    )
    kb = load_knowledge_base(rules_copy)
    with pytest.raises(KnowledgeBaseError, match=r"es\.yaml: findings\.new_finding: no translation \(English: 'A new"):
        load_languages(rules_copy, kb)


@pytest.mark.parametrize("language", ["zh", "es"])
def test_a_reworded_english_text_refuses_the_start_until_translated_again(rules_copy: Path, language: str) -> None:
    """A red-flag question reworded in English must not keep its old translation unnoticed."""
    findings = rules_copy / "findings.yaml"
    english = "Is there numbness or altered feeling between the legs"
    findings.write_text(
        findings.read_text(encoding="utf-8").replace(english, "Is there numbness or tingling between the legs"),
        encoding="utf-8",
    )
    for other in {"zh", "es"} - {language}:
        (rules_copy / "translations" / f"{other}.yaml").unlink()
    kb = load_knowledge_base(rules_copy)
    with pytest.raises(
        KnowledgeBaseError,
        match=rf"{language}\.yaml: findings\.saddle_anesthesia: translates an older English text; "
        r"the English is now 'Is there numbness or tingling",
    ):
        load_languages(rules_copy, kb)


def test_the_catalogues_count_in_the_knowledge_base_digest(rules_copy: Path, kb: KnowledgeBase) -> None:
    assert load_knowledge_base(rules_copy).sha256 == kb.sha256
    edit_catalogue(rules_copy, "zh", lambda d: d["texts"]["causes"]["sciatica"].update(zh="坐骨神经痛 2"))
    assert load_knowledge_base(rules_copy).sha256 != kb.sha256


# --- language never changes the clinical content ----------------------------------------

RECORDS = {
    "late pregnancy, radiating pain": make_record(
        patient={"age": 30, "sex": "female", "pregnancy": {"gestational_week": 34}},
        complaint={"locations": ["buttock", "hip"], "course": "recurrent"},
        findings={"present": ["pain_radiates_below_knee", "night_pain"], "absent": []},
    ),
    "cauda equina": make_record(
        findings={"present": ["saddle_anesthesia", "pain_radiates_below_knee", "bilateral_leg_symptoms"]}
    ),
    "sitting ache, self-care": make_record(
        findings={"present": ["pain_worse_sitting", "prolonged_sitting_habit"], "absent": ["saddle_anesthesia"]}
    ),
    "mid pregnancy, standing and walking": make_record(
        patient={"age": 29, "sex": "female", "pregnancy": {"gestational_week": 24}},
        findings={"present": ["dull_ache", "pain_worse_standing_walking"]},
    ),
}
TEXT_FIELDS = {"advice", "text", "name", "reason", "why", "disclaimer", "asked_enough_reason"}


def _without_texts(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_texts(v) for k, v in value.items() if k not in TEXT_FIELDS | {"assessment_id"}}
    if isinstance(value, list):
        return [_without_texts(v) for v in value]
    return value


def _texts(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [t for k, v in value.items() if v is not None for t in ([v] if k in TEXT_FIELDS else _texts(v))]
    if isinstance(value, list):
        return [t for v in value for t in _texts(v)]
    return []


@pytest.mark.parametrize("name", sorted(RECORDS))
@pytest.mark.parametrize("header", ["zh-CN", "es-US"])
def test_an_answer_in_another_language_has_the_same_clinical_content(client, languages, name: str, header) -> None:
    english = _post(client, RECORDS[name], None).get_json()
    other = _post(client, RECORDS[name], header).get_json()
    assert _without_texts(other) == _without_texts(english)
    catalogue = languages[negotiate(header, AVAILABLE)]
    assert other["urgency"]["advice"] in {
        t for k, t in catalogue.texts.items() if k.startswith(f"levels.{other['urgency']['level']}.advice")
    }
    assert [c["name"] for c in other["causes"]] == [catalogue.cause(c["id"]) for c in other["causes"]]
    assert [q["text"] for q in other["questions"]] == [catalogue.question(q["finding"]) for q in other["questions"]]
    english_texts = set(_texts(english))
    if header.startswith("zh"):
        assert all(CJK.search(text) for text in _texts(other))
    else:
        assert not english_texts & set(_texts(other))


def test_a_deferred_and_a_contraindicated_reason_are_both_translated(client, languages) -> None:
    emergency = _post(client, RECORDS["cauda equina"], "es").get_json()
    assert emergency["urgency"]["level"] == "emergency"
    deferred = {s["reason"] for s in emergency["suppressed_care"]}
    assert deferred == {languages["es"].deferred("emergency")}
    pregnant = _post(client, RECORDS["late pregnancy, radiating pain"], "zh").get_json()
    contraindicated = {s["id"]: s["reason"] for s in pregnant["suppressed_care"]}
    assert contraindicated["oral_nsaids"] == languages["zh"].reason("CI-NSAID-FROM-WEEK-20")


@pytest.mark.parametrize("header", [None, "zh", "es"])
def test_the_disclaimer_is_in_every_answer_in_its_language(client, languages, header) -> None:
    answer = _post(client, make_record(), header).get_json()
    assert answer["disclaimer"] == languages[negotiate(header, AVAILABLE)].disclaimer
    assert len(answer["disclaimer"]) > 20


# --- the FHIR Questionnaire ---------------------------------------------------------------


def _translations(element: dict[str, Any]) -> dict[str, str]:
    found = {}
    for extension in element["extension"]:
        assert extension["url"] == TRANSLATION
        parts = {part["url"]: part for part in extension["extension"]}
        assert set(parts) == {"lang", "content"}
        found[parts["lang"]["valueCode"]] = parts["content"]["valueString"]
    return found


def _items(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [i for item in items for i in (item, *_items(item.get("item", [])))]


@pytest.mark.parametrize(("header", "served"), [(None, "en"), ("zh-Hans", "zh"), ("es", "es")])
def test_the_questionnaire_is_served_in_the_language_with_translations_into_the_others(
    client, languages, header, served: str
) -> None:
    questionnaire = _get_questionnaire(client, header).get_json()
    texts = languages[served]
    others = {c.tag: c for c in languages.besides(texts)}
    assert questionnaire["language"] == texts.tag
    assert questionnaire["title"] == texts.questionnaire("title")
    assert _translations(questionnaire["_title"]) == {tag: c.questionnaire("title") for tag, c in others.items()}
    items = {item["linkId"]: item for item in _items(questionnaire["item"])}
    assert items["saddle_anesthesia"]["text"] == texts.question("saddle_anesthesia")
    assert _translations(items["saddle_anesthesia"]["_text"]) == {
        tag: c.question("saddle_anesthesia") for tag, c in others.items()
    }
    for item in items.values():
        assert set(_translations(item["_text"])) == set(others), item["linkId"]
        for option in item.get("answerOption", []):
            assert set(_translations(option["valueCoding"]["_display"])) == set(others)
    yes = items["fever"]["answerOption"][0]["valueCoding"]
    assert (yes["code"], yes["display"]) == ("Y", texts.questionnaire("answers.Y"))


def test_the_questionnaires_differ_only_in_their_words(client) -> None:
    def shape(value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: shape(v)
                for k, v in value.items()
                if k not in {"text", "title", "display", "language"} and not k.startswith("_")
            }
        if isinstance(value, list):
            return [shape(v) for v in value]
        return value

    shapes = [shape(_get_questionnaire(client, header).get_json()) for header in ("en", "zh", "es")]
    assert shapes[0] == shapes[1] == shapes[2]


def test_cds_hooks_cards_stay_in_english(cds: FlaskClient, ehr: Ehr) -> None:
    """Cards speak to clinicians in the EHR: Accept-Language does not change them."""
    body = hook_request(
        {
            "patient": patient(gender="male"),
            "observations": bundle(observation(LOCAL, "saddle_anesthesia", "o1", valueBoolean=True)),
        }
    )
    english, spanish = (
        cds.post("/cds-services/buttock-pain-triage", json=body, headers={**ehr.header(), **extra}).get_json()
        for extra in ({}, {"Accept-Language": "es"})
    )
    assert [c["detail"] for c in spanish["cards"]] == [c["detail"] for c in english["cards"]]
    assert "Cauda equina syndrome" in english["cards"][0]["detail"]


# --- the FHIR adaptive form ($next-question) ------------------------------------------------


def test_the_adaptive_form_asks_and_concludes_in_the_language_asked_for(client, languages) -> None:
    from tests.test_next_question import NEXT, START, answers, extension  # noqa: PLC0415

    local = client.get("/fhir/CodeSystem/buttock-pain").get_json()["url"]
    spanish = languages["es"]

    def ask(body: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        response = client.post(NEXT, json=body, headers={"Accept-Language": "es-MX"})
        assert response.status_code == 200
        assert response.headers["Content-Language"] == "es" and "Accept-Language" in response.vary
        return response, response.get_json()

    _, first = ask(START)
    assert first["contained"][0]["item"][0]["text"] == spanish.questionnaire("items.age")
    record = RECORDS["cauda equina"]
    answered = {**first, "item": answers(record, local)}
    _, done = ask(answered)
    assert done["status"] == "completed"
    parts = extension(done)
    assert parts["urgency"][0]["valueCode"] == "emergency"
    assert parts["advice"][0]["valueString"] == spanish.advice("emergency", None)
    assert parts["askedEnoughReason"][0]["valueString"] == spanish.stop_reason("urgency_reached")
    assert parts["disclaimer"][0]["valueString"] == spanish.disclaimer
