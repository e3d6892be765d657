"""One message catalogue for every user-facing string (zh-CN and en).

The catalogue of a language is the union of the JSON files in ``zhizao/i18n/<lang>/``
(one file per area, so areas do not edit one file); the console fetches the same
merged catalogue, so server and browser never disagree.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

LANGS = ("zh-CN", "en")
DEFAULT_LANG = "zh-CN"


@cache
def catalogue(lang: str) -> dict[str, str]:
    lang = lang if lang in LANGS else DEFAULT_LANG
    merged: dict[str, str] = {}
    folder = resources.files("zhizao.i18n").joinpath(lang)
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            merged.update(json.loads(entry.read_text(encoding="utf-8")))
    return merged


def t(key: str, lang: str = DEFAULT_LANG, **params: object) -> str:
    """Translate ``key``; unknown keys fall back to English, then to the key itself."""
    text = catalogue(lang).get(key) or catalogue("en").get(key) or key
    return text.format(**params) if params else text


def pick_lang(accept_language: str | None) -> str:
    """Choose a catalogue from an Accept-Language header."""
    if not accept_language:
        return DEFAULT_LANG
    for part in accept_language.split(","):
        code = part.split(";")[0].strip().lower()
        if code.startswith("zh"):
            return "zh-CN"
        if code.startswith("en"):
            return "en"
    return DEFAULT_LANG
