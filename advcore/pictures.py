"""Picture panels as HTML: images in, an HTML string for ``st.html`` out, no I/O.

Each image is a PNG data URI in a plain ``<img>``, scaled up with square pixels. An image drawn as a Plotly
chart was rebuilt from scratch in the browser on every slider move (Streamlit gives a chart whose figure
changed a new identity, so the browser tears it down and draws it again); an ``<img>`` is only swapped, which
takes the browser well under a millisecond.

The perturbation panel shows the signed change (mean over colour channels), amplified so that its largest
value fills a diverging scale: blue is a darker pixel, red a brighter one, white unchanged. Its colour bar's
ticks give the true change in pixel units (images in [0, 1]).

Every ``<img>`` has a text alternative (WCAG 1.1.1) that says what it shows: the panel's title lines (the
pages put the class and its probability there), for the perturbation what its colours mean and the largest
change, and in a triptych the adversarial image's largest change per pixel value (its eps, in [0, 1] and
/255).
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass

import numpy as np
from plotly.colors import diverging

from .i18n import _, pgettext
from .images import to_png

# ColorBrewer's RdBu, reversed so that -1 (darker) is blue and +1 (brighter) red; 11 evenly spaced stops.
DIVERGING = np.array([[int(c) for c in stop[4:-1].split(",")] for stop in reversed(diverging.RdBu)], np.float64)
TICKS = (1.0, 0.5, 0.0, -0.5, -1.0)  # colour-bar ticks, top to bottom, as fractions of the largest change


@dataclass(frozen=True)
class Panel:
    """One picture: title lines (plain text), the image as a data URI, and colour-bar tick labels (top to
    bottom) when the picture is a signed perturbation."""
    title: tuple[str, ...]
    source: str
    shape: tuple[int, int]  # (height, width) in pixels: the box keeps its size before the image is decoded
    colour_bar: tuple[str, ...] = ()
    alt: str = ""  # the image's text alternative; empty: made from the title (``image_alt``)


def amplification(delta: np.ndarray) -> float:
    """Factor that maps the largest |perturbation| to 1 (1 when nothing changed)."""
    peak = float(np.abs(delta).max(initial=0.0))
    return 1.0 / peak if peak > 0 else 1.0


def diverging_rgb(values: np.ndarray) -> np.ndarray:
    """Values in [-1, 1] -> uint8 RGB on :data:`DIVERGING` (blue -1, white 0, red +1), shape (..., 3)."""
    position = (np.clip(np.asarray(values, np.float64), -1, 1) + 1) / 2 * (len(DIVERGING) - 1)
    low = np.minimum(np.floor(position).astype(int), len(DIVERGING) - 2)
    frac = (position - low)[..., None]
    return np.round(DIVERGING[low] * (1 - frac) + DIVERGING[low + 1] * frac).astype(np.uint8)


def data_uri(image: np.ndarray) -> str:
    """A float (H, W, C) image in [0, 1] as a PNG data URI."""
    return "data:image/png;base64," + base64.b64encode(to_png(image)).decode("ascii")


def _signed(value: float) -> str:
    return "0" if value == 0 else f"{value:+.3f}".replace("-", "−")


def image_alt(title: tuple[str, ...]) -> str:
    """'original image: 7 (98.0%)' from the title lines ('original', '7 (98.0%)')."""
    if not title:
        return _("image")
    if len(title) == 1 and ": " in title[0]:  # one line, 'original: 7 (98.0%)'
        title = tuple(title[0].split(": ", 1))
    first = title[0] if _("image") in title[0] else _("{title} image", title=title[0])
    return first + (": " + _glue(title[1:]) if len(title) > 1 else "")


def _glue(clauses) -> str:
    return pgettext("clause separator", "; ").join(clauses)


def change_words(peak: float) -> str:
    """'at most 0.100 (25.5/255)': the largest change of a pixel value, in [0, 1] and in /255."""
    return _("at most {peak:.3f} ({peak_255:.1f}/255)", peak=peak, peak_255=peak * 255)


def image_panel(image: np.ndarray, *title: str, alt: str = "") -> Panel:
    return Panel(tuple(title), data_uri(image), np.shape(image)[:2], alt=alt or image_alt(tuple(title)))


def perturbation_panel(x: np.ndarray, x_adv: np.ndarray, *title: str) -> Panel:
    """The signed change ``x_adv - x`` (channel mean) amplified to fill the diverging scale; the factor is
    added to the last title line and the colour bar gives the true change."""
    delta = (np.asarray(x_adv, np.float64) - np.asarray(x, np.float64)).mean(axis=-1)
    amp = amplification(delta)
    peak = 1.0 / amp if np.abs(delta).max(initial=0.0) > 0 else 0.0
    lines = (*title[:-1], f"{title[-1]} (x{amp:.1f})") if title else (f"(x{amp:.1f})",)
    name = _glue(title) or _("perturbation")
    alt = (_("{name}: the change the attack made, colours amplified x{amp:.1f}; red pixels made brighter, blue "
             "darker, white unchanged; the largest change {peak:.3f} ({peak_255:.1f}/255)", name=name, amp=amp,
             peak=peak, peak_255=peak * 255) if peak > 0 else _("{name}: nothing changed", name=name))
    return Panel(lines, data_uri(diverging_rgb(delta * amp) / 255.0), delta.shape[:2],
                 tuple(_signed(t * peak) for t in TICKS), alt)


def _colour_bar(ticks: tuple[str, ...], font_size: int) -> str:
    stops = ", ".join(f"rgb({r:.0f},{g:.0f},{b:.0f})" for r, g, b in DIVERGING[::-1])  # top: red
    labels = "".join(f"<span>{html.escape(t)}</span>" for t in ticks)
    return (f'<div style="display:flex;gap:4px;flex:none"><div style="width:10px;background:linear-gradient('
            f'{stops})"></div><div style="display:flex;flex-direction:column;justify-content:space-between;'
            f'font-size:{font_size - 2}px;line-height:1;text-align:left">{labels}</div></div>')


def _figure(panel: Panel, size: int, font_size: int) -> str:
    title = "<br>".join(html.escape(line) for line in panel.title)
    alt = html.escape(panel.alt or image_alt(panel.title), quote=True)
    bar = _colour_bar(panel.colour_bar, font_size) if panel.colour_bar else ""
    return (f'<figure style="margin:0;flex:1 1 auto;min-width:0;text-align:center">'
            f'<figcaption style="font-size:{font_size + 2}px;line-height:1.3;opacity:.8;margin-bottom:6px">'
            f'{title}</figcaption><div style="display:flex;justify-content:center;gap:6px">'
            f'<img src="{panel.source}" alt="{alt}" width="{panel.shape[1]}" height="{panel.shape[0]}" '
            f'style="width:{size}px;min-width:0;max-width:100%;'
            f'height:auto;image-rendering:pixelated;display:block">{bar}</div></figure>')


def picture_row(panels: list[Panel], size: int = 260, font_size: int = 14) -> str:
    """Panels side by side, each image ``size`` px wide (less where the row is narrower), titles above."""
    figures = "".join(_figure(p, size, font_size) for p in panels)
    return f'<div class="advlab-pictures" style="display:flex;gap:20px;align-items:flex-end">{figures}</div>'


def triptych(x: np.ndarray, x_adv: np.ndarray, titles=None, size: int = 260, font_size: int = 14,
             with_original: bool = True) -> str:
    """Original | perturbation (amplified, with its colour bar) | adversarial, as one row of HTML.
    ``titles``: the title lines of each panel (None: the three names); ``with_original=False`` leaves out the
    first panel."""
    titles = titles or ((_("original"),), (_("perturbation"),), (_("adversarial"),))
    peak = float(np.abs(np.asarray(x_adv, np.float64) - np.asarray(x, np.float64)).max(initial=0.0))
    adv_alt = _("{alt}; each pixel value changed {change}", alt=image_alt(tuple(titles[2])),
                change=change_words(peak))
    panels = [image_panel(x, *titles[0]), perturbation_panel(x, x_adv, *titles[1]),
              image_panel(x_adv, *titles[2], alt=adv_alt)]
    return picture_row(panels[0 if with_original else 1:], size, font_size)
