"""An attack's step-by-step trace as HTML and inline SVG: numbers in, an HTML string for ``st.html`` out, no I/O.

Two lines over the attack's steps: the cross-entropy of the true class (nats, left axis; the loss an untargeted
attack's steps raise) and the true-class probability (right axis, 0-1). Hovering over a step shows both.

A sentence with the first, last and extreme values, visually hidden, goes with the chart: its text alternative
for a screen reader (WCAG 1.1.1); the drawing is hidden from it.

Explore redraws this trace on every eps move. As a Plotly chart the browser rebuilt it each time, which
delayed the new numbers and images above it by about 30 ms; as HTML the browser only swaps a few nodes.
"""

from __future__ import annotations

import base64
import html
import math

import numpy as np

from .bars import VISUALLY_HIDDEN, vertical
from .i18n import _, ngettext
from .viz import ADV, CLEAN

TICKS = 4  # intervals on each y axis; the two axes share their gridlines


def nice_axis(low: float, high: float, intervals: int = TICKS) -> tuple[float, float]:
    """(start, step) of an axis with ``intervals`` equal steps of 1, 2, 2.5 or 5 x 10^k that covers
    [low, high]; e.g. (0, 0.5) for losses in [0, 1.7]."""
    for exponent in range(-4, 7):
        for mantissa in (1, 2, 2.5, 5):
            step = mantissa * 10.0 ** exponent
            start = math.floor(low / step + 1e-9) * step
            if start + intervals * step >= high - 1e-9 * step:
                return start, step
    return low, max(high - low, 1.0) / intervals


def _tick_text(value: float) -> str:
    return f"{round(value, 9):g}".replace("-", "−")


def _step_ticks(steps: int) -> list[int]:
    """Whole steps to label on the x axis: at most about 6, at multiples of 1, 2, 5, 10, 20, 50..."""
    for gap in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000):
        if steps / gap <= 6:
            return list(range(0, steps + 1, gap))
    return [0, steps]


def _polyline(values: np.ndarray, start: float, span: float, colour: str) -> str:
    y = 1 - (values - start) / span
    points = " ".join(f"{i},{v:.4f}" for i, v in enumerate(y) if np.isfinite(v))
    return (f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2.5" '
            'stroke-linejoin="round" vector-effect="non-scaling-stroke"/>')


def trace_words(loss: np.ndarray, prob: np.ndarray, prob_name: str | None = None) -> str:
    """The trace in one sentence: steps, the cross-entropy and the probability at the start, at the end and at
    their extremes (``prob_name``: what ``prob`` is, the true-class probability unless given)."""
    if not len(loss):
        return _("No steps.")
    steps = len(loss) - 1
    return ngettext(
        "Attack trace over {n} step: the true-class cross-entropy goes from {loss_first:.3f} to {loss_last:.3f} nats "
        "(highest {loss_high:.3f}, at step {loss_at}); the {prob_name} from {prob_first:.1%} to {prob_last:.1%} "
        "(lowest {prob_low:.1%}, at step {prob_at}).",
        "Attack trace over {n} steps: the true-class cross-entropy goes from {loss_first:.3f} to {loss_last:.3f} "
        "nats (highest {loss_high:.3f}, at step {loss_at}); the {prob_name} from {prob_first:.1%} to "
        "{prob_last:.1%} (lowest {prob_low:.1%}, at step {prob_at}).", steps,
        loss_first=loss[0], loss_last=loss[-1], loss_high=np.nanmax(loss), loss_at=int(np.nanargmax(loss)),
        prob_name=prob_name or _("true-class probability"), prob_first=prob[0], prob_last=prob[-1],
        prob_low=prob.min(), prob_at=int(prob.argmin()))


