"""Plotly figure builders: numbers in, ``go.Figure`` out, no I/O.

Images go to Plotly as uint8 RGB (``image`` traces); the perturbation is a heatmap on a
diverging colour scale centred at 0, amplified so its largest value fills the scale.

Figures are written as plain trace and layout dicts with the empty ``"none"`` template:
the dashboard's charts take Streamlit's theme in the page, and a named Plotly template
(or ``make_subplots``) costs 10-15 ms of validation per figure, which a class of 30
moving sliders pays on every move. Built this way a figure takes about 1 ms.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

CLEAN, ADV, NOISE = "#1f77b4", "#d62728", "#7f7f7f"
_BASE = {"margin": {"l": 10, "r": 10, "t": 40, "b": 10}, "template": "none"}
_LEGEND_TOP = {"orientation": "h", "y": 1.2}
_LEGEND_BELOW = {"orientation": "h", "y": -0.3, "yanchor": "top"}  # narrow charts: keeps the lines visible


def _figure(data: list[dict], **layout) -> go.Figure:
    return go.Figure({"data": data, "layout": {**_BASE, **layout}})


def _title(text: str) -> dict:
    return {"text": text}


def _image_row(titles: list[str], spacing: float) -> dict:
    """Layout for ``len(titles)`` panels side by side: one hidden x/y axis pair each, titles above."""
    n = max(len(titles), 1)
    width = (1 - spacing * (n - 1)) / n
    layout: dict = {"annotations": []}
    for i, text in enumerate(titles):
        suffix, left = ("" if i == 0 else str(i + 1)), i * (width + spacing)
        layout[f"xaxis{suffix}"] = {"domain": [left, left + width], "visible": False, "anchor": f"y{suffix}"}
        layout[f"yaxis{suffix}"] = {"visible": False, "anchor": f"x{suffix}"}
        layout["annotations"].append({"text": text, "x": left + width / 2, "y": 1, "xref": "paper", "yref": "paper",
                                      "xanchor": "center", "yanchor": "bottom", "showarrow": False})
    return layout


def _panel(i: int) -> dict:
    suffix = "" if i == 0 else str(i + 1)
    return {"xaxis": f"x{suffix}", "yaxis": f"y{suffix}"}


def _two_axes(x_title: str, left_title: str, right_title: str, right_range) -> dict:
    """Layout with a second y axis on the right (traces on it use ``yaxis="y2"``)."""
    return {"xaxis": {"title": _title(x_title)}, "yaxis": {"title": _title(left_title)},
            "yaxis2": {"title": _title(right_title), "range": right_range, "autorange": False, "overlaying": "y",
                       "side": "right", "tickmode": "array", "tickvals": [0, 0.25, 0.5, 0.75, 1.0], "showgrid": False}}


def to_uint8_rgb(image: np.ndarray) -> np.ndarray:
    """float (H, W, C) in [0, 1] -> uint8 (H, W, 3)."""
    pixels = np.clip(np.round(np.asarray(image) * 255), 0, 255).astype(np.uint8)
    return np.repeat(pixels, 3, axis=-1) if pixels.shape[-1] == 1 else pixels


def amplification(delta: np.ndarray) -> float:
    """Factor that maps the largest |perturbation| to 1 (1 when nothing changed)."""
    peak = float(np.abs(delta).max(initial=0.0))
    return 1.0 / peak if peak > 0 else 1.0


def image_triptych(x: np.ndarray, x_adv: np.ndarray, titles=("original", "perturbation", "adversarial"),
                   height: int = 320) -> go.Figure:
    """Original | perturbation (channel mean, amplified, RdBu centred at 0) | adversarial."""
    delta = (np.asarray(x_adv, np.float64) - np.asarray(x, np.float64)).mean(axis=-1)
    amp = amplification(delta)
    layout = _image_row([titles[0], f"{titles[1]} (x{amp:.1f})", titles[2]], spacing=0.03)
    layout["yaxis2"].update(autorange="reversed", scaleanchor="x2")  # square pixels, row 0 at the top
    data = [
        {"type": "image", "z": to_uint8_rgb(x), "hoverinfo": "skip", **_panel(0)},
        {"type": "heatmap", "z": delta * amp, "zmin": -1, "zmax": 1, "zmid": 0, "colorscale": "RdBu",
         "showscale": False, "customdata": delta, "hovertemplate": "delta %{customdata:.4f}<extra></extra>",
         **_panel(1)},
        {"type": "image", "z": to_uint8_rgb(x_adv), "hoverinfo": "skip", **_panel(2)},
    ]
    return _figure(data, height=height, **layout)


def probability_bars(class_names, clean_probs, adv_probs, true_class: int, noise_probs=None,
                     height: int = 300) -> go.Figure:
    """Class probabilities before and after (and under random noise); the true class is marked."""
    names = [f"<b>{n}</b> (true)" if i == true_class else str(n) for i, n in enumerate(class_names)]
    series = [(clean_probs, "clean", CLEAN), (adv_probs, "adversarial", ADV)]
    if noise_probs is not None:
        series.append((noise_probs, "random noise, same budget", NOISE))
    data = [{"type": "bar", "x": names, "y": np.asarray(p), "name": name, "marker": {"color": color}}
            for p, name, color in series]
    notes = []
    for probs, color, label in ((clean_probs, CLEAN, "clean"), (adv_probs, ADV, "adv")):
        top = int(np.argmax(probs))
        notes.append({"x": names[top], "y": float(probs[top]), "text": f"{label} pred", "showarrow": True,
                      "arrowcolor": color, "font": {"color": color}, "ay": -25})
    return _figure(data, barmode="group", height=height, annotations=notes,
                   xaxis={"type": "category"},  # class names like "7" must stay categories, not numbers
                   yaxis={"range": [0, 1.1], "title": _title("probability")},
                   legend=_LEGEND_BELOW)


def attack_trace(loss: np.ndarray, true_prob: np.ndarray, height: int = 300) -> go.Figure:
    """Per-step loss (nats) and true-class probability of one example."""
    steps = np.arange(len(loss))
    data = [{"type": "scatter", "x": steps, "y": np.asarray(loss), "name": "loss (cross-entropy)",
             "line": {"color": ADV}},
            {"type": "scatter", "x": steps, "y": np.asarray(true_prob), "name": "true-class probability",
             "line": {"color": CLEAN}, "yaxis": "y2"}]
    return _figure(data, height=height, legend=_LEGEND_BELOW, **_two_axes("step", "loss", "p(true)", [0, 1.05]))


def eps_curve(eps: np.ndarray, true_prob: np.ndarray, other_prob: np.ndarray, flip_eps: float | None,
              height: int = 260) -> go.Figure:
    """True-class and top-other-class probability of one image against eps (with the flip point)."""
    data = [{"type": "scatter", "x": np.asarray(eps), "y": np.asarray(p), "name": name, "mode": "lines+markers",
             "line": {"color": color}}
            for p, name, color in ((true_prob, "true class", CLEAN), (other_prob, "top other class", ADV))]
    marks: dict = {}
    if flip_eps is not None:
        marks = {"shapes": [{"type": "line", "x0": flip_eps, "x1": flip_eps, "y0": 0, "y1": 1, "xref": "x",
                             "yref": "paper", "line": {"color": ADV}}],
                 "annotations": [{"x": flip_eps, "y": 0, "yref": "paper", "text": f"flips at {flip_eps:.3f}",
                                  "showarrow": False, "xanchor": "left", "yanchor": "bottom"}]}
    return _figure(data, height=height, xaxis={"title": _title("eps (pixel units)")},
                   yaxis={"range": [0, 1.05], "title": _title("probability")}, legend=_LEGEND_TOP, **marks)


def model_row(images: list[np.ndarray], titles: list[str], height: int = 240) -> go.Figure:
    """A row of images (e.g. the same attack on every model), each with its title."""
    data = [{"type": "image", "z": to_uint8_rgb(image), "hoverinfo": "skip", **_panel(i)}
            for i, image in enumerate(images)]
    return _figure(data, height=height, **_image_row(list(titles), spacing=0.02))


def sweep_chart(table: pd.DataFrame, y: str = "robust_accuracy", title: str = "accuracy under attack",
                height: int = 380) -> go.Figure:
    """One line per (model, attack) of ``y`` against eps; x also labelled in /255."""
    data = []
    for (model_id, attack), rows in table.groupby(["model", "attack"], sort=False):
        rows = rows.sort_values("eps")
        dash = "solid" if attack not in ("fgsm", "noise") else ("dash" if attack == "fgsm" else "dot")
        data.append({"type": "scatter", "x": rows["eps"].to_numpy(), "y": rows[y].to_numpy(),
                     "mode": "lines+markers", "name": f"{model_id} · {attack}", "line": {"dash": dash},
                     "customdata": rows["eps_255"].to_numpy(),
                     "hovertemplate": "eps %{x:.4f} (%{customdata:.1f}/255)<br>%{y:.3f}<extra></extra>"})
    y_axis = {"title": _title(y.replace("_", " "))}
    if y.endswith(("accuracy", "rate")):
        y_axis["range"] = [0, 1.02]
    return _figure(data, height=height, title=_title(title), xaxis={"title": _title("eps (pixel units)")},
                   yaxis=y_axis, legend={"orientation": "h", "y": -0.25})


def training_curves(history: list[dict], height: int = 300) -> go.Figure:
    """Loss and accuracies against batch/epoch, from the trainer's report events."""
    frame = pd.DataFrame(history)
    data = []
    if len(frame):
        data = [{"type": "scatter", "x": frame["step"].to_numpy(), "y": frame["loss"].to_numpy(), "name": "loss",
                 "line": {"color": ADV}},
                {"type": "scatter", "x": frame["step"].to_numpy(), "y": frame["train_accuracy"].to_numpy(),
                 "name": "train accuracy", "line": {"color": CLEAN}, "yaxis": "y2"}]
    return _figure(data, height=height, legend={"orientation": "h", "y": 1.15},
                   **_two_axes("batch", "loss", "accuracy", [0, 1.02]))


def transfer_heatmap(matrix: pd.DataFrame, height: int = 360) -> go.Figure:
    """Accuracy of target models (columns) on adversarial examples crafted on source models (rows)."""
    values = matrix.to_numpy()
    data = [{"type": "heatmap", "z": values, "x": list(matrix.columns), "y": list(matrix.index), "zmin": 0,
             "zmax": 1, "colorscale": "Viridis", "text": np.round(values, 3), "texttemplate": "%{text:.1%}",
             "hovertemplate": "crafted on %{y}<br>evaluated on %{x}<br>accuracy %{z:.1%}<extra></extra>"}]
    return _figure(data, height=height, xaxis={"title": _title("evaluated on")},
                   yaxis={"title": _title("crafted on")})
