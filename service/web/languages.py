"""The language of an answer: ``Accept-Language`` negotiation (RFC 9110 §12.5.4, RFC 4647).

A client lists language ranges with optional weights (``zh-CN, es;q=0.8, *;q=0.1``). The
service speaks English and one language per catalogue in ``rules/translations/``; a range
matches the language of its first subtag (``es-MX`` is Spanish, ``zh-CN``, ``zh-Hans`` and
``zh-SG`` are Chinese, served in Simplified Chinese), the heaviest acceptable match wins (the
earlier one on a tie), ``q=0`` rules a language out, and ``*`` stands for any language not
ruled out. Anything else — an unsupported language, an empty or malformed header — is
answered in English: a header is never a reason to refuse or fail a request, and a malformed
entry is skipped without spoiling the rest.

Answers worded this way say so: ``Content-Language`` names the language and
``Vary: Accept-Language`` tells caches that it depends on the header.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from functools import lru_cache

from flask import Response

from service.knowledge.translations import ENGLISH, Catalogue
from service.web.components import components
from service.web.headers import header
from service.web.vary import vary_on

_RANGE = re.compile(r"^(?:\*|[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*)$")
_WEIGHT = re.compile(r"^[qQ]\s*=\s*(0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?)$")


def preferences(header: str) -> list[tuple[str, float]]:
    """The header's language ranges (lower case) with their weights, heaviest first, header
    order kept among equals; a malformed entry is left out."""
    ranges: list[tuple[str, float]] = []
    for entry in header.split(","):
        language_range, *parameters = (part.strip() for part in entry.split(";"))
        weights = [_WEIGHT.match(p) for p in parameters]
        if not _RANGE.match(language_range) or len(weights) > 1 or None in weights:
            continue
        ranges.append((language_range.lower(), float(weights[0][1]) if weights and weights[0] else 1.0))
    return sorted(ranges, key=lambda weighted: -weighted[1])


def negotiate(header: str | None, available: Collection[str]) -> str:
    """The language to answer in, from ``available`` (English when nothing acceptable is)."""
    ranges = preferences(header or "")
    ruled_out = {language_range for language_range, weight in ranges if weight == 0}
    for language_range, weight in ranges:
        if weight == 0:
            break  # heaviest first: only exclusions remain
        if language_range == "*":
            return next((language for language in available if language not in ruled_out), ENGLISH)
        language = language_range.split("-")[0]
        if language in available and language not in ruled_out:
            return language
    return ENGLISH


@lru_cache(maxsize=128)
def _negotiated(header: str | None, available: tuple[str, ...]) -> str:
    """:func:`negotiate`, remembered by header value: clients send the same few headers, and
    parsing one costs several microseconds on every request. The key is the header text,
    never anything from a record."""
    return negotiate(header, available)


def requested_texts() -> Catalogue:
    """The catalogue the request's ``Accept-Language`` chooses."""
    languages = components().languages
    return languages[_negotiated(header("Accept-Language"), tuple(languages.catalogues))]


def in_language(response: Response, texts: Catalogue) -> Response:
    """Mark ``response`` as worded in ``texts``' language, chosen by ``Accept-Language``."""
    response.headers["Content-Language"] = texts.tag
    vary_on(response, "Accept-Language")
    return response