def attack_trace(loss, true_prob, height: int = 340, font_size: int = 14, prob_name: str | None = None) -> str:
    """The trace of one example: ``loss`` (the true class's cross-entropy, nats) and ``true_prob`` (0-1) per
    step, step 0 first; about ``height`` px tall with its axes and legend."""
    loss = np.asarray(loss, np.float64).ravel()
    prob = np.clip(np.asarray(true_prob, np.float64).ravel(), 0, 1)
    last = max(len(loss) - 1, 1)
    finite = loss[np.isfinite(loss)]
    start, step = nice_axis(min(0.0, float(finite.min())) if finite.size else 0.0,
                            float(finite.max()) if finite.size else 1.0)
    span = TICKS * step
    line = 1.4 * font_size
    plot = max(height - int(3 * line) - 20, 80)  # px of the plotting area: x ticks, x title and legend below
    fractions = [k / TICKS for k in range(TICKS + 1)]
    grid = "".join(f'<div style="position:absolute;left:0;right:0;bottom:{100 * f:.0f}%;border-top:1px solid '
                   f'rgba(128,128,128,{0.6 if f == 0 else 0.2})"></div>' for f in fractions)

    def y_ticks(texts: list[str], side: str) -> str:
        spans = "".join(f'<span style="position:absolute;{side}:6px;bottom:{100 * f:.0f}%;'
                        f'transform:translateY(50%)">{t}</span>' for f, t in zip(fractions, texts))
        return f'<div style="flex:none;width:44px;position:relative;height:{plot}px;opacity:.8">{spans}</div>'

    def y_title(text: str, colour: str) -> str:
        return (f'<div style="flex:none;width:{line:.0f}px;height:{plot}px;{vertical(text)};'
                f'text-align:center;color:{colour}">{text}</div>')

    loss_ticks = y_ticks([_tick_text(start + k * step) for k in range(TICKS + 1)], "right")
    prob_ticks = y_ticks([f"{f:g}" for f in fractions], "left")
    prob_name = prob_name or _("true-class probability")
    name = html.escape(prob_name)
    tip = _("step {step}: cross-entropy {loss:.3f} nats, {name} {prob:.1%}")  # the template, filled per step
    hover = "".join(f'<div title="{html.escape(tip.format(step=i, loss=loss[i], name=prob_name, prob=prob[i]))}" '
                    f'style="position:absolute;top:0;bottom:0;left:{100 * (i - 0.5) / last:.3f}%;'
                    f'width:{100 / last:.3f}%"></div>' for i in range(len(loss)))
    # The lines are an SVG image (st.html keeps <img> but not inline <svg>), stretched over the plotting area
    # with 4 px and 1% to spare around it so that a line on the area's edge is drawn whole.
    pad_y, pad_x = 4 / plot, 0.01
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{-pad_x * last:.4f} {-pad_y:.4f} '
           f'{(1 + 2 * pad_x) * last:.4f} {1 + 2 * pad_y:.4f}" preserveAspectRatio="none">'
           f'{_polyline(loss, start, span, ADV)}{_polyline(prob, 0.0, 1.0, CLEAN)}</svg>')
    lines = (f'<img alt="" src="data:image/svg+xml;base64,{base64.b64encode(svg.encode()).decode("ascii")}" '
             f'style="position:absolute;left:-1%;width:102%;top:-4px;height:calc(100% + 8px);max-width:none">')
    x_ticks = "".join(f'<span style="position:absolute;left:{100 * k / last:.2f}%;transform:translateX(-50%)">'
                      f'{k}</span>' for k in _step_ticks(last))
    margin = f"margin:0 {44 + line:.0f}px 0 {44 + line:.0f}px"
    legend = "".join(f'<span style="white-space:nowrap"><span style="display:inline-block;width:22px;height:0;'
                     f'border-top:3px solid {colour};margin-right:6px;vertical-align:4px"></span>{text}</span>'
                     for text, colour in ((html.escape(_("true-class cross-entropy (nats)")), ADV), (name, CLEAN)))
    words = html.escape(trace_words(loss, prob, prob_name))
    loss_title, prob_title = html.escape(_("cross-entropy (nats)")), html.escape(_("probability"))
    step_title = html.escape(_("step"))
    return (f'<div class="advlab-trace" style="font-size:{font_size}px;line-height:1.2;padding-top:8px;'
            f'position:relative"><p style="{VISUALLY_HIDDEN}">{words}</p><div aria-hidden="true">'
            f'<div style="display:flex">{y_title(loss_title, ADV)}{loss_ticks}'
            f'<div style="flex:1;position:relative;height:{plot}px">{grid}{lines}{hover}</div>'
            f'{prob_ticks}{y_title(prob_title, CLEAN)}</div>'
            f'<div style="position:relative;height:{line:.0f}px;margin-top:4px;{margin}">{x_ticks}</div>'
            f'<div style="text-align:center;{margin}">{step_title}</div>'
            f'<div style="display:flex;flex-wrap:wrap;justify-content:center;gap:4px 18px;margin-top:6px">'
            f'{legend}</div></div></div>')
