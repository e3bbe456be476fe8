"""The README and docs/ stand on their own: every relative link resolves inside the repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


@pytest.mark.parametrize("page", PAGES, ids=[p.relative_to(ROOT).as_posix() for p in PAGES])
def test_links_stay_inside_the_repository_and_resolve(page: Path) -> None:
    text = page.read_text()
    assert "../shared" not in text and "shared/CONTRACT" not in text
    for target in LINK.findall(text):
        if "://" in target:
            continue
        resolved = (page.parent / target).resolve()
        assert resolved.is_relative_to(ROOT), f"{page.name} links outside the repository: {target}"
        assert resolved.exists(), f"{page.name}: broken link {target}"


def test_the_promised_notes_exist() -> None:
    readme = (ROOT / "README.md").read_text()
    for note in ("docs/api.md", "docs/terminology-review.md", "docs/safety-case.md", "LICENSE", "CHANGELOG.md"):
        assert note in readme and (ROOT / note).exists(), note


def test_the_api_notes_name_every_cause_the_service_can_answer_with(kb) -> None:
    """Clients validate against docs/api.md: a cause the knowledge base adds must be listed there."""
    api = (ROOT / "docs/api.md").read_text()
    assert [cause for cause in kb.causes if f"`{cause}`" not in api] == []
