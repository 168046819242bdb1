"""Every chart comes with its numbers (shell.chart): a "data" expander under each Plotly chart that, once opened,
shows the figure's numbers as a table (lab.figures.common.figure_data) and offers them as CSV."""
import base64
import json

import numpy as np
import plotly.graph_objects as go
import pytest
from apptest_util import no_exception, open_page
from conftest import in_language

from lab import shell
from lab.i18n import translate

PAGES = ["inputs", "saturation", "covariate_shift", "gamma_beta", "inference", "playground"]
QUERY = {"playground": dict(data="xor", depth="1", width="8", steps="60", every="10")}


def decoded(value):
    """A chart spec as the browser gets it, with plotly's base64 typed arrays turned back into arrays."""
    if isinstance(value, dict):
        if set(value) >= {"dtype", "bdata"}:
            array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
            shape = value.get("shape")
            return array if shape is None else array.reshape([int(n) for n in str(shape).split(",")])
        return {k: decoded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decoded(v) for v in value]
    return value


@pytest.mark.parametrize("page", PAGES)
def test_every_chart_has_a_data_expander(page):
    at = open_page(f"pages/{page}.py", query=QUERY.get(page))
    no_exception(at)
    charts = at.get("plotly_chart")
    expanders = [e for e in at.expander if e.label == translate("en", "common.data")]
    assert charts and len(expanders) == len(charts)
    assert not at.dataframe or page == "inference"  # closed: no table sent (the inference page has its own table)


def test_an_open_data_expander_shows_the_charts_numbers_and_a_csv_download():
    at = open_page("pages/saturation.py", lang="zh")
    at.session_state["sat_grad__data"] = True  # what clicking the expander does
    at.run()
    no_exception(at)
    spec = json.loads(next(c for c in at.get("plotly_chart") if "sat_grad" in c.proto.id).proto.spec)
    shown = at.dataframe[0].value
    with in_language("zh"):
        expected = shell.data_table(go.Figure(decoded(spec)))
    panel, series = translate("zh", "common.data_panel"), translate("zh", "common.data_series")
    assert list(shown.columns) == [panel, series, "x", "y"]
    assert shown.equals(expected) and len(shown) > 0
    assert set(shown[panel]) == {translate("zh", "common.layer", n=n) for n in (1, 2, 3)}
    (button,) = at.get("download_button")
    assert button.proto.label == translate("zh", "common.download_csv")
