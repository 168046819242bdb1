"""The string tables: both languages complete and consistent, and every key the code asks for exists."""
import re
import string
from pathlib import Path

import pytest

from bn_core import DIVERGENCE_REASONS, ConfigError, CsvError
from lab import shell
from lab.i18n import LANGS, table

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py")), *sorted((ROOT / "lab").rglob("*.py"))]
LITERAL_KEY = re.compile(r"""\bt\(\s*["']([A-Za-z0-9_]+\.[A-Za-z0-9_]+)["']""")
DYNAMIC_KEY = re.compile(r"""\bt\(\s*f["']([^"'{]*)\{""")


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


def test_every_literal_key_used_in_code_exists():
    keys = set(table("en"))
    used = {(p.name, k) for p in SOURCES for k in LITERAL_KEY.findall(p.read_text())}
    assert used, "the scan found no t(...) calls at all: the pattern is broken"
    missing = sorted((f, k) for f, k in used if k not in keys)
    assert not missing


def test_every_dynamic_key_family_is_known_and_complete():
    keys = set(table("en"))
    prefixes = {(p.name, prefix) for p in SOURCES for prefix in DYNAMIC_KEY.findall(p.read_text())}
    unknown = sorted((f, pre) for f, pre in prefixes if pre not in DYNAMIC_FAMILIES)
    assert not unknown, "t(f'...') with a prefix this test does not know: add it to DYNAMIC_FAMILIES"
    for _, prefix in prefixes:
        missing = sorted(DYNAMIC_FAMILIES[prefix]() - keys)
        assert not missing, (prefix, missing)


def test_error_codes_are_found():
    """The families above are built by scanning code: make sure the scans find what they should."""
    assert {"batch_of_one", "batch_too_large", "not_positive"} <= _config_error_codes()
    assert {"empty", "parse", "non_numeric", "missing", "too_large"} <= {c.code for c in _subclasses(CsvError)}
    assert issubclass(ConfigError, ValueError)
