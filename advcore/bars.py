"""Class-probability bars as HTML: probabilities in, an HTML string for ``st.html`` out, no I/O.

For each class, its probability on the clean image (blue), on the adversarial image (red) and, optionally,
under random noise of the same budget (grey), on a 0-1 axis. The true class is named in bold with "(true)",
the target of a targeted attack in italics with "(target)"; an arrow marks the clean and the adversarial
prediction (one arrow when they coincide). Hovering over a class shows its three probabilities.

A table of the same numbers, visually hidden, goes with the bars: the chart's text alternative for a screen
reader (WCAG 1.1.1); the bars themselves are hidden from it.

The live pages redraw these bars on every slider move. As a Plotly chart they were torn down and drawn again
each time (a changed chart gets a new identity in Streamlit); as HTML the browser only swaps a few boxes.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import numpy as np

from .i18n import _, pgettext
from .viz import ADV, BOTH, CLEAN, NOISE

# read by a screen reader, not drawn (the usual "visually hidden" style)
VISUALLY_HIDDEN = ("position:absolute;width:1px;height:1px;margin:-1px;padding:0;border:0;overflow:hidden;"
                   "clip:rect(0 0 0 0);white-space:nowrap")
GRID = (0.0, 0.25, 0.5, 0.75, 1.0)  # probability gridlines and their labels
MARK_ROOM = 36  # px above the tallest bar for a prediction arrow and its label
SLANT_ABOVE_CHARS = 5  # class names with a longer word are slanted (else they would break inside words)


CJK = re.compile(r"[\u3000-\u9fff\uff00-\uffef]")  # Chinese characters and full-width punctuation


def vertical(text: str) -> str:
    """CSS for a y-axis title ``text``: Latin script turned to read bottom to top; Chinese upright, top to bottom,
    as vertical Chinese is written (turned, its characters would lie on their side)."""
    return "writing-mode:vertical-rl" if CJK.search(text) else "writing-mode:vertical-rl;transform:rotate(180deg)"


def _text(label: str) -> str:
    return re.sub(r"<[^>]+>", "", html.unescape(label))


@dataclass(frozen=True)
class Series:
    name: str
    colour: str
    probs: np.ndarray


def class_label(name: str, i: int, true_class: int, target: int | None) -> str:
    """A class's axis label as HTML: bold "(true)" for the true class, italic "(target)" for the target."""
    text = html.escape(str(name))
    if i == true_class:
        return _("<b>{name}</b> (true)", name=text)
    return _("<i>{name}</i> (target)", name=text) if i == target else text


def prediction_marks(clean_probs, adv_probs) -> dict[int, tuple[str, str]]:
    """{class: (label, colour)} for the arrows: the clean and the adversarial top class, one arrow when they
    coincide."""
    clean_top, adv_top = int(np.argmax(clean_probs)), int(np.argmax(adv_probs))
    if clean_top == adv_top:
        return {clean_top: (html.escape(_("clean & adv pred")), BOTH)}
    return {clean_top: (html.escape(_("clean pred")), CLEAN), adv_top: (html.escape(_("adv pred")), ADV)}


def _legend(series: list[Series]) -> str:
    items = "".join(f'<span style="white-space:nowrap"><span style="display:inline-block;width:12px;height:12px;'
                    f'background:{s.colour};margin-right:6px;vertical-align:-1px"></span>{html.escape(s.name)}</span>'
                    for s in series)
    return f'<div style="display:flex;flex-wrap:wrap;gap:4px 18px;margin:0 0 6px 56px">{items}</div>'


def _group(i: int, n: int, name: str, series: list[Series], mark: tuple[str, str] | None) -> str:
    tip = html.escape(f"{name}: " + pgettext("list separator", ", ").join(f"{s.name} {float(s.probs[i]):.1%}"
                                                                         for s in series), quote=True)
    bars = "".join(f'<div style="flex:0 1 12px;height:{100 * float(np.clip(s.probs[i], 0, 1)):.2f}%;'
                   f'background:{s.colour}"></div>' for s in series)
    arrow = ""
    if mark is not None:  # the label reaches inwards at the chart's edges, the arrow stays over the bars
        top = max(float(np.clip(s.probs[i], 0, 1)) for s in series[:2])
        align = "flex-start" if i == 0 else "flex-end" if i == n - 1 else "center"
        arrow = (f'<div style="position:absolute;left:0;right:0;bottom:calc({100 * top:.2f}% + 2px);display:flex;'
                 f'flex-direction:column;align-items:{align};line-height:1.15;color:{mark[1]}">'
                 f'<span style="white-space:nowrap">{mark[0]}</span><span style="align-self:center">▼</span></div>')
    return (f'<div title="{tip}" style="flex:1 1 0;min-width:0;position:relative;display:flex;'
            f'align-items:flex-end;justify-content:center;gap:1px">{bars}{arrow}</div>')


