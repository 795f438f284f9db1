"""Accessibility (WCAG 2.1 AA) helpers every page shares: the style sheet ``sidebar.show`` adds to each page,
and text alternatives for charts. docs/accessibility.md says what is claimed and how it is tested
(tests/test_accessibility.py).

The style sheet:

- Captions in text contrast: Streamlit draws ``st.caption`` (and the menu's section names) in a faded grey
  of about 3.9:1 on white, under the 4.5:1 that WCAG 1.4.3 asks of 14-px text. They are drawn in the theme's
  own text colour at 80% instead (about 6:1 on white; light on the dark theme alike).
- Visible focus (WCAG 2.4.7): every control focused from the keyboard gets a 2-px blue outline, also where
  Streamlit's own ring is only a faint shadow or a border tint (slider thumbs, switches, radios, selects, page
  links); a visually hidden input (a switch's, a radio's, a slider's) rings the box drawn for it (react-aria
  marks it ``data-focus-visible``), a select its whole box.
- Reduced motion (WCAG 2.3.3): with ``prefers-reduced-motion: reduce`` transitions, animations and smooth
  scrolling are switched off, Streamlit's own included (running-man, expanders, skeletons, spinners stop).
- The sidebar menu (``navigation.sidebar_links``): section names above their links, the current page in bold.
- Metric labels wrap onto a second line instead of being cut with an ellipsis (WCAG 1.4.10: "attack st…" and
  "conn…" at 1024x768 hid what a number is).
- A slider's value above its thumb is drawn in the text colour: in the theme's primary colour it was 3.9:1 on
  the dark theme's background (WCAG 1.4.3), and no one red serves both that and white text on a primary button.
- A slider's min and max labels (shown on hover) take their place in the page instead of being laid over it:
  in a narrow column they wrap onto two lines, and drawn absolutely they covered the caption below (a lesson's
  "Model: ..." at 1280x720 and 1024x768; WCAG 1.4.10). The rail and thumb stay where Streamlit puts them (20 px,
  half its 40-px box, now that the box grows), and on one line the slider keeps its height (the -10 px gives
  back the 10 px that the in-flow labels add), so nothing below it moves.

Charts: ``plotly_chart`` draws a Plotly figure with its text alternative (``chart_text``, ``chart_table``)
folded below it. The HTML charts carry their own (``advcore.bars``, ``advcore.tracechart``), as the pictures do
(``advcore.pictures``).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import streamlit as st

from advcore.i18n import _, ngettext, pgettext

from .navigation import NAV_CURRENT, NAV_KEY

_NAV = f".st-key-{NAV_KEY}"
FOCUS = "#2b6fd6"  # focus ring: 3:1 or more (WCAG 1.4.11) on the light and dark themes' backgrounds

CSS = f"""<style>
[data-testid="stCaptionContainer"] {{ color: inherit; opacity: .8; }}
:focus-visible, [data-rac][data-focus-visible] {{
  outline: 2px solid {FOCUS} !important; outline-offset: 2px !important; }}
input[type="checkbox"]:focus-visible, input[type="radio"]:focus-visible, input[type="range"]:focus-visible,
[data-testid="stSelectbox"] input[data-rac], [data-testid="stMultiSelect"] input[data-rac] {{
  outline: none !important; }}
.st-key-{NAV_CURRENT} [data-testid="stPageLink-NavLink"] p {{ font-weight: 700; }}
{_NAV} [data-testid="stMarkdown"] [data-testid="stMarkdownContainer"] {{ margin-bottom: 0; }}
{_NAV} [data-testid="stMarkdown"] p {{ font-size: .875rem; font-weight: 600; margin: 0 0 .15rem 0; }}
{_NAV} > [data-testid="stElementContainer"]:has(> [data-testid="stMarkdown"]):not(:first-child) {{
  margin-top: .75rem; }}
{_NAV} [data-testid="stPageLink"] p {{ white-space: normal; }}
[data-testid="stMetricLabel"], [data-testid="stMetricLabel"] * {{ white-space: normal !important;
  overflow: visible !important; text-overflow: clip !important; height: auto !important;
  overflow-wrap: normal !important; word-break: normal !important; }}
{_NAV} [data-testid="stPageLink-NavLink"] {{ padding-top: .2rem; padding-bottom: .2rem; margin: 0; }}
[data-testid="stSliderThumbValue"] {{ color: inherit !important; }}
[data-testid="stSlider"] div:has(> [data-testid="stSliderTickBar"]) {{ height: auto !important;
  padding-bottom: 0 !important; margin-bottom: -10px !important; }}
