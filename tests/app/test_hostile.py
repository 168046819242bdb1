"""Hostile and broken input, every page (issue 7, §5): what a student who pastes a broken link or uploads the wrong
file gets. Each case runs the app under AppTest, straight from a link, and checks that

- no exception element appears and nothing is logged as an error;
- nothing the user supplied reaches the screen as Markdown or HTML: in every text Streamlit renders as Markdown
  (element bodies, widget labels and help, radio options) the user's text is only inside code spans, at most
  40 characters long, and no chart carries it;
- no NumPy warning escapes (RuntimeWarning is an error here);
- either the page works, or a message in the user's language says what to change, and the rest of the page stays
  usable (the sidebar, the knobs; switching the language afterwards works).

Slow-marked (a few minutes on two cores): ``make test`` runs it; ``-m "not slow"`` leaves it out while editing.
"""
import json
import logging
import re
import tomllib

import numpy as np
import pytest
import streamlit as st
from apptest_util import ROOT, TIMEOUT
from google.protobuf.message import Message
from streamlit.testing.v1 import AppTest
from test_page_playground import chart_numbers

from bn_core import TrainConfig
from bn_core.data import MAX_CSV_BYTES, MAX_CSV_CLASSES, MAX_CSV_COLUMNS, MAX_CSV_ROWS
from lab import shell
from lab.i18n import LITERAL_LIMIT, literal, translate
from lab.urlparams import MAX_SEED, PARAM_BY_URL, PARAMS, SHELL_DEFAULTS, SHELL_PARAMS, config_values

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("error::RuntimeWarning")]

PLAYGROUND = shell.PLAYGROUND.file
SMALL = {"data": "xor", "depth": "1", "width": "8", "steps": "20", "every": "5"}  # trains in a fraction of a second

# ---- what a hostile user types, and what must never reach the screen from it ----
LONG = "L" + "Z" * 4999  # a 5,000-character value
HOSTILE_TEXT = {
    "img": "<img src=x onerror=alert(1)>",
    "bold": "<b>bold</b>",
    "script": "<script>alert(1)</script>",
    "link": "](http://evil.example/x.png)",  # closes a bracket, opens a link
    "image": "`![x](http://evil.example/y.png)`",  # closes the app's code span first
    "backticks": "``a` `` `](http://evil.example/z.png)",
    "math": "$x$ $$y$$",
    "lines": "a\n\n# heading",
    "controls": "a\u202eb\x00c\u200bd\te",  # a right-to-left override, a NUL, a zero-width space, a tab
    "long": LONG,
}
# Pieces of those that Markdown or HTML would turn into something else; none may appear outside a code span.
TOKENS = ("<img", "onerror", "<b>", "</b>", "<script", "evil.example", "$x$", "$$y$$", "# heading", "Z" * 50,
          "\u202e")
USER_MARKS = tuple({token[:4] for token in TOKENS})  # a code span holding one of these quotes the user

# ---- reading the screen ----
MARKDOWN_FIELDS = {"body", "label", "help", "text", "message", "placeholder", "caption"}  # Streamlit renders Markdown
PLACEHOLDER = re.compile(r"(?<![\\\w^_])\{[a-z_]{2,}\}")  # a string-table {placeholder} left unfilled (not LaTeX)


def deep_link(page, query, locale="en-US"):
    """A fresh session that opens ``page`` straight from a link with ``query`` (a browser in ``locale``)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.context = {"locale": locale}
    for name, value in query.items():
        at.query_params[name] = value
    at.switch_page(page)
    return at.run()


def _nodes(node):
    yield node
    for child in getattr(node, "children", {}).values():
        yield from _nodes(child)


def _strings(message):
    """(field name, text) of every string in a protobuf message, nested messages included."""
    for field, value in message.ListFields():
        for v in (value if hasattr(value, "extend") else [value]):  # a repeated field, or one value
            if isinstance(v, Message):
                yield from _strings(v)
            elif isinstance(v, str):
                yield field.name, v


def screen(at):
    """``(markdown, charts)``: every text on the screen that is rendered as Markdown, and every chart's spec."""
    markdown, charts = [], []
    for node in _nodes(at._tree):
        proto = getattr(node, "proto", None)
        if proto is None:
            continue
        kind = type(proto).__name__
        for name, text in _strings(proto):
            if kind == "PlotlyChart" and name == "spec":
                charts.append(text)
            elif name in MARKDOWN_FIELDS or (kind == "Radio" and name == "options"):
                markdown.append(text)
    return markdown, charts


