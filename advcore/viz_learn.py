"""Figure builders for the Learn lessons: numbers in, ``go.Figure`` out, no I/O.

Written as plain trace and layout dicts with the empty ``"none"`` template, like ``advcore.viz``
(a figure then builds in about a millisecond). Fonts are at least 16 px so a projected lesson stays
readable. Images go to Plotly as uint8; signed maps (gradients, perturbations) are heatmaps on a
diverging scale centred at 0, scaled so the largest magnitude fills it. Axis titles, legends and hover texts
are in the current language (``advcore.i18n``); the font stack (``i18n.CHART_FONT_FAMILY``) has a CJK face.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .data import class_label
from .i18n import CHART_FONT_FAMILY, _
from .viz import to_uint8_rgb

FONT = 16
# Ten categorical colours (Tableau 10), one per class, shared by every class-coloured figure.
CLASS_COLOURS = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                 "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac")
_BASE = {"margin": {"l": 60, "r": 20, "t": 50, "b": 50}, "template": "none",
         "font": {"size": FONT, "family": CHART_FONT_FAMILY}}
_LEGEND_BELOW = {"orientation": "h", "y": -0.25, "yanchor": "top", "font": {"size": FONT}}


def _figure(data: list[dict], **layout) -> go.Figure:
    return go.Figure({"data": data, "layout": {**_BASE, **layout}})


def _axis(title: str, **extra) -> dict:
    return {"title": {"text": title, "font": {"size": FONT}}, "tickfont": {"size": max(FONT - 2, 14)},
            "exponentformat": "none", **extra}


def _panels(titles: list[str], spacing: float = 0.04, square: bool = True) -> dict:
    """Layout for ``len(titles)`` panels side by side, one x/y axis pair each, titles above."""
    n = max(len(titles), 1)
    width = (1 - spacing * (n - 1)) / n
    layout: dict = {"annotations": []}
    for i, text in enumerate(titles):
        suffix, left = ("" if i == 0 else str(i + 1)), i * (width + spacing)
        layout[f"xaxis{suffix}"] = {"domain": [left, min(left + width, 1.0)], "visible": False,
                                    "anchor": f"y{suffix}"}
        layout[f"yaxis{suffix}"] = {"visible": False, "anchor": f"x{suffix}", "autorange": "reversed",
                                    **({"scaleanchor": f"x{suffix}"} if square else {})}
        layout["annotations"].append({"text": text, "x": left + width / 2, "y": 1.0, "xref": "paper",
                                      "yref": "paper", "xanchor": "center", "yanchor": "bottom",
                                      "showarrow": False, "font": {"size": FONT}})
    return layout


def _on(i: int) -> dict:
    suffix = "" if i == 0 else str(i + 1)
    return {"xaxis": f"x{suffix}", "yaxis": f"y{suffix}"}



def signed_map(values: np.ndarray) -> np.ndarray:
    """(H, W[, C]) -> (H, W): channel mean, scaled to [-1, 1] by its largest magnitude (all 0 stays 0)."""
    v = np.asarray(values, np.float64)
    v = v.mean(axis=-1) if v.ndim == 3 else v
    peak = np.abs(v).max(initial=0.0)
    return v / peak if peak > 0 else v


def image_row(panels: list[np.ndarray], titles: list[str], signed: list[bool] | None = None,
              height: int | None = None) -> go.Figure:
    """Images side by side. ``signed[i]`` True draws panel i as a diverging heatmap (red +, blue -)
    via ``signed_map``; otherwise panel i is an image in [0, 1] (H, W, C)."""
    signed = signed or [False] * len(panels)
    data = []
    for i, (panel, is_signed) in enumerate(zip(panels, signed)):
        if is_signed:
            data.append({"type": "heatmap", "z": signed_map(panel).tolist(), "zmin": -1, "zmax": 1, "zmid": 0,
                         "colorscale": "RdBu", "reversescale": True, "showscale": False, "hoverinfo": "skip",
                         **_on(i)})
        else:
            data.append({"type": "image", "z": to_uint8_rgb(panel), "hoverinfo": "skip", **_on(i)})
    height = height or (200 if len(panels) >= 5 else 250)
    return _figure(data, height=height, margin={"l": 10, "r": 10, "t": 40, "b": 5}, **_panels(titles))


def lines(x, series: dict[str, np.ndarray], x_title: str, y_title: str, title: str = "",
          dashed: tuple[str, ...] = (), colours: dict[str, str] | None = None, y_range=None,
          marker_x: float | None = None, height: int = 380) -> go.Figure:
    """One line per entry of ``series`` over ``x``; names in ``dashed`` are drawn dashed; an optional
    vertical marker at ``marker_x`` (e.g. the student's eps)."""
    data = []
    for name, values in series.items():
        line = {"width": 3, "dash": "dash" if name in dashed else "solid"}
        if colours and name in colours:
            line["color"] = colours[name]
        data.append({"type": "scatter", "mode": "lines", "x": np.asarray(x).tolist(),
                     "y": np.asarray(values, np.float64).tolist(), "name": name, "line": line})
    layout = {"xaxis": _axis(x_title), "yaxis": _axis(y_title, **({"range": y_range} if y_range else {})),
              "legend": _LEGEND_BELOW, "height": height}
    if title:
        layout["title"] = {"text": title, "font": {"size": FONT + 2}}
    if marker_x is not None:
        layout["shapes"] = [{"type": "line", "xref": "x", "yref": "paper", "x0": marker_x, "x1": marker_x,
                             "y0": 0, "y1": 1, "line": {"color": "#444", "width": 2, "dash": "dot"}}]
    return _figure(data, **layout)


def _class_scale(n: int) -> list:
    """A stepped colour scale for integer class ids 0..n-1 on zmin=-0.5, zmax=n-0.5."""
    scale = []
    for c in range(n):
        colour = CLASS_COLOURS[c % len(CLASS_COLOURS)]
        scale += [[c / n, colour], [(c + 1) / n, colour]]
    return scale


def landscape_figure(grid, class_names, title: str = "", zmax: float | None = None, height: int = 420) -> go.Figure:
    """Two heat maps of a ``landscape.Grid``: the loss (nats; colour scale 0..``zmax``, so two models can share
    it) and the predicted class, over (gradient-sign offset, random offset) in pixel units; the dashed diamond
    is the L∞ ball of radius ``grid.radius``."""
    coords = np.asarray(grid.coords, np.float64).tolist()
    n = len(class_names)
    names = np.asarray([class_label(class_names, c) for c in range(n)], dtype=object)
    r = float(grid.radius)
    ball = {"type": "scatter", "mode": "lines", "x": [r, 0, -r, 0, r], "y": [0, r, 0, -r, 0], "showlegend": False,
            "line": {"color": "black", "width": 2, "dash": "dash"}, "hoverinfo": "skip"}
    data = [
        {"type": "heatmap", "x": coords, "y": coords, "z": np.asarray(grid.loss, np.float64).tolist(),
         "colorscale": "Viridis", "zmin": 0, **({"zmax": zmax} if zmax else {}),
         "colorbar": {"x": 0.37, "xanchor": "left", "len": 0.85, "thickness": 14, "tickfont": {"size": 14}},
         "hovertemplate": _("gradient %{x:.3f}<br>random %{y:.3f}<br>loss %{z:.2f}") + "<extra></extra>"},
        dict(ball, xaxis="x", yaxis="y"),
        {"type": "heatmap", "x": coords, "y": coords, "z": np.asarray(grid.pred).tolist(),
         "customdata": names[np.asarray(grid.pred)].tolist(), "zmin": -0.5, "zmax": n - 0.5,
         "colorscale": _class_scale(n), "showscale": False, "xaxis": "x2", "yaxis": "y2",
         "hovertemplate": _("gradient %{x:.3f}<br>random %{y:.3f}<br>reads %{customdata}") + "<extra></extra>"},
        dict(ball, xaxis="x2", yaxis="y2"),
    ]
    # a text label on each class region, at its centre
    pred = np.asarray(grid.pred)
    c = np.asarray(grid.coords, np.float64)
    for cls in np.unique(pred):
        rows, cols = np.nonzero(pred == cls)
        data.append({"type": "scatter", "mode": "text", "x": [float(c[cols].mean())], "y": [float(c[rows].mean())],
                     "text": [str(class_names[cls])], "textfont": {"size": FONT + 2, "color": "black"},
                     "showlegend": False, "hoverinfo": "skip", "xaxis": "x2", "yaxis": "y2"})
    layout = {"xaxis": _axis(_("gradient sign"), domain=[0, 0.35], nticks=4),
              "yaxis": _axis(_("random sign"), nticks=5),
              "xaxis2": _axis(_("gradient sign"), domain=[0.62, 1.0], nticks=4),
              "yaxis2": _axis("", anchor="x2", showticklabels=False), "height": height,
              "annotations": [{"text": t, "x": x, "y": 1.0, "xref": "paper", "yref": "paper", "showarrow": False,
                               "xanchor": "center", "yanchor": "bottom", "font": {"size": FONT}}
                              for t, x in ((_("loss (nats)"), 0.175), (_("predicted class"), 0.81))]}
    if title:
        layout["title"] = {"text": title, "font": {"size": FONT + 2}}
        layout["margin"] = dict(_BASE["margin"], t=80)
    return _figure(data, **layout)


def feature_scatter(points: np.ndarray, labels: np.ndarray, class_names, clean_xy=None, adv_xy=None,
                    height: int = 480) -> go.Figure:
    """Projected features coloured by class; the clean image (circle) and its adversarial version (star)
    joined by a line."""
    points, labels = np.asarray(points), np.asarray(labels)
    data = []
    for c in range(len(class_names)):
        sel = labels == c
        data.append({"type": "scattergl", "mode": "markers", "x": points[sel, 0].tolist(),
                     "y": points[sel, 1].tolist(), "name": class_label(class_names, c),
                     "marker": {"size": 6, "color": CLASS_COLOURS[c % 10], "opacity": 0.6}, "hoverinfo": "name"})
    if clean_xy is not None and adv_xy is not None:
        data.append({"type": "scatter", "mode": "lines", "x": [clean_xy[0], adv_xy[0]], "y": [clean_xy[1], adv_xy[1]],
                     "line": {"color": "black", "width": 3}, "showlegend": False, "hoverinfo": "skip"})
        for xy, name, symbol in ((clean_xy, _("clean image"), "circle"), (adv_xy, _("adversarial"), "star")):
            data.append({"type": "scatter", "mode": "markers", "x": [xy[0]], "y": [xy[1]], "name": name,
                         "marker": {"size": 20, "symbol": symbol, "color": "white",
                                    "line": {"color": "black", "width": 3}}})
    return _figure(data, height=height, xaxis=_axis(_("feature PC 1")), yaxis=_axis(_("feature PC 2")),
                   legend={"font": {"size": FONT - 2}})


def matrix_heatmap(matrix: pd.DataFrame, x_title: str, y_title: str, height: int = 380) -> go.Figure:
    """A table of fractions (e.g. accuracy of target models, columns, on examples from source models, rows)."""
    z = matrix.to_numpy(dtype=np.float64)
    text = [[f"{v:.0%}" for v in row] for row in z]
    return _figure([{"type": "heatmap", "z": z.tolist(), "x": list(matrix.columns), "y": list(matrix.index),
                     "zmin": 0, "zmax": 1, "colorscale": "RdYlGn", "text": text, "texttemplate": "%{text}",
                     "textfont": {"size": FONT + 2}, "colorbar": {"tickformat": ".0%", "tickfont": {"size": 14}},
                     "hovertemplate": "%{y} -> %{x}: %{z:.1%}<extra></extra>"}],
                   height=height, xaxis=_axis(x_title, side="bottom"),
                   yaxis=_axis(y_title, autorange="reversed"), margin={"l": 150, "r": 20, "t": 20, "b": 70})


def tradeoff_scatter(rows: list[dict], height: int = 400) -> go.Figure:
    """Clean against robust accuracy, one point per model (rows: id, clean, robust), named in the legend."""
    rows = sorted(rows, key=lambda r: r["id"])
    data = [{"type": "scatter", "mode": "markers", "x": [r["clean"]], "y": [r["robust"]], "name": r["id"],
             "marker": {"size": 16, "color": CLASS_COLOURS[i % len(CLASS_COLOURS)]},
             "hovertemplate": _("{model}<br>clean %{{x:.1%}}<br>robust %{{y:.1%}}", model=r["id"])
             + "<extra></extra>"}
            for i, r in enumerate(rows)]
    return _figure(data, height=height, xaxis=_axis(_("clean accuracy"), tickformat=".0%"),
                   yaxis=_axis(_("robust accuracy (PGD-40)"), tickformat=".0%", range=[-0.05, 1.05]),
                   legend={"font": {"size": FONT - 2}})
