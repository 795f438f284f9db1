"""Plotly figure builders: numbers in, ``go.Figure`` out, no I/O.

Images go to Plotly as uint8 RGB (``go.Image``); the perturbation is a heatmap on a
diverging colour scale centred at 0, amplified so its largest value fills the scale.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

CLEAN, ADV, NOISE = "#1f77b4", "#d62728", "#7f7f7f"
_LAYOUT = dict(margin=dict(l=10, r=10, t=40, b=10), template="plotly_white")


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
    fig = make_subplots(rows=1, cols=3, horizontal_spacing=0.03,
                        subplot_titles=(titles[0], f"{titles[1]} (x{amp:.1f})", titles[2]))
    fig.add_trace(go.Image(z=to_uint8_rgb(x), hoverinfo="skip"), 1, 1)
    fig.add_trace(go.Heatmap(z=delta * amp, zmin=-1, zmax=1, zmid=0, colorscale="RdBu", showscale=False,
                             hovertemplate="delta %{customdata:.4f}<extra></extra>", customdata=delta), 1, 2)
    fig.add_trace(go.Image(z=to_uint8_rgb(x_adv), hoverinfo="skip"), 1, 3)
    fig.update_yaxes(autorange="reversed", row=1, col=2)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x2", row=1, col=2)
    fig.update_yaxes(visible=False)
    fig.update_layout(height=height, **_LAYOUT)
    return fig


def probability_bars(class_names, clean_probs, adv_probs, true_class: int, noise_probs=None,
                     height: int = 300) -> go.Figure:
    """Class probabilities before and after (and under random noise); the true class is marked."""
    names = [f"<b>{n}</b> (true)" if i == true_class else n for i, n in enumerate(class_names)]
    fig = go.Figure()
    fig.add_bar(x=names, y=clean_probs, name="clean", marker_color=CLEAN)
    fig.add_bar(x=names, y=adv_probs, name="adversarial", marker_color=ADV)
    if noise_probs is not None:
        fig.add_bar(x=names, y=noise_probs, name="random noise, same budget", marker_color=NOISE)
    for probs, color, label in ((clean_probs, CLEAN, "clean"), (adv_probs, ADV, "adv")):
        top = int(np.argmax(probs))
        fig.add_annotation(x=names[top], y=float(probs[top]), text=f"{label} pred", showarrow=True,
                           arrowcolor=color, font=dict(color=color), ay=-25)
    fig.update_layout(barmode="group", height=height, yaxis=dict(range=[0, 1.1], title="probability"),
                      legend=dict(orientation="h", y=1.15), **_LAYOUT)
    return fig


def attack_trace(loss: np.ndarray, true_prob: np.ndarray, height: int = 260) -> go.Figure:
    """Per-step loss (nats) and true-class probability of one example."""
    steps = np.arange(len(loss))
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_scatter(x=steps, y=loss, name="loss (cross-entropy)", line_color=ADV)
    fig.add_scatter(x=steps, y=true_prob, name="true-class probability", line_color=CLEAN, secondary_y=True)
    fig.update_xaxes(title="step")
    fig.update_yaxes(title="loss", secondary_y=False)
    fig.update_yaxes(title="p(true)", range=[0, 1.05], secondary_y=True)
    fig.update_layout(height=height, legend=dict(orientation="h", y=1.2), **_LAYOUT)
    return fig


def eps_curve(eps: np.ndarray, true_prob: np.ndarray, other_prob: np.ndarray, flip_eps: float | None,
              height: int = 260) -> go.Figure:
    """True-class and top-other-class probability of one image against eps (with the flip point)."""
    fig = go.Figure()
    fig.add_scatter(x=eps, y=true_prob, name="true class", line_color=CLEAN, mode="lines+markers")
    fig.add_scatter(x=eps, y=other_prob, name="top other class", line_color=ADV, mode="lines+markers")
    if flip_eps is not None:
        fig.add_vline(x=flip_eps, line_color=ADV, annotation_text=f"flips at {flip_eps:.3f}",
                      annotation_position="bottom right")
    fig.update_layout(height=height, xaxis_title="eps (pixel units)", yaxis=dict(range=[0, 1.05],
                      title="probability"), legend=dict(orientation="h", y=1.2), **_LAYOUT)
    return fig


def model_row(images: list[np.ndarray], titles: list[str], height: int = 240) -> go.Figure:
    """A row of images (e.g. the same attack on every model), each with its title."""
    fig = make_subplots(rows=1, cols=max(len(images), 1), subplot_titles=titles, horizontal_spacing=0.02)
    for i, image in enumerate(images):
        fig.add_trace(go.Image(z=to_uint8_rgb(image), hoverinfo="skip"), 1, i + 1)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_layout(height=height, **_LAYOUT)
    return fig


def sweep_chart(table: pd.DataFrame, y: str = "robust_accuracy", title: str = "accuracy under attack",
                height: int = 380) -> go.Figure:
    """One line per (model, attack) of ``y`` against eps; x also labelled in /255."""
    fig = go.Figure()
    for (model_id, attack), rows in table.groupby(["model", "attack"], sort=False):
        rows = rows.sort_values("eps")
        dash = "solid" if attack not in ("fgsm", "noise") else ("dash" if attack == "fgsm" else "dot")
        fig.add_scatter(x=rows["eps"], y=rows[y], mode="lines+markers", name=f"{model_id} · {attack}",
                        line_dash=dash, customdata=rows["eps_255"],
                        hovertemplate="eps %{x:.4f} (%{customdata:.1f}/255)<br>%{y:.3f}<extra></extra>")
    is_fraction = y.endswith(("accuracy", "rate"))
    fig.update_layout(height=height, title=title, xaxis_title="eps (pixel units)",
                      yaxis=dict(title=y.replace("_", " "), range=[0, 1.02] if is_fraction else None),
                      legend=dict(orientation="h", y=-0.25), **_LAYOUT)
    return fig


def training_curves(history: list[dict], height: int = 300) -> go.Figure:
    """Loss and accuracies against batch/epoch, from the trainer's report events."""
    frame = pd.DataFrame(history)
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    if len(frame):
        fig.add_scatter(x=frame["step"], y=frame["loss"], name="loss", line_color=ADV)
        fig.add_scatter(x=frame["step"], y=frame["train_accuracy"], name="train accuracy", line_color=CLEAN,
                        secondary_y=True)
    fig.update_xaxes(title="batch")
    fig.update_yaxes(title="loss", secondary_y=False)
    fig.update_yaxes(title="accuracy", range=[0, 1.02], secondary_y=True)
    fig.update_layout(height=height, legend=dict(orientation="h", y=1.15), **_LAYOUT)
    return fig


def transfer_heatmap(matrix: pd.DataFrame, height: int = 360) -> go.Figure:
    """Accuracy of target models (columns) on adversarial examples crafted on source models (rows)."""
    values = matrix.to_numpy()
    fig = go.Figure(go.Heatmap(
        z=values, x=list(matrix.columns), y=list(matrix.index), zmin=0, zmax=1, colorscale="Viridis",
        text=np.round(values, 3), texttemplate="%{text:.1%}",
        hovertemplate="crafted on %{y}<br>evaluated on %{x}<br>accuracy %{z:.1%}<extra></extra>"))
    fig.update_layout(height=height, xaxis_title="evaluated on", yaxis_title="crafted on", **_LAYOUT)
    return fig