def code_spans(text):
    """``(text outside code spans, [contents of code spans])``, as CommonMark reads inline code: a run of n backticks
    opens a span that the next run of exactly n backticks closes; a run without a partner is literal text."""
    runs = list(re.finditer(r"`+", text))
    outside, spans, pos, i = [], [], 0, 0
    while i < len(runs):
        opener = runs[i]
        close = next((j for j in range(i + 1, len(runs)) if len(runs[j].group()) == len(opener.group())), None)
        if close is None:
            i += 1
            continue
        outside.append(text[pos:opener.start()])
        spans.append(text[opener.end():runs[close].start()])
        pos, i = runs[close].end(), close + 1
    outside.append(text[pos:])
    return "".join(outside), spans


def assert_shown_literally(at):
    """Nothing user-supplied is rendered: the hostile values and their pieces only inside code spans of at most 40
    characters, never in a chart; no unfilled string-table placeholder."""
    markdown, charts = screen(at)
    for text in markdown:
        outside, spans = code_spans(text)
        for token in (*TOKENS, *HOSTILE_TEXT.values()):
            assert token not in outside, (token, text[:300])
        for span in spans:
            if any(mark in span for mark in USER_MARKS):
                assert len(span) <= LITERAL_LIMIT, (len(span), span[:80])
            assert span.isprintable(), span  # no control character that hides or reorders what is shown
        assert not PLACEHOLDER.search(text), text[:300]
    for spec in charts:
        for token in TOKENS:
            assert token not in spec, token


def texts(elements):
    return [str(e.value) for e in elements]


def message_pattern(lang, key):
    """A regex of the message ``key`` in ``lang`` with anything in its placeholders (named groups)."""
    parts, seen = re.split(r"\{(\w+)\}", translate(lang, key)), set()
    out = []
    for i, part in enumerate(parts):
        if i % 2 == 0:
            out.append(re.escape(part))
        else:
            out.append(f"(?P={part})" if part in seen else f"(?P<{part}>.+?)")
            seen.add(part)
    return re.compile("".join(out), re.S)


def find_message(elements, lang, key):
    """The placeholder values of the one element showing message ``key`` in ``lang`` (fails if there is none)."""
    pattern = message_pattern(lang, key)
    found = [m.groupdict() for text in texts(elements) if (m := pattern.fullmatch(text))]
    assert found, (key, lang, texts(elements))
    return found[0]


@pytest.fixture(autouse=True)
def no_logged_errors(caplog):
    """A traceback in the server log is a failure even when the page looks fine."""
    with caplog.at_level(logging.ERROR):
        yield
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]


def assert_usable(at, lang, lesson):
    """No exception, the shared sidebar is there in ``lang``, the page's own title too."""
    assert not at.exception, texts(at.exception)
    assert at.sidebar.radio and at.sidebar.radio[0].value == lang
    assert at.sidebar.number_input and at.title
    assert at.title[0].value == translate(lang, f"{lesson.key}.title")


def switch_language(at, lang, lesson):
    """The rest of the page still works: switch the language in the sidebar; the page reruns in it.

    AppTest formats the page's widget values in the test process, with the page's format_funcs (which may call t()):
    the test process speaks the page's language meanwhile (tests/conftest.py puts it back to English)."""
    other = "zh" if lang == "en" else "en"
    st.session_state["lang"] = lang
    at.sidebar.radio[0].set_value(other).run()
    st.session_state["lang"] = other
    assert_usable(at, other, lesson)
    return other


