"""The string tables speak the glossary (docs/GLOSSARY.md): one term per concept in each language, no hard-wrapped
Chinese, one meaning per σ mark, accuracy differences in percentage points."""
import re
from pathlib import Path

import pytest

from lab.i18n import table

ROOT = Path(__file__).resolve().parents[2]
GLOSSARY = ROOT / "docs" / "GLOSSARY.md"
COLUMNS = ("id", "en", "zh", "zh_replaces", "en_replaces", "aliases_in")


def glossary_rows():
    """The rows of the glossary's machine-readable table, as dicts over COLUMNS; list cells split on ';'."""
    lines = GLOSSARY.read_text(encoding="utf-8").splitlines()
    start = lines.index("## Terms (machine-readable)")
    rows = []
    for line in lines[start + 1:]:
        if line.startswith("## "):
            break
        if not line.startswith("| ") or line.startswith("| ---") or line.startswith("| id |"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        assert len(cells) == len(COLUMNS), f"a glossary row needs {len(COLUMNS)} cells: {line}"
        row = dict(zip(COLUMNS, cells))
        for name in ("zh_replaces", "en_replaces", "aliases_in"):
            row[name] = [] if row[name] == "—" else [t.strip() for t in row[name].split(";") if t.strip()]
        rows.append(row)
    return rows


ROWS = glossary_rows()


def replaced_uses(lang, values):
    """(key, replaced term, glossary id) for every value of ``values`` (a ``lang`` table) that uses a term the
    glossary replaces."""
    column = "zh_replaces" if lang == "zh" else "en_replaces"
    found = []
    for key, text in values.items():
        for row in ROWS:
            if key in row["aliases_in"]:
                continue
            for term in row[column]:
                if lang == "zh":
                    hit = term.lower() in text.lower()
                else:
                    hit = re.search(rf"(?<![\w-]){re.escape(term)}(?![\w-])", text, re.IGNORECASE)
                if hit:
                    found.append((key, term, row["id"]))
    return found


def test_the_glossary_table_is_read():
    ids = [r["id"] for r in ROWS]
    assert len(ids) >= 30 and len(ids) == len(set(ids)), "the table is missing or has duplicate ids"
    must = {"bn": "批量规范化", "minibatch": "小批量", "ics": "内部协变量偏移", "eval_mode": "评估模式",
            "train_mode": "训练模式", "gamma": "拉伸参数", "beta": "偏移参数", "saturation": "饱和",
            "vanishing": "梯度消失", "truncated": "截断正态分布", "logits": "logits"}
    by_id = {r["id"]: r for r in ROWS}
    for term_id, zh in must.items():
        assert zh in by_id[term_id]["zh"], term_id
    assert "推理模式" in by_id["eval_mode"]["zh_replaces"]  # one inference-time mode: 评估模式, never 推理模式


def test_alias_keys_exist_in_both_languages():
    keys = set(table("en")) & set(table("zh"))
    missing = sorted({k for r in ROWS for k in r["aliases_in"]} - keys)
    assert not missing


def test_a_chosen_term_is_never_also_replaced():
    """The glossary contradicts itself if one concept's term is another's forbidden word."""
    replaced = {t.lower(): r["id"] for r in ROWS for t in r["zh_replaces"]}
    clash = [(r["id"], t, replaced[t]) for r in ROWS for t in replaced if t in r["zh"].lower().split("（")[0]]
    assert not clash


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_tables_use_no_replaced_term(lang):
    found = replaced_uses(lang, table(lang))
    assert not found, "use the glossary's term (docs/GLOSSARY.md) instead: " + "; ".join(
        f"{key} uses {term!r} ({term_id})" for key, term, term_id in found)


def test_the_replaced_term_check_finds_a_planted_term():
    """The check above must be able to fail: plant English 'mini-batch' and both modes in a Chinese value."""
    planted = dict(table("zh"), **{"common.takeaways": "在每个 mini-batch 上……评估模式与推理模式"})
    found = {(k, t) for k, t, _ in replaced_uses("zh", planted)}
    assert {("common.takeaways", "mini-batch"), ("common.takeaways", "推理模式")} <= found


# --- Line breaks in Chinese text (the rule is spelled out in docs/GLOSSARY.md) ------------------------------------

LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s")


def hard_wraps(text):
    """The line breaks of ``text`` that fall inside a paragraph and are not allowed there, as (line, next line)."""
    bad = []
    for paragraph in re.split(r"\n[ \t]*\n", text.strip("\n")):
        lines = paragraph.split("\n")
        in_math = False
        for before, after in zip(lines, lines[1:]):
            if before.strip() == "$$":
                in_math = not in_math
            fence = before.strip() == "$$" or after.strip() == "$$"
            table_row = before.lstrip().startswith("|") and after.lstrip().startswith("|")
            if not (in_math or fence or table_row or LIST_ITEM.match(after)):
                bad.append((before, after))
    return bad


@pytest.mark.parametrize("text", [
    "一段话。\n\n另一段话。",
    "\n一段话，前后有 TOML 的换行。\n",
    "三种方式：\n\n1. 第一种\n2. 第二种\n- 还有一项",
    "公式如下：\n$$\ny = \\gamma \\hat{x} + \\beta\n$$\n说明。",
    "| 列 | 列 |\n| --- | --- |\n| 值 | 值 |",
])
def test_allowed_line_breaks(text):
    assert hard_wraps(text) == []


@pytest.mark.parametrize("text", [
    "在 3 个隐藏层、每层 100 个 sigmoid\n输入的分布",  # between Latin and CJK: a stray space in Chinese
    "它为每个单元学习一个\n**拉伸参数 γ**",
    "数值\n，标点",
    "第一段。\n\n第二段里\n断开了。",
])
def test_hard_wraps_are_found(text):
    assert hard_wraps(text)


def test_no_chinese_value_is_hard_wrapped():
    wrapped = {key: hard_wraps(text) for key, text in table("zh").items() if hard_wraps(text)}
    assert not wrapped, "join these lines (a line break inside a Chinese paragraph renders as a space): " + str(wrapped)


# --- One meaning per mark, one unit per quantity ------------------------------------------------------------------

BARE_SIGMA = re.compile(r"σ(?![_′(])")  # σ_w init scale, σ_B batch std, σ(x) / σ′ sigmoid: nothing else


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_sigma_always_says_which_sigma(lang):
    bare = {key: text[max(0, m.start() - 20):m.end() + 20] for key, text in table(lang).items()
            for m in BARE_SIGMA.finditer(text)}
    assert not bare, "σ_w (init scale), σ_B (batch) or σ(x) (sigmoid), never a bare σ: " + str(bare)


def test_the_sigma_check_can_fail():
    assert BARE_SIGMA.search("a smaller initial σ;") and not BARE_SIGMA.search("σ_w, σ_B², σ(x), σ′(x)")


POINTS_ALONE = re.compile(r"(?:\{\w+\}|\d[\d.,]*|half an?|a) points?\b")


def test_accuracy_differences_are_percentage_points():
    alone = {key: m.group(0) for key, text in table("en").items() for m in POINTS_ALONE.finditer(text)}
    assert not alone, "a difference of accuracies is in 'percentage points': " + str(alone)
    assert POINTS_ALONE.search("{spread} points apart") and not POINTS_ALONE.search("{spread} percentage points")


def test_logits_are_explained_where_the_glossary_says():
    for lang in ("en", "zh"):
        text = table(lang)["inference.modes_text"]
        assert "logits" in text and "softmax" in text, lang