[data-testid="stSlider"] div:has(> [data-testid="stSliderTickBar"]) > div:not([data-testid]) {{
  top: 20px !important; }}
[data-testid="stSliderTickBar"] {{ position: static !important; margin: 8px 0 0 0 !important; }}
@media (prefers-reduced-motion: reduce) {{
  *, *::before, *::after {{ animation-duration: 0.001ms !important; animation-iteration-count: 1 !important;
    transition-duration: 0.001ms !important; transition-delay: 0s !important; scroll-behavior: auto !important; }}
}}
</style>"""


def chart_text(fig) -> str:
    """A Plotly figure in words (its text alternative, WCAG 1.1.1): the title, the axes, and per trace its name
    with the range of its values (a line or scatter), its size and extremes (a heatmap) or its panel (an
    image)."""
    layout = fig.layout
    title = layout.title.text if layout.title and layout.title.text else _("Chart")
    notes = [a.text for a in layout.annotations or () if a.text]
    if any(t.type == "image" for t in fig.data) and len(notes) >= len(fig.data):  # pictures side by side
        panels = [_("{title} (a map of the change: red brighter, blue darker)", title=_plain(note))
                  if t.type == "heatmap" else _("{title} (image)", title=_plain(note))
                  for t, note in zip(fig.data, notes)]
        return ngettext("{n} picture side by side: {panels}.", "{n} pictures side by side: {panels}.", len(panels),
                        panels=pgettext("clause separator", "; ").join(panels))
    x_title, y_title = _axis_title(layout.xaxis), _axis_title(layout.yaxis)
    parts = [f"{_plain(title)}."
             + (" " + _("Across: {axis}.", axis=_plain(x_title)) if x_title else "")
             + (" " + _("Up: {axis}.", axis=_plain(y_title)) if y_title else "")]
    for trace in fig.data:
        name = _plain(getattr(trace, "name", None) or trace.type)
        if trace.type == "image":
            parts.append(_("An image: {name}.", name=name))
        elif trace.type == "heatmap" and trace.z is not None:
            z = np.asarray(trace.z, dtype=float)
            parts.append(_("{name}: a {rows} by {columns} grid, values {low:.3g} to {high:.3g}.", name=name,
                           rows=z.shape[0], columns=z.shape[-1], low=np.nanmin(z), high=np.nanmax(z)))
        elif getattr(trace, "y", None) is not None and len(trace.y):
            y = np.asarray(trace.y, dtype=float)
            x = np.asarray(trace.x) if trace.x is not None else np.arange(len(y))
            if len(y) == 1:
                parts.append(_("{name}: {y} at {x}.", name=name, y=_fmt(y[0]), x=_fmt(x[0])))
            else:
                parts.append(ngettext(
                    "{name}: {n} point, from {first} at {first_x} to {last} at {last_x} (lowest {low}, highest "
                    "{high}).",
                    "{name}: {n} points, from {first} at {first_x} to {last} at {last_x} (lowest {low}, highest "
                    "{high}).", len(y), name=name, first=_fmt(y[0]), first_x=_fmt(x[0]), last=_fmt(y[-1]),
                    last_x=_fmt(x[-1]), low=_fmt(np.nanmin(y)), high=_fmt(np.nanmax(y))))
    return " ".join(parts)


def chart_table(fig, limit: int = 400) -> pd.DataFrame | None:
    """The points of a figure's line and scatter traces as a table (series, x, y), None when it has none
    or more than ``limit`` points."""
    series = _("series")
    rows = [{series: getattr(t, "name", None) or t.type, "x": x, "y": y}
            for t in fig.data if t.type == "scatter" and t.y is not None
            for x, y in zip(t.x if t.x is not None else range(len(t.y)), t.y)]
    if not rows or len(rows) > limit:
        return None
    return pd.DataFrame(rows)


def plotly_chart(where, fig, **kwargs) -> None:
    """``where.plotly_chart(fig, **kwargs)`` with its text alternative below in a closed expander: the chart in
    words and, for lines, its numbers as a table. Use it for every chart a page draws."""
    where.plotly_chart(fig, **kwargs)
    with where.expander(_("The chart as text"), icon=":material/table_view:"):
        st.caption(chart_text(fig))
        table = chart_table(fig)
        if table is not None:
            st.dataframe(table, hide_index=True, height=min(35 * len(table) + 38, 300))


def _axis_title(axis) -> str:
    return axis.title.text if axis is not None and axis.title and axis.title.text else ""


def _plain(text) -> str:
    return re.sub(r"<[^>]+>", " ", str(text)).replace("  ", " ").strip()


def _fmt(value) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.3g}"
    return str(value)