# ---- 1. every URL parameter of every page ----

def _out_of_range(param, side):
    """A value just outside ``param``'s range (or not one of its choices)."""
    if param.kind is str:
        return "klingon"
    if param.kind is bool:
        return "2"
    if param.kind is int:
        return str(int(param.lo) - 1 if side == "below" else int(param.hi) + 1)
    if side == "below":
        return repr(param.lo / 2) if param.lo > 0 else repr(param.lo - 0.01)
    return repr(param.hi * 1.5)


URL_VALUES = {  # kind -> the value given to every parameter at once (each one is invalid for every parameter)
    "garbage": "abc", "empty": "", "nan": "NaN", "inf": "inf", "-inf": "-Infinity", "1e309": "1e309",
    "negative": "-1", "huge": "9" * 400, "duplicated": ["abc", HOSTILE_TEXT["bold"]],  # the last one counts
    "below": "below", "above": "above", **HOSTILE_TEXT,
}
UNKNOWN_NAMES = {"zzz": "1", HOSTILE_TEXT["img"]: "x", "__proto__": HOSTILE_TEXT["link"]}  # ignored: no message


def _hide_is_bad(raw):
    """True when ``?hide=raw`` is not a comma list of knob names (an empty value hides nothing and is fine)."""
    try:
        PARAM_BY_URL["hide"].parse(raw)
    except ValueError:
        return True
    return False


def _defaults(lang):
    base = {**config_values(TrainConfig()), **SHELL_DEFAULTS, "lang": lang, "seed": 0}
    return {p.url: p.format(base[p.url]) for p in PARAMS}


@pytest.mark.parametrize("kind", list(URL_VALUES))
@pytest.mark.parametrize("lesson", shell.LESSONS, ids=lambda lesson: lesson.url_path)
def test_every_url_parameter_of_every_page(lesson, kind):
    lang = ("en", "zh")[list(URL_VALUES).index(kind) % 2]  # half the kinds with a Chinese browser
    value = URL_VALUES[kind]
    query = {p.url: _out_of_range(p, value) if kind in ("below", "above") else value for p in PARAMS}
    at = deep_link(lesson.file, {**query, **UNKNOWN_NAMES}, locale={"en": "en-US", "zh": "zh-CN"}[lang])
    assert_usable(at, lang, lesson)  # an invalid lang falls back to the browser's language
    # one warning per parameter the page reads, naming it, its value (shortened, literal) and the default used
    read = [p for p in (PARAMS if lesson == shell.PLAYGROUND else SHELL_PARAMS) if p.url != "hide"]
    if "hide" in query:  # a bad list of knobs to hide has no default to name: its warning says it is ignored
        ignored = message_pattern(lang, "present.bad_param_ignored")
        hide_raw = query["hide"][-1] if isinstance(query["hide"], list) else query["hide"]
        said = [m.groupdict() for text in texts(at.warning) if (m := ignored.fullmatch(text))]
        assert said == [dict(name=literal("hide"), value=literal(hide_raw))] or not _hide_is_bad(hide_raw)
    pattern = message_pattern(lang, "shell.bad_param")
    shown = [m.groupdict() for text in texts(at.warning) if (m := pattern.fullmatch(text))]
    raw = {url: v[-1] if isinstance(v, list) else v for url, v in query.items()}
    defaults = _defaults(lang)
    expected = [dict(name=literal(p.url), value=literal(raw[p.url]), default=literal(defaults[p.url])) for p in read]
    assert sorted(shown, key=str) == sorted(expected, key=str)
    assert_shown_literally(at)
    if kind == "long":  # never echoed whole: 39 characters and an ellipsis, in a code span
        assert all(w["value"] == "`" + LONG[:LITERAL_LIMIT - 1] + "…`" for w in shown)
        assert all(LONG[:LITERAL_LIMIT] not in text for text in screen(at)[0])
    if lesson == shell.PLAYGROUND:  # the defaults are used: the default experiment trains and is drawn
        assert at.get("plotly_chart")
    other = switch_language(at, lang, lesson)
    again = message_pattern(other, "shell.bad_param")
    assert not [text for text in texts(at.warning) if again.fullmatch(text)]  # the corrected link: no warning again


