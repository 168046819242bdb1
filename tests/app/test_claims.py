"""The claims register (docs/CLAIMS.md) is complete and checkable, and the statements the fact audit of issue 8 found
false are gone from both languages."""
import re
import string
from pathlib import Path

import pytest

from bn_core import PROBE_SIZE
from bn_core.data import MAX_CSV_COLUMNS, MAX_CSV_ROWS
from lab.i18n import LANGS, table

ROOT = Path(__file__).resolve().parents[2]
CLAIMS = ROOT / "docs" / "CLAIMS.md"
TEST_REF = re.compile(r"(test_\w+\.py)::(test_\w+)")
CITATION = re.compile(r"\[([A-Za-z][A-Za-z0-9]*)(?=[\] ])")


def claim_rows():
    """(id, claim, [keys], source) for each row of the register's machine-readable table."""
    text = CLAIMS.read_text(encoding="utf-8")
    section = text.split("## Claims (machine-readable)", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        if not re.match(r"\| C\d+ \|", line):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        assert len(cells) == 4, f"a claim row needs 4 cells (id, claim, keys, source): {line}"
        claim_id, claim, keys, source = cells
        rows.append((claim_id, claim, [k.strip() for k in keys.split(";") if k.strip()], source))
    return rows


def references():
    text = CLAIMS.read_text(encoding="utf-8").split("## References", 1)[1]
    return set(re.findall(r"^- \[([A-Za-z][A-Za-z0-9]*)\]", text, re.MULTILINE))


ROWS = claim_rows()


def test_the_register_is_read():
    ids = [r[0] for r in ROWS]
    assert len(ids) >= 40, "the claims table is missing or unreadable"
    assert len(ids) == len(set(ids)), "duplicate claim ids"
    assert all(claim and keys and source for _, claim, keys, source in ROWS)


@pytest.mark.parametrize("lang", LANGS)
def test_every_claim_key_exists(lang):
    keys = set(table(lang))
    missing = sorted({(cid, k) for cid, _, ks, _ in ROWS for k in ks if k not in keys})
    assert not missing


def test_every_claim_has_a_source():
    unsourced = [cid for cid, _, _, source in ROWS if not (TEST_REF.search(source) or CITATION.search(source))]
    assert not unsourced, "a claim needs a paper or a test; otherwise remove or rewrite it in the tables"


def test_every_citation_is_a_listed_reference():
    listed = references()
    assert {"IS15", "STIM18"} <= listed
    cited = {(cid, ref) for cid, _, _, source in ROWS for ref in CITATION.findall(source)}
    unknown = sorted((cid, ref) for cid, ref in cited if ref not in listed)
    assert not unknown


def test_every_cited_test_exists():
    """By file name anywhere under tests/, so moving a test file to another folder keeps its citations valid."""
    missing = []
    for cid, _, _, source in ROWS:
        for file_name, function in TEST_REF.findall(source):
            files = list((ROOT / "tests").rglob(file_name))
            if not any(re.search(rf"^def {function}\(", f.read_text(encoding="utf-8"), re.MULTILINE) for f in files):
                missing.append((cid, f"{file_name}::{function}"))
    assert not missing


def test_the_source_check_can_fail():
    assert not TEST_REF.search("the paper says so") and not CITATION.search("common sense")
    assert TEST_REF.search("test_inference.py::test_population_statistics_by_hand")
    assert CITATION.findall("[IS15 §3.3]; [GB10]") == ["IS15", "GB10"]


# --- Statements the fact audit found false (issue 8, section 1) ---------------------------------------------------

RETIRED = [
    ("en", r"\b256 training images", "the engine probes PROBE_SIZE images: the number comes from the code"),
    ("zh", r"256 张", "the engine probes PROBE_SIZE images: the number comes from the code"),
    ("en", r"Algorithm 2 as written|as Algorithm 2 writes it", "Algorithm 2's line 11 already is the affine form"),
    ("zh", r"按算法 ?2 ?原式", "Algorithm 2's line 11 already is the affine form"),
    ("en", r"\*\*6 operations\*\*|by 6 operations", "ε and the square root are computed once per unit"),
    ("zh", r"共 \*\*6 次运算|省 6 次运算", "ε and the square root are computed once per unit"),
    ("en", r"uW \+ c|0 operations\*\* for BN", "no bias before BN: folding adds one bias per unit"),
    ("zh", r"uW \+ c|开销为 \*\*0 次运算", "no bias before BN: folding adds one bias per unit"),
    ("en", r"fixed linear map", "eval-mode BN is affine"),
    ("en", r"found in general|found that BN does not", "Santurkar et al. argued; their finding was about noisy BN"),
    ("zh", r"普遍发现|发现 BN 并不一定", "Santurkar et al. argued; their finding was about noisy BN"),
    ("en", r"still remembers its start|still carries its start", "the start weighs (1 − α)^T: often negligible"),
    ("zh", r"还记着初始值|还留着初始值", "the start weighs (1 − α)^T: often negligible"),
    ("en", r"closer to even", "printed when the ratio was merely smaller, not closer to 1"),
    ("zh", r"更均衡", "printed when the ratio was merely smaller, not closer to 1"),
    ("zh", r"快 \{ratio\} 倍", "a literal phrasing; and the steps are read on the record grid"),
    ("zh", r"正在训练\{name\}", "a literal phrasing"),
]


@pytest.mark.parametrize("lang, pattern, why", RETIRED)
def test_retired_statements_are_gone(lang, pattern, why):
    found = [key for key, text in table(lang).items() if re.search(pattern, text)]
    assert not found, why


def sentences(text):
    return [s for s in re.split(r"(?<=[.!?。！？；;])\s*", text) if s.strip()]


@pytest.mark.parametrize("lang, dead", [("en", r"\bdead\b|\bdie"), ("zh", r"死")])
def test_leaky_relu_is_never_called_dead(lang, dead):
    """A leaky unit still passes back part of its gradient below 0: 'dead' is said of ReLU only."""
    wrong = [(key, s) for key, text in table(lang).items() for s in sentences(text)
             if re.search(r"leaky", s, re.IGNORECASE) and re.search(dead, s)]
    assert not wrong
    for key in ("saturation.below_zero_title", "saturation.y_below_zero", "saturation.tk_below_zero"):
        assert not re.search(dead, table(lang)[key]), key


def test_dead_units_are_relu_units():
    for lang in LANGS:
        assert "ReLU" in table(lang)["saturation.dead_title"] and "ReLU" in table(lang)["saturation.tk_dead"]


def test_the_identity_argument_uses_population_values():
    for lang, batch in (("en", "batch"), ("zh", "小批量")):
        t = table(lang)
        assert "√Var[x]" in t["gamma_beta.intro"] and "E[x]" in t["gamma_beta.intro"], lang
        assert "Var[x]" in t["gamma_beta.say_undone"], lang
        for key in ("gamma_beta.undo", "gamma_beta.undo_help", "gamma_beta.math_identity", "gamma_beta.say_undone"):
            assert batch in t[key], (lang, key)  # the demo undoes BN for one batch, and says so


def test_the_learned_gamma_verdict_says_sigma_b_follows_the_weights():
    for lang in LANGS:
        text = table(lang)["gamma_beta.say_learned_scale"]
        assert "‖W‖" in text and "{sigma_b}" in text, lang


def test_the_seeds_standard_gaussian_claim_is_corrected():
    assert "standard Gaussian" in table("en")["gamma_beta.intro"] and "shape" in table("en")["gamma_beta.intro"]
    assert "标准正态" in table("zh")["gamma_beta.intro"] and "形状" in table("zh")["gamma_beta.intro"]


def test_covariate_shift_keeps_observation_and_cause_apart():
    for lang, words in (("en", ("observation", "causal", "by construction", "argued")),
                        ("zh", ("观察", "因果", "构造使然", "认为"))):
        intro = table(lang)["ics.intro"]
        assert all(w in intro for w in words), lang
        assert words[2] in table(lang)["ics.say_claim_holds"], lang
        assert "Santurkar" not in table(lang)["ics.say_claim_fails"], lang


def test_folding_adds_a_bias_and_eval_bn_is_affine():
    for lang, bias, affine in (("en", "bias", "affine"), ("zh", "偏置", "仿射")):
        t = table(lang)
        assert bias in t["inference.alg2_fold"] and bias in t["inference.fold_text"], lang
        for key in ("inference.intro", "inference.alg2_affine", "inference.fold_text", "home.alg2_caption"):
            assert affine in t[key], (lang, key)


def placeholders(text):
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


# Numbers the code owns come in as placeholders, never typed twice. The comment names what fills each one.
FROM_CODE = {
    "ics.math_intro": ({"probe"}, [str(PROBE_SIZE), "256"]),  # bn_core.train.PROBE_SIZE
    "ics.setup": ({"depth", "width", "batch"}, ["batch 60", "100 sigmoid", "批量大小 60"]),  # the ICS config
    "gamma_beta.setup": ({"depth", "width"}, ["3 × 100"]),  # len(config.hidden), config.hidden[0]
    "inference.run_caption": ({"depth", "width"}, ["3 × 100"]),
    "inference.width_help": ({"width"}, ["100 units", "100 个单元"]),
    "inference.cost_title": ({"depth", "width"}, ["3 ×"]),
    "inference.fold_text": ({"n_written", "n_affine", "n_folded"}, ["6 operations", "6 次运算"]),  # OPS_BN_*
    "inference.cost_text": ({"saved"}, ["6 operations", "6 次运算"]),
    "inference.tk_cost": ({"folded", "saved"}, ["linear layer 0", "线性层则为 0"]),
    "saturation.hist_caption": ({"low", "edge", "probe"}, ["10%", "±10"]),  # SATURATION_SHARE, HIST_EDGES[-1]
    "inputs.hist_caption": ({"low"}, ["10%", "100 units", "100 个单元"]),
    "inputs.tk_saturated": ({"low"}, ["10%"]),
    "inputs.tk_not_saturated": ({"low"}, ["10%"]),
    "gamma_beta.math_terms": ({"low"}, ["10%"]),
    "playground.upload_help": ({"mb", "rows", "columns"}, [str(MAX_CSV_ROWS), str(MAX_CSV_COLUMNS)]),  # MAX_CSV_*
}


@pytest.mark.parametrize("key", sorted(FROM_CODE))
def test_numbers_come_from_the_code(key):
    names, typed = FROM_CODE[key]
    for lang in LANGS:
        text = table(lang)[key]
        assert names <= placeholders(text), (lang, key, names - placeholders(text))
        assert not [n for n in typed if n in text], (lang, key)
