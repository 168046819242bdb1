"""The string tables (assets/i18n/<lang>.toml) and the ``t(key)`` helper every page uses for its text.

Keys are ``section.name``; a value may hold ``{placeholders}`` filled from keyword arguments.
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
    with open(TABLE_DIR / f"{lang}.toml", "rb") as f:
        nested = tomllib.load(f)
    return {f"{section}.{name}": text for section, entries in nested.items() for name, text in entries.items()}


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