# ---- 2. the Playground's knobs at their limits: absurd learning rates and weight scales, batch of one, size ----

def run_names(lang):
    return [translate(lang, "common.with_bn"), translate(lang, "common.without_bn")]


def divergences(at, lang):
    """``[(run name, step)]`` of the "diverged at step N (why). The fix." errors on the page."""
    pattern = re.compile(message_pattern(lang, "common.diverged").pattern, re.S)
    reasons = {translate(lang, f"divergence.{r}") for r in ("exploding_loss", "nan_loss", "non_finite_activations")}
    found = [m.groupdict() for text in texts(at.error) if (m := pattern.fullmatch(text))]
    assert all(f["reason"] in reasons and f["fix"] == translate(lang, "common.diverged_fix") for f in found), found
    return [(f["name"], int(f["step"])) for f in found]


def assert_trained(at, lang):
    """The page works: no error, the charts are drawn, the takeaways box says what the run shows."""
    assert not at.error, texts(at.error)
    assert at.get("plotly_chart")
    assert translate(lang, "common.takeaways") in " ".join(texts(at.markdown))


KNOB_CASES = {  # name -> (query on top of SMALL, what the page must do)
    "largest_lr": ({"lr": "1000"}, "diverges"),
    "largest_lr_and_momentum": ({"lr": "1000", "mom": "0.99"}, "diverges"),
    "largest_sigma_deep_relu": ({"sigma": "10", "act": "relu", "depth": "6", "width": "64", "lr": "1"}, "diverges"),
    "raw_digits_largest_lr": ({"data": "digits", "prep": "raw", "lr": "1000"}, "diverges"),
    "smallest_lr": ({"lr": "1e-05"}, "trains"),
    "smallest_sigma": ({"sigma": "0.0001"}, "trains"),
    "largest_sigma_sigmoid": ({"sigma": "10"}, "trains"),
    "smallest_eps_batch_of_two": ({"eps": "1e-10", "batch": "2"}, "trains"),
    "bn_momentum_0": ({"bnmom": "0", "mode": "single"}, "trains"),
    "bn_momentum_1": ({"bnmom": "1", "mode": "single"}, "trains"),
    "deepest_widest": ({"depth": "6", "width": "512"}, "trains"),
    "shallowest_narrowest": ({"depth": "1", "width": "2"}, "trains"),
    "record_every_beyond_steps": ({"every": "1000"}, "trains"),
    "fewest_steps_every_step": ({"steps": "10", "every": "1"}, "trains"),
    "most_samples_most_noise": ({"n": "5000", "noise": "1"}, "trains"),
    "fewest_samples": ({"n": "100"}, "trains"),
    "largest_seed": ({"seed": str(MAX_SEED)}, "trains"),
    "batch_of_one_without_bn": ({"batch": "1", "mode": "single", "bn": "0"}, "trains"),
    "duplicated_values": ({"depth": ["2", "1"], "width": ["4", "8"]}, "trains"),  # the last one counts
    "batch_of_one_compare": ({"batch": "1"}, "batch_of_one"),
    "batch_of_one_with_bn": ({"batch": "1", "mode": "single", "bn": "1"}, "batch_of_one"),
    "batch_larger_than_the_data": ({"batch": "1024", "n": "100"}, "batch_too_large"),
}


