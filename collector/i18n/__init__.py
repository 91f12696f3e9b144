"""The one catalog of text the web pages and the reports show, in zh-CN and en.

The messages live in `messages.toml` beside this file (read as it is: no compile step); the
terms they use are settled in docs/glossary.md. A key the catalog lacks raises `MissingMessage`
instead of showing the key, and tests/collector/i18n/ fails on any message missing or unused.
"""
from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path

CATALOG = Path(__file__).with_name("messages.toml")
LANGS = ("zh", "en")


class MissingMessage(KeyError):
    """A key the catalog does not have: a page or report asked for text nobody wrote."""


class CatalogError(ValueError):
    """The catalog file itself is malformed (a message not a [zh, en] pair of non-empty strings)."""


def read_catalog(path: Path = CATALOG) -> dict[str, tuple[str, str]]:
    """key -> (zh, en), refusing any entry that is not two non-empty strings."""
    with path.open("rb") as f:
        raw = tomllib.load(f)
    out: dict[str, tuple[str, str]] = {}
    for key, pair in raw.items():
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(s, str) and s.strip() for s in pair)):
            raise CatalogError(f"{path}: {key}: needs [\"zh-CN text\", \"en text\"], both non-empty")
        out[key] = (pair[0], pair[1])
    return out


@lru_cache(maxsize=1)
def messages() -> dict[str, tuple[str, str]]:
    return read_catalog()


def translate(key: str, lang: str, **params: object) -> str:
    """The text of `key` in `lang` ("en", anything else is zh-CN), with {name} filled from `params`."""
    try:
        zh, en = messages()[key]
    except KeyError:
        raise MissingMessage(key) from None
    text = en if lang == "en" else zh
    return text.format(**params) if params else text


def known(key: str) -> bool:
    return key in messages()


class Translator:
    """`t` in the templates: `t('key')`, `t('key', n=3)`, and `t.value(prefix, raw)` for data."""

    def __init__(self, lang: str):
        self.lang = "en" if lang == "en" else "zh"

    def __call__(self, key: str, **params: object) -> str:
        return translate(key, self.lang, **params)

    def value(self, prefix: str, raw: object) -> str:
        """A value that came with the data (a UPS flag, a camera fault, a scan's identifier kind, an audit's
        violation type) in words when the catalog names it; otherwise shown as it came: it is data that a
        source may send freely, not a message the pages forgot."""
        key = f"{prefix}{raw}"
        return translate(key, self.lang) if known(key) else str(raw)


def duration_text(seconds: float, lang: str) -> str:
    """A duration in the largest unit that keeps it readable (days, hours, minutes)."""
    if seconds >= 86400:
        return translate("duration_days", lang, n=f"{seconds / 86400:.1f}")
    if seconds >= 3600:
        return translate("duration_hours", lang, n=f"{seconds / 3600:.1f}")
    return translate("duration_minutes", lang, n=f"{seconds / 60:.0f}")