def numbers_table(labels: list[str], series: list[Series], marks: dict[int, tuple[str, str]]) -> str:
    """The bars' numbers as a visually hidden HTML table: a row per class (its label with "(true)",
    "(target)" and which prediction it is), a column per series."""
    head = "".join(f"<th>{html.escape(s.name)}</th>" for s in series)
    glue = pgettext("clause separator", "; ")
    rows = "".join(f"<tr><th>{label}{glue + _text(marks[i][0]) if i in marks else ''}</th>"
                   + "".join(f"<td>{float(s.probs[i]):.1%}</td>" for s in series) + "</tr>"
                   for i, label in enumerate(labels))
    caption, corner = html.escape(_("Class probabilities")), html.escape(_("class"))
    return (f'<table style="{VISUALLY_HIDDEN}"><caption>{caption}</caption>'
            f"<tr><th>{corner}</th>{head}</tr>{rows}</table>")


def probability_bars(class_names, clean_probs, adv_probs, true_class: int, noise_probs=None,
                     target: int | None = None, height: int = 300, font_size: int = 14) -> str:
    """The bars of ``class_names`` (probabilities in [0, 1], one per class), about ``height`` px tall (more
    when long class names are slanted)."""
    series = [Series(pgettext("image", "clean"), CLEAN, np.asarray(clean_probs)),
              Series(_("adversarial"), ADV, np.asarray(adv_probs))]
    if noise_probs is not None:
        series.append(Series(_("random noise, same budget"), NOISE, np.asarray(noise_probs)))
    marks = prediction_marks(clean_probs, adv_probs)
    labels = [class_label(n, i, true_class, target) for i, n in enumerate(class_names)]
    groups = "".join(_group(i, len(labels), str(n), series, marks.get(i)) for i, n in enumerate(class_names))
    slant = max(len(w) for n in class_names for w in str(n).split() or [""]) > SLANT_ABOVE_CHARS
    names_px = (int(0.57 * 0.5 * font_size * max(len(_text(label)) for label in labels)) + font_size
                if slant else 3 * font_size)
    plot = max(height - 4 * font_size - 10 - MARK_ROOM, 80)  # px of the 0-1 axis; slanted names add below
    grid = "".join(f'<div style="position:absolute;left:0;right:0;bottom:{100 * g:.0f}%;border-top:1px solid '
                   f'rgba(128,128,128,{0.6 if g == 0 else 0.2})"></div>' for g in GRID)
    ticks = "".join(f'<span style="position:absolute;right:6px;bottom:{100 * g:.0f}%;transform:translateY(50%)">'
                    f'{g:g}</span>' for g in GRID)
    if slant:  # each name hangs from its class at -35 degrees, as a long axis label does
        names = "".join(f'<div style="flex:1 1 0;min-width:0;position:relative;height:{names_px}px">'
                        f'<span style="position:absolute;right:50%;top:0;transform-origin:right top;'
                        f'transform:rotate(-35deg);white-space:nowrap;line-height:1.2">{label}</span></div>'
                        for label in labels)
    else:
        names = "".join(f'<div style="flex:1 1 0;min-width:0;text-align:center;line-height:1.2">{label}</div>'
                        for label in labels)
    axis = html.escape(_("probability"))
    return (f'<div class="advlab-bars" style="font-size:{font_size}px;position:relative">'
            f'{numbers_table(labels, series, marks)}<div aria-hidden="true">{_legend(series)}'
            f'<div style="display:flex;padding-top:{MARK_ROOM}px">'
            f'<div style="flex:none;width:22px;{vertical(axis)};'
            f'text-align:center;opacity:.8">{axis}</div>'
            f'<div style="flex:none;width:34px;position:relative;height:{plot}px;opacity:.8">{ticks}</div>'
            f'<div style="flex:1;position:relative;height:{plot}px">{grid}'
            f'<div style="position:absolute;inset:0;display:flex;gap:4px">{groups}</div></div></div>'
            f'<div style="display:flex;gap:4px;margin:6px 0 0 56px">{names}</div></div></div>')