@pytest.mark.parametrize("case", list(KNOB_CASES))
def test_the_playground_at_its_limits(case):
    lang = ("en", "zh")[list(KNOB_CASES).index(case) % 2]
    extra, outcome = KNOB_CASES[case]
    query = {**SMALL, **extra, "lang": lang}
    at = deep_link(PLAYGROUND, query)
    assert_usable(at, lang, shell.PLAYGROUND)
    assert not at.warning, texts(at.warning)  # every value is valid: nothing fell back to a default
    for url, value in extra.items():  # ... and each is the one the page uses
        used, asked = at.query_params[url], value[-1] if isinstance(value, list) else value
        used = used[-1] if isinstance(used, list) else used
        assert used == asked or float(used) == float(asked), (url, used, asked)
    if outcome == "trains":
        assert_trained(at, lang)
    elif outcome == "diverges":  # each run that diverged says at which step, why, and what to try
        found = divergences(at, lang)
        assert found and len(found) == len(texts(at.error)), texts(at.error)
        assert {name for name, _ in found} <= set(run_names(lang))
        assert all(1 <= step <= int(query["steps"]) for _, step in found)
        assert at.get("plotly_chart")  # what was trained before is still drawn, without a NaN
        assert all(np.isfinite(chart_numbers(json.loads(chart.proto.spec))).all() for chart in at.get("plotly_chart"))
    else:  # a config that cannot train says why before training, and the Train button waits for a fix
        find_message(at.error, lang, f"config_error.{outcome}")
        if case == "batch_of_one_compare":
            find_message(at.info, lang, "playground.batch_of_one_compare")
        assert at.button(key="pg_train").disabled and not at.get("plotly_chart")
    assert_shown_literally(at)
    other = switch_language(at, lang, shell.PLAYGROUND)
    if outcome == "diverges":
        assert divergences(at, other) == [(run_names(other)[run_names(lang).index(n)], s) for n, s in found]


# ---- 3. uploads through the Playground's file uploader ----

def csv_bytes(header, rows, sep=",", encoding="utf-8"):
    lines = [sep.join(header)] + [sep.join(str(v) for v in row) for row in rows]
    return ("\n".join(lines) + "\n").encode(encoding)


def two_features(n=40, label=lambda i: i % 2):
    return [(round(0.1 * i, 2), round(1 - 0.05 * i, 2), label(i)) for i in range(n)]


GOOD = csv_bytes(["u", "v", "label"], two_features())


def with_cell(row, col, value, n=40):
    rows = [list(r) for r in two_features(n)]
    rows[row][col] = value
    return csv_bytes(["u", "v", "label"], rows)


