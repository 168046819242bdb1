"""The string tables: both languages complete and consistent, every key the code can use exists, and every key in
the tables is used.

A key is used where the code names it: a string literal "section.name" (passed to t() at once or kept in a table of
keys first), or an f-string whose text before the first {...} is a known family's prefix."""
import re
import string
from pathlib import Path

import pytest

from bn_core import DIVERGENCE_REASONS, ConfigError, CsvError
from lab import shell
from lab.i18n import LANGS, table
from lab.lessons import playground as pg

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py")), *sorted((ROOT / "lab").rglob("*.py"))]
LITERAL_KEY = re.compile(r"""(?<![A-Za-z0-9_])f?["']([a-z_]+\.[A-Za-z0-9_]+)["']""")
DYNAMIC_KEY = re.compile(r"""(?<![A-Za-z0-9_])f["']([a-z_]*\.?[A-Za-z0-9_]*)\{""")
SECTIONS = {k.split(".")[0] for k in table("en")}


def _subclasses(cls):
    return {c for sub in cls.__subclasses__() for c in {sub, *_subclasses(sub)}}


def _config_error_codes():
    src = (ROOT / "bn_core" / "train.py").read_text()
    return set(re.findall(r'ConfigError\(\s*"([a-z_]+)"', src))


# Keys built at run time: the prefix before "{" in t(f"...") -> every key that prefix can produce.
DYNAMIC_FAMILIES = {
    "config_error.": lambda: {f"config_error.{c}" for c in _config_error_codes()},
    "csv_error.": lambda: {f"csv_error.{c.code}" for c in _subclasses(CsvError)},
    "csv_error.what_": lambda: {f"csv_error.what_{w}" for w in ("rows", "columns")},  # CsvTooLargeError
    "divergence.": lambda: {f"divergence.{r}" for r in DIVERGENCE_REASONS},
    "": lambda: {f"{lesson.key}.{name}" for lesson in shell.LESSONS for name in ("title", "blurb", "intro")},
    # the Playground's choice labels: one key per choice of each knob (lab/lessons/playground.py CHOICE_KEYS)
    **{f"playground.{url}_": (lambda url=url: set(pg.CHOICE_KEYS[url].values())) for url in pg.CHOICE_KEYS},
}


def placeholders(text):
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_both_languages_have_the_same_keys():
    en, zh = table("en"), table("zh")
    assert set(en) == set(zh), {"only in en": sorted(set(en) - set(zh)), "only in zh": sorted(set(zh) - set(en))}


@pytest.mark.parametrize("lang", LANGS)
def test_no_empty_values(lang):
    empty = [k for k, v in table(lang).items() if not str(v).strip()]
    assert not empty


def test_placeholders_match_between_languages():
    en, zh = table("en"), table("zh")
    differ = {k: (placeholders(en[k]), placeholders(zh[k])) for k in en if placeholders(en[k]) != placeholders(zh[k])}
    assert not differ


def test_chinese_is_translated():
    """A Chinese value identical to the English one, with words in it, is English left on the Chinese page."""
    en, zh = table("en"), table("zh")
    same = [k for k in en if zh[k] == en[k] and re.search(r"[A-Za-z]{3,}", en[k]) and not k.endswith("_url")]
    assert not same


def literal_keys():
    """(file, key) for every string literal in the code that names a key of a known section."""
    return {(p.name, k) for p in SOURCES for k in LITERAL_KEY.findall(p.read_text()) if k.split(".")[0] in SECTIONS}


def dynamic_prefixes():
    """(file, prefix) for every f-string that builds a key: the text before its first {...}."""
    return {(p.name, pre) for p in SOURCES for pre in DYNAMIC_KEY.findall(p.read_text())
            if pre == "" or pre.split(".")[0] in SECTIONS}


def test_every_literal_key_used_in_code_exists():
    keys = set(table("en"))
    used = literal_keys()
    assert len(used) > 100, "the scan found few keys: the pattern is broken"
    missing = sorted((f, k) for f, k in used if k not in keys)
    assert not missing


def test_every_dynamic_key_family_is_known_and_complete():
    keys = set(table("en"))
    prefixes = dynamic_prefixes()
    unknown = sorted((f, pre) for f, pre in prefixes if pre not in DYNAMIC_FAMILIES)
    assert not unknown, "an f-string key with a prefix this test does not know: add it to DYNAMIC_FAMILIES"
    for _, prefix in prefixes:
        missing = sorted(DYNAMIC_FAMILIES[prefix]() - keys)
        assert not missing, (prefix, missing)


def test_every_key_in_the_tables_is_used():
    used = {k for _, k in literal_keys()}
    for _, prefix in dynamic_prefixes():
        used |= DYNAMIC_FAMILIES[prefix]()
    unused = sorted(set(table("en")) - used)
    assert not unused


def test_error_codes_are_found():
    """The families above are built by scanning code: make sure the scans find what they should."""
    assert {"batch_of_one", "batch_too_large", "not_positive"} <= _config_error_codes()
    assert {"empty", "parse", "non_numeric", "missing", "too_large"} <= {c.code for c in _subclasses(CsvError)}
    assert issubclass(ConfigError, ValueError)


BARE_CALL = re.compile(r"""\bt\(\s*["']([a-z_]+\.[A-Za-z0-9_]+)["']\s*\)""")
TEMPLATES = {"playground.class"}  # formatted later, by the figure that draws one label per class


def test_no_text_with_placeholders_is_shown_unfilled():
    """t("key") without arguments returns the text as it is: a {placeholder} outside LaTeX would be shown raw."""
    en = table("en")
    unfilled = []
    for p in SOURCES:
        for key in BARE_CALL.findall(p.read_text()):
            prose = re.sub(r"\$\$.*?\$\$|\$[^$]*\$", "", en.get(key, ""), flags=re.S)  # LaTeX braces are not fields
            if key not in TEMPLATES and placeholders(prose):
                unfilled.append((p.name, key, sorted(placeholders(prose))))
    assert not unfilled


def test_no_english_article_before_a_number_that_may_need_the_other_one():
    """ "a {pred}" reads "a 8" for an eight (and "an {n}" fails the other way): a placeholder that may hold a
    number has no article in front of it."""
    article = re.compile(r"\b(a|an) \**\{\w+\}", re.I)
    found = {k: v for k, v in table("en").items() if article.search(v)}
    assert not found, found
