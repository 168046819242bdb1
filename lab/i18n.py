"""The string tables and the ``t(key)`` helper: the one way every module translates.

A language is a folder ``assets/i18n/<lang>/`` with one TOML file per section (``<section>.toml`` holds the table
``[<section>]``), so a lesson's text sits in a file of its own. Keys are ``section.name``; a value may hold
``{placeholders}`` filled from keyword arguments. Both languages have exactly the same keys (tests/app/test_i18n.py).
"""
import tomllib
from functools import cache
from pathlib import Path

import streamlit as st

LANGS = ("en", "zh")
LANG_NAMES = {"en": "English", "zh": "中文"}
DEFAULT_LANG = "en"
TABLE_DIR = Path(__file__).resolve().parent.parent / "assets" / "i18n"


@cache
def table(lang):
    """The flat ``{"section.name": text}`` table of one language."""
    flat = {}
    for path in sorted((TABLE_DIR / lang).glob("*.toml")):
        with open(path, "rb") as f:
            nested = tomllib.load(f)
        if set(nested) != {path.stem}:
            raise ValueError(f"{path} must hold exactly the table [{path.stem}]")
        flat.update({f"{path.stem}.{name}": text for name, text in nested[path.stem].items()})
    return flat


def translate(lang, key, **params):
    text = table(lang)[key]
    return text.format(**params) if params else text


def current_lang():
    return st.session_state.get("lang", DEFAULT_LANG)


def t(key, **params):
    """``key``'s text in the user's language."""
    return translate(current_lang(), key, **params)


def fmt_num(x, digits=3):
    """A number for a sentence: significant digits, no trailing noise (same in both languages)."""
    return f"{x:.{digits}g}"


def fmt_pct(share, digits=0):
    return f"{100 * share:.{digits}f}%"


LITERAL_LIMIT = 40  # characters of a user's value quoted in a message


def literal(value, limit=LITERAL_LIMIT):
    """A value the user supplied (URL text, a CSV column name), as Markdown that shows exactly its characters: a code
    span, shortened to ``limit`` characters. Backticks and line breaks, the only things that could end a code span
    early, are replaced; nothing inside a code span is read as Markdown, a link, an image or HTML. Other invisible
    characters (a right-to-left override, NUL, a zero-width space) become spaces too, so what is shown is what was
    typed."""
    text = str(value)
    if len(text) > limit:
        text = text[:limit - 1] + "…"
    return "`" + "".join(c if c.isprintable() else " " for c in text.replace("`", "ʹ")) + "`"