H = HOSTILE_TEXT
UPLOADS = {  # name -> (file bytes, the csv_error code, or (rows, features, classes) when the file is fine)
    "empty": (b"", "empty"),
    "blank_lines": (b"\r\n\n   \n", "empty"),
    "header_only": (b"u,v,label\n", "header_only"),
    "binary_png": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4, "binary"),
    "binary_xlsx": (b"PK\x03\x04\x14\x00\x06\x00" + bytes(range(256)) * 4, "binary"),
    "latin1": (("u,v,label\n" + "".join(f"{i},{i},café{i % 2}\n" for i in range(40))).encode("latin-1"), "encoding"),
    "utf16": (GOOD.decode().encode("utf-16"), (40, 2, 2)),
    "utf16_without_mark": (GOOD.decode().encode("utf-16-le"), (40, 2, 2)),
    "semicolons": (csv_bytes(["u", "v", "label"], two_features(), sep=";"), (40, 2, 2)),
    "tabs": (csv_bytes(["u", "v", "label"], two_features(), sep="\t"), (40, 2, 2)),
    "windows_lines_and_bom": (b"\xef\xbb\xbf" + GOOD.replace(b"\n", b"\r\n"), (40, 2, 2)),
    "decimal_commas": (csv_bytes(["u", "v", "label"], [(f"{i},5", i, i % 2) for i in range(40)], sep=";"),
                       "non_numeric"),
    "nan_cell": (with_cell(3, 0, "NaN"), "missing"),
    "nan_label": (with_cell(4, 2, "nan"), "missing"),
    "empty_cell": (with_cell(3, 1, ""), "missing"),
    "inf_cell": (with_cell(3, 0, "inf"), "out_of_range"),
    "minus_inf_cell": (with_cell(3, 0, "-Infinity"), "out_of_range"),
    "float_limit_cell": (with_cell(3, 1, "1.7e308"), "out_of_range"),
    "1e309_cell": (with_cell(3, 1, "1e309"), "out_of_range"),
    "text_cell": (with_cell(3, 0, "abc"), "non_numeric"),
    "html_cell": (with_cell(3, 0, H["img"]), "non_numeric"),
    "markdown_cell": (with_cell(3, 1, H["image"]), "non_numeric"),
    "long_cell": (with_cell(3, 1, LONG), "non_numeric"),
    "one_class": (csv_bytes(["u", "v", "label"], two_features(label=lambda i: 7)), "single_class"),
    "one_row": (csv_bytes(["u", "v", "label"], two_features(1)), "too_few_rows"),
    "two_rows": (csv_bytes(["u", "v", "label"], two_features(2)), "too_few_rows"),
    "a_class_of_one_row": (csv_bytes(["u", "v", "label"], two_features(label=lambda i: H["bold"] if i == 5 else 0)),
                           "small_class"),
    "hundreds_of_columns": (csv_bytes([f"f{j}" for j in range(200)] + ["label"],
                                      [[(i * j) % 7 for j in range(200)] + [i % 2] for i in range(40)]), (40, 200, 2)),
    "too_many_columns": (csv_bytes([f"f{j}" for j in range(MAX_CSV_COLUMNS)] + ["label"],
                                   [[j for j in range(MAX_CSV_COLUMNS)] + [i % 2] for i in range(20)]), "too_large"),
    "too_many_rows": (csv_bytes(["u", "v", "label"], two_features(MAX_CSV_ROWS + 1)), "too_large"),
    "over_the_size_limit": (b"u,v,label\n" + b"0.123456789,0.987654321,1\n" * (MAX_CSV_BYTES // 26 + 1),
                            "file_too_large"),
    "duplicate_columns": (csv_bytes(["u", "u", "label"], two_features()), "duplicate_columns"),
    "duplicate_html_columns": (csv_bytes([H["bold"], H["bold"], "label"], two_features()), "duplicate_columns"),
    "only_a_label_column": (csv_bytes(["label"], [(i % 2,) for i in range(40)]), "no_features"),
    "thousands_of_classes": (csv_bytes(["u", "v", "label"], two_features(2000, label=lambda i: i)),
                             "too_many_classes"),
    "html_column_names": (csv_bytes([H["img"], H["link"], H["script"]],
                                    two_features(label=lambda i: (H["bold"], H["math"])[i % 2])), (40, 2, 2)),
    "html_column_name_and_cell": (csv_bytes([H["backticks"], "v", "label"], [
        (H["math"] if i == 2 else i, i, i % 2) for i in range(40)]), "non_numeric"),
    "html_labels": (csv_bytes(["u", "v", "label"], two_features(label=lambda i: (H["bold"], H["script"])[i % 2])),
                    (40, 2, 2)),
    "quoted_header_with_separators": (csv_bytes(['"a,b"', '"c;d"', "label"], two_features()), (40, 2, 2)),
    "long_column_name": (csv_bytes([LONG, "v", "label"], [("x" if i == 0 else i, i, i % 2) for i in range(40)]),
                         "non_numeric"),
    "newline_in_a_column_name": (csv_bytes(['"a\n\n# heading"', "v", "label"],
                                           [("x" if i == 0 else i, i, i % 2) for i in range(40)]), "non_numeric"),
    "ragged_row": (GOOD + b"1,2,3,4\n", "ragged_row"),
    "unclosed_quote": (GOOD + b'"1,2,3\n4,5,6\n', "parse"),
    "unnamed_column": (csv_bytes(["u", "", "label"], two_features()), "unnamed_column"),
}
USER_TEXT_PARAMS = ("column", "label_column", "value", "columns", "available")  # echo the file's own text


