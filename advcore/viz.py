"""Plotly figure builders: numbers in, ``go.Figure`` out, no I/O.

Charts only. What the live pages redraw on every slider move is HTML instead (``advcore.pictures``: the
images; ``advcore.bars``: the class probabilities), which the browser swaps instead of redrawing a chart.

Figures are written as plain trace and layout dicts with the empty ``"none"`` template:
the dashboard's charts take Streamlit's theme in the page, and a named Plotly template
(or ``make_subplots``) costs 10-15 ms of validation per figure, which a class of 30
moving sliders pays on every move. Built this way a figure takes about 1 ms.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .i18n import CHART_FONT_FAMILY, N_, _

CLEAN, ADV, NOISE, TARGET, BOTH = "#1f77b4", "#d62728", "#7f7f7f", "#9467bd", "#444444"
LINE_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
                "#17becf")  # Plotly's default colour cycle, given per model so a model's lines share one
FONT_SIZE = 14  # px: the smallest chart text readable from the back of a classroom (presenter mode: 18)
_BASE = {"margin": {"l": 10, "r": 10, "t": 40, "b": 10}, "template": "none"}
# Fixed margins for charts with axis titles: Plotly's "automargin" redraws a chart until its margins settle,
# which made each slider move several times slower in the browser.
_AXES_MARGIN = {"l": 64, "r": 64, "t": 40, "b": 64}
# The charts redrawn on every slider move (probabilities, attack trace, eps curve) also keep legends and
# labels inside margins sized for them: else Plotly draws the chart, finds the legend pushing a margin
# and draws it all again (about a third of its time on each move).
_LIVE_MARGIN = {**_AXES_MARGIN, "autoexpand": False}
_LEGEND_TOP = {"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0}
Y_TITLES = {"robust_accuracy": N_("robust accuracy"), "attack_success_rate": N_("attack success rate"),
            "mean_l2": N_("mean l2")}  # sweep_chart's y axes (another column: its name, as it is)


def _figure(data: list[dict], font_size: int = FONT_SIZE, **layout) -> go.Figure:
    """A figure whose text is all ``font_size`` px: tick labels and legends too (Streamlit's chart theme sets
    those to 12 px unless the figure gives their size)."""
    for axis in {"xaxis", "yaxis", *(k for k in layout if k.startswith(("xaxis", "yaxis")))}:
        layout[axis] = {"tickfont": {"size": font_size}, **layout.get(axis, {})}
    layout["legend"] = {"font": {"size": font_size}, **layout.get("legend", {})}
    return go.Figure({"data": data, "layout": {**_BASE, "font": {"size": font_size, "family": CHART_FONT_FAMILY},
                                               **layout}})


def _title(text: str) -> dict:
    return {"text": text}


def _two_axes(x_title: str, left_title: str, right_title: str, right_range) -> dict:
    """Layout with a second y axis on the right (traces on it use ``yaxis="y2"``)."""
    return {"margin": _AXES_MARGIN, "xaxis": {"title": _title(x_title)}, "yaxis": {"title": _title(left_title)},
            "yaxis2": {"title": _title(right_title), "range": right_range, "autorange": False, "overlaying": "y",
                       "side": "right", "tickmode": "array", "tickvals": [0, 0.25, 0.5, 0.75, 1.0], "showgrid": False}}


def to_uint8_rgb(image: np.ndarray) -> np.ndarray:
    """float (H, W, C) in [0, 1] -> uint8 (H, W, 3)."""
    pixels = np.clip(np.round(np.asarray(image) * 255), 0, 255).astype(np.uint8)
    return np.repeat(pixels, 3, axis=-1) if pixels.shape[-1] == 1 else pixels


def eps_curve(eps: np.ndarray, true_prob: np.ndarray, other_prob: np.ndarray, flip_eps: float | None,
              height: int = 260, other_name: str | None = None, flip_text: str | None = None,
              font_size: int = FONT_SIZE, x_title: str | None = None, ticks_255: bool = False) -> go.Figure:
    """True-class and top-other-class (or target-class) probability of one image against eps, with the
    flip point. ``ticks_255``: eps axis ticks at whole grey levels, labelled k/255 (L∞ budgets)."""
    other_name = other_name or _("top other class")
    data = [{"type": "scatter", "x": np.asarray(eps), "y": np.asarray(p), "name": label, "mode": "lines+markers",
             "line": {"color": color}}
            for p, label, color in ((true_prob, _("true class"), CLEAN), (other_prob, other_name, ADV))]
    marks: dict = {}
    if flip_eps is not None:
        marks = {"shapes": [{"type": "line", "x0": flip_eps, "x1": flip_eps, "y0": 0, "y1": 1, "xref": "x",
                             "yref": "paper", "line": {"color": ADV}}],
                 "annotations": [{"x": flip_eps, "y": 0, "yref": "paper",
                                  "text": flip_text or _("flips at {eps}", eps=format(flip_eps, ".3f")),
                                  "showarrow": False, "xanchor": "left", "yanchor": "bottom"}]}
    xaxis = {"title": _title(x_title or _("eps (pixel units)"))}
    if ticks_255 and len(eps):
        top = float(np.max(eps)) * 255
        step = next((k for k in (1, 2, 4, 8, 16, 32, 64) if top / k <= 8), 128)
        levels = np.arange(0, int(top) + 1, step)
        xaxis.update(tickmode="array", tickvals=levels / 255, ticktext=[f"{k}/255" for k in levels])
    return _figure(data, font_size=font_size, height=height, xaxis=xaxis,
                   yaxis={"range": [0, 1.05], "title": _title(_("probability"))},
                   margin={**_LIVE_MARGIN, "t": 16 + 2 * (font_size + 6)}, legend=_LEGEND_TOP, **marks)


def sweep_chart(table: pd.DataFrame, y: str = "robust_accuracy", title: str | None = None,
                height: int = 380) -> go.Figure:
    """One line per (model, attack) of ``y`` against eps; x also labelled in /255.

    Rows of a defended sweep (``adaptive`` column, see ``shipped_sweeps.defended_sweep``) draw the naive
    attack dashed and the adaptive one solid in one colour, the area between them shaded: the accuracy
    the defence only seemed to give (Athalye, Carlini & Wagner 2018)."""
    data = []
    if "adaptive" not in table:
        table = table.assign(adaptive=np.nan)
    colours = {}  # one colour per model (or model + defence); the attack and the naive/adaptive mode set the dash
    for (model_id, attack, mode), rows in table.groupby(["model", "attack", "adaptive"], sort=False, dropna=False):
        rows = rows.sort_values("eps")
        defended = isinstance(mode, str)
        base = model_id.rsplit(" (", 1)[0] if defended else model_id
        line = {"color": colours.setdefault(base, LINE_COLOURS[len(colours) % len(LINE_COLOURS)]),
                "dash": ("dash" if mode == "none" else "solid") if defended else
                ("solid" if attack not in ("fgsm", "noise") else ("dashdot" if attack == "fgsm" else "dot"))}
        trace = {"_pair": (base, attack)} if defended else {}
        if y == "robust_accuracy" and defended and mode != "none" and data and data[-1].get("_pair") == (base, attack):
            rgb = ", ".join(str(int(line["color"][i:i + 2], 16)) for i in (1, 3, 5))
            trace["fill"], trace["fillcolor"] = "tonexty", f"rgba({rgb}, 0.2)"  # the naive-adaptive gap
        data.append({"type": "scatter", "x": rows["eps"].to_numpy(), "y": rows[y].to_numpy(),
                     "mode": "lines+markers", "name": f"{model_id} · {attack}", "line": line,
                     "customdata": rows["eps_255"].to_numpy(), **trace,
                     "hovertemplate": "eps %{x:.4f} (%{customdata:.1f}/255)<br>%{y:.3f}<extra></extra>"})
    for trace in data:
        trace.pop("_pair", None)
    y_axis = {"title": _title(_(Y_TITLES[y]) if y in Y_TITLES else y.replace("_", " "))}
    if y.endswith(("accuracy", "rate")):
        y_axis["range"] = [0, 1.02]
    return _figure(data, height=height, title=_title(title or _("accuracy under attack")),
                   xaxis={"title": _title(_("eps (pixel units)"))},
                   yaxis=y_axis, legend={"orientation": "v", "x": 1.01, "y": 1})  # one line a row, beside it


def training_curves(history: list[dict], height: int = 300) -> go.Figure:
    """Loss and accuracies against batch/epoch, from the trainer's report events."""
    frame = pd.DataFrame(history)
    data = []
    if len(frame):
        data = [{"type": "scatter", "x": frame["step"].to_numpy(), "y": frame["loss"].to_numpy(),
                 "name": _("loss"), "line": {"color": ADV}},
                {"type": "scatter", "x": frame["step"].to_numpy(), "y": frame["train_accuracy"].to_numpy(),
                 "name": _("train accuracy"), "line": {"color": CLEAN}, "yaxis": "y2"}]
    return _figure(data, height=height, legend={"orientation": "h", "y": 1.15},
                   **_two_axes(_("batch"), _("loss"), _("accuracy"), [0, 1.02]))


def transfer_heatmap(matrix: pd.DataFrame, height: int = 360) -> go.Figure:
    """Accuracy of target models (columns) on adversarial examples crafted on source models (rows)."""
    values = matrix.to_numpy()
    data = [{"type": "heatmap", "z": values, "x": list(matrix.columns), "y": list(matrix.index), "zmin": 0,
             "zmax": 1, "colorscale": "Viridis", "text": np.round(values, 3), "texttemplate": "%{text:.1%}",
             "hovertemplate": _("crafted on %{y}<br>evaluated on %{x}<br>accuracy %{z:.1%}") + "<extra></extra>"}]
    return _figure(data, height=height, xaxis={"title": _title(_("evaluated on"))},
                   yaxis={"title": _title(_("crafted on"))})
