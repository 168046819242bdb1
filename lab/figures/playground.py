"""Playground figures: the decision boundary of each run on a 2-D dataset. Pure functions, no streamlit."""
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lab.caches import figure_builder
from lab.figures.common import finite, layer_histograms, style

# Class colours (not the run colours: blue/orange mean with/without BN everywhere in the app).
CLASS_COLORS = ("#7048e8", "#0ca678", "#e64980", "#f59f00", "#1098ad", "#74b816", "#495057", "#d6336c", "#5f3dc4",
                "#2f9e44")


@figure_builder
def histograms(hists, names, activation, layer_titles, axis, colors, crowded=4):
    """lab.figures.layer_histograms, with the x-axis title on the first panel only when there are ``crowded`` or
    more layers (the titles would run into each other)."""
    fig = layer_histograms(hists, names, activation, layer_titles, axis, colors=colors)
    n_layers = sum(1 for name in fig.layout if name.startswith("xaxis"))
    if n_layers >= crowded:
        fig.update_xaxes(title_text=None)
        fig.update_xaxes(title_text=axis["x"], row=1, col=1)
    return fig


def _class_color(k):
    return CLASS_COLORS[k % len(CLASS_COLORS)]


@figure_builder
def decision_boundary(xs, ys, predictions, X_test, y_test, titles, axis, empty_text=""):
    """Side by side, per run: the predicted class over the input plane (a light heatmap) and the test points
    coloured by their true class.

    ``predictions``: per run an (len(ys), len(xs)) array of class ids, or None for a run with no boundary to draw
    (diverged): its panel shows ``empty_text``. ``axis``: x, y titles and ``class`` (a "{k}" template)."""
    n_runs = len(predictions)
    fig = make_subplots(rows=1, cols=n_runs, subplot_titles=titles, shared_yaxes=True, horizontal_spacing=0.05)
    n_classes = int(max([int(np.max(y_test)) + 1] + [int(np.max(p)) + 1 for p in predictions if p is not None]))
    scale = []
    for k in range(n_classes):  # a discrete colour scale: class k fills [k, k+1) / n_classes
        scale += [[k / n_classes, _class_color(k)], [(k + 1) / n_classes, _class_color(k)]]
    X_test, y_test = np.asarray(X_test, float), np.asarray(y_test)
    for col, z in enumerate(predictions, start=1):
        if z is None:
            fig.add_annotation(text=empty_text, showarrow=False, font=dict(size=16, color="#c92a2a"),
                               bgcolor="rgba(255,255,255,0.9)",
                               xref="x domain" if col == 1 else f"x{col} domain",
                               yref="y domain" if col == 1 else f"y{col} domain", x=0.5, y=0.5)
        else:
            fig.add_trace(go.Heatmap(x=xs, y=ys, z=np.asarray(z, float), zmin=-0.5, zmax=n_classes - 0.5,
                                     colorscale=scale, showscale=False, opacity=0.3, hoverinfo="skip"),
                          row=1, col=col)
        for k in range(n_classes):
            mask = y_test == k
            x, y = finite(X_test[mask, 0], X_test[mask, 1])
            fig.add_trace(go.Scatter(x=x, y=y, mode="markers", name=axis["class"].format(k=k),
                                     marker=dict(color=_class_color(k), size=7, line=dict(color="#222", width=0.8)),
                                     legendgroup=f"class{k}", showlegend=col == 1), row=1, col=col)
    fig.update_xaxes(title_text=axis["x"], range=[float(xs[0]), float(xs[-1])], constrain="domain")
    fig.update_yaxes(range=[float(ys[0]), float(ys[-1])])
    fig.update_yaxes(title_text=axis["y"], row=1, col=1)
    fig = style(fig, height=460)
    fig.update_layout(hovermode="closest")
    return fig