def upload(lang, raw):
    at = deep_link(PLAYGROUND, {**SMALL, "data": "csv", "batch": "10", "lang": lang})
    assert_usable(at, lang, shell.PLAYGROUND)
    find_message(at.info, lang, "config_error.csv_needs_data")
    at.file_uploader(key="pg_file").set_value((HOSTILE_TEXT["img"] + ".csv", raw, "text/csv")).run()
    assert_usable(at, lang, shell.PLAYGROUND)
    return at


@pytest.mark.parametrize("case", list(UPLOADS))
def test_uploads(case):
    lang = ("en", "zh")[list(UPLOADS).index(case) % 2]
    raw, outcome = UPLOADS[case]
    at = upload(lang, raw)
    assert at.slider(key="pg_depth") and at.select_slider(key="pg_lr")  # the knobs are still there
    assert_shown_literally(at)
    if isinstance(outcome, tuple):  # a fine file: summarized, and ready to train
        assert not at.error, texts(at.error)
        summary = find_message(at.caption, lang, "playground.upload_summary")
        assert (int(summary["rows"]), int(summary["features"]), int(summary["classes"])) == outcome
        assert not at.button(key="pg_train").disabled
        if case == "quoted_header_with_separators":  # the label selector offers the loader's own columns
            assert at.selectbox(key="pg_label").options == ["a,b", "c;d", "label"]
        return
    found = find_message(at.error, lang, f"csv_error.{outcome}")
    for name in USER_TEXT_PARAMS:  # the file's own text is quoted literally: one code span, at most 40 characters
        if name in found:
            outside, spans = code_spans(found[name])
            assert spans and not outside.strip(", …"), found[name]
            assert all(len(span) <= LITERAL_LIMIT for span in spans), found[name]
    assert at.button(key="pg_train").disabled and not at.get("plotly_chart")
    other = switch_language(at, lang, shell.PLAYGROUND)
    find_message(at.error, other, f"csv_error.{outcome}")


def test_a_hostile_but_valid_upload_trains():
    at = upload("zh", UPLOADS["html_column_names"][0])
    assert at.selectbox(key="pg_label").value == HOSTILE_TEXT["script"]  # the last column, offered by its own name
    at.button(key="pg_train").click().run()
    assert_usable(at, "zh", shell.PLAYGROUND)
    assert_trained(at, "zh")
    assert_shown_literally(at)


def test_a_label_column_with_a_value_per_row_is_told_it_has_too_many_classes():
    """Not that the file is too short, nor that a class is too small: the column is not a class."""
    at = upload("en", csv_bytes(["u", "v", "label"], two_features(300)))
    at.selectbox(key="pg_label").set_value("u").run()
    assert_usable(at, "en", shell.PLAYGROUND)
    found = find_message(at.error, "en", "csv_error.too_many_classes")
    assert found["label_column"] == literal("u") and found["classes"] == "300"
    assert found["limit"] == str(MAX_CSV_CLASSES)


def test_the_apps_upload_limit_is_the_one_a_user_meets():
    """Streamlit refuses files over server.maxUploadSize with its own English message: that limit is set above the
    app's, so a file between the two gets the app's message in the user's language (the case above)."""
    with open(ROOT / ".streamlit" / "config.toml", "rb") as f:
        streamlit_limit_mb = tomllib.load(f)["server"]["maxUploadSize"]
    assert streamlit_limit_mb * 2**20 > MAX_CSV_BYTES
    assert len(UPLOADS["over_the_size_limit"][0]) > MAX_CSV_BYTES


@pytest.mark.parametrize("value, shown", [
    ("abc", "`abc`"),
    ("a`](http://evil.example/x.png)", "`aʹ](http://evil.example/x.png)`"),  # a backtick cannot end the span
    ("a\r\nb\u202ec\x00d\u200be", "`a  b c d e`"),  # line breaks and invisible characters become spaces
    (LONG, "`" + LONG[:LITERAL_LIMIT - 1] + "…`"),
    (12.5, "`12.5`"),
])
def test_literal_is_one_code_span_of_what_was_typed(value, shown):
    assert literal(value) == shown
    assert code_spans(literal(value)) == ("", [shown[1:-1]])
