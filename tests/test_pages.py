"""The HTML pages without a browser: what they contain and that they need nothing from outside.

The browser tests (tests/browser) show them rendering; these run everywhere, Chromium or not.
"""

from __future__ import annotations

import re
from dataclasses import fields

from markupsafe import escape

from service.knowledge.model import Condition, Layer, Range
from service.web.knowledge_view import CONDITION_LABELS, conditions


def test_docs_load_only_assets_this_service_serves(client) -> None:
    page = client.get("/docs").get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert assets and not [a for a in assets if "//" in a]
    for asset in assets:
        assert client.get(asset).status_code == 200, asset


def test_docs_answer_with_a_trailing_slash_too(client) -> None:
    assert client.get("/docs/").get_data() == client.get("/docs").get_data()


def test_the_knowledge_base_page_shows_every_rule_source_and_care_item(client, kb) -> None:
    page = client.get("/knowledge-base").get_data(as_text=True)
    for rule in kb.rules.values():
        assert f'id="rule-{rule.id}"' in page
        assert str(escape(rule.rationale)) in page
    for source in kb.sources:
        assert f'id="source-{source}"' in page
    for item in kb.care:
        assert f'id="care-{item}"' in page
    for layer in Layer:
        assert (f'id="layer-{layer}"' in page) == bool(kb.rules_in(layer))


def test_care_lists_the_rules_that_remove_it_or_caution_on_it(client, kb) -> None:
    page = client.get("/knowledge-base").get_data(as_text=True)
    for rule in kb.rules_in(Layer.CONTRAINDICATION):
        for item in kb.care.values():
            row = re.search(rf'<tr id="care-{item.id}">(.*?)</tr>', page, re.S).group(1)
            assert (f'href="#rule-{rule.id}"' in row) == (rule.removes(item) or rule.cautions(item))


def test_the_chain_highlights_every_red_flag_finding(client, kb) -> None:
    page = client.get("/knowledge-base").get_data(as_text=True)
    highlighted = set(re.findall(r'class="node red-flag" data-id="([^"]+)"', page))
    needed = {f for r in kb.rules_in(Layer.ESCALATION) if r.red_flag for f in r.when.present}
    assert highlighted == needed


def test_the_traceability_table_is_on_the_page(client) -> None:
    page = client.get("/knowledge-base").get_data(as_text=True)
    section = page[page.index('id="traceability"') :]
    assert section.count("<h3>") >= 6
    assert '<a href="#rule-CI-NSAID-FROM-WEEK-20"><code>CI-NSAID-FROM-WEEK-20</code></a>' in section


def test_every_kind_of_condition_is_shown() -> None:
    """A rule condition the page leaves out would hide why a rule fires from the reviewer."""
    when = Condition(
        **{
            spec.name: Range(1, 2) if "Range" in str(spec.type) else True if "bool" in str(spec.type) else ("x",)
            for spec in fields(Condition)
        }
    )
    shown = " | ".join(conditions(when))
    for spec in fields(Condition):
        assert spec.name in shown or CONDITION_LABELS.get(spec.name, "?") in shown, spec.name


def test_a_range_that_also_holds_when_not_given_says_so(client) -> None:
    """CTX-RECENT-SYMPTOMS fires without a duration: a reviewer must not read "≤ 83.999" alone."""
    page = client.get("/knowledge-base").get_data(as_text=True)
    assert "duration_days ≤ 83.999, or not given" in page
