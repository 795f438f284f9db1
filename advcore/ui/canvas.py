"""A drawing canvas (Streamlit custom component v2, inline HTML/JS, no build step).

White strokes on black, like MNIST. On each stroke's end the browser averages the
280x280 drawing down to size x size grey values (0..255) and sends them as the
component's ``pixels`` state; ``advcore.images.from_drawing`` turns them into a
model input.
"""

from __future__ import annotations

import streamlit as st

from advcore.i18n import _

_HTML = """
<div class="advlab-canvas">
  <canvas width="280" height="280" aria-label="drawing canvas"></canvas>
  <button type="button">Clear</button>
</div>
"""

_CSS = """
.advlab-canvas { display: flex; flex-direction: column; gap: .4rem; align-items: flex-start; }
.advlab-canvas canvas { width: min(224px, 100%); aspect-ratio: 1 / 1; height: auto; background: #000;
  border-radius: 6px;  touch-action: none; cursor: crosshair; border: 1px solid var(--st-border-color, #999); }
.advlab-canvas button { font-family: var(--st-font); padding: .2rem .8rem; border-radius: 4px; }
"""

_JS = """
export default function({ parentElement, data, setStateValue }) {
  const canvas = parentElement.querySelector("canvas");
  const ctx = canvas.getContext("2d");
  const size = (data && data.size) || 28;
  if (data && data.label) canvas.setAttribute("aria-label", data.label);  // the page's language
  if (data && data.clear) parentElement.querySelector("button").textContent = data.clear;
  const clear = () => { ctx.fillStyle = "#000"; ctx.fillRect(0, 0, canvas.width, canvas.height); };
  if (!canvas.dataset.ready) { clear(); canvas.dataset.ready = "1"; }
  ctx.strokeStyle = "#fff"; ctx.lineWidth = 20; ctx.lineCap = "round"; ctx.lineJoin = "round";
  let drawing = false;
  const at = (e) => { const r = canvas.getBoundingClientRect();
    return [(e.clientX - r.left) * canvas.width / r.width, (e.clientY - r.top) * canvas.height / r.height]; };
  const send = () => {
    const full = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    const block = canvas.width / size, out = [];
    for (let i = 0; i < size; i++) for (let j = 0; j < size; j++) {
      let sum = 0;
      for (let a = 0; a < block; a++) for (let b = 0; b < block; b++)
        sum += full[4 * ((i * block + a) * canvas.width + (j * block + b))];
      out.push(Math.round(sum / (block * block)));
    }
    setStateValue("pixels", out);
  };
  canvas.onpointerdown = (e) => { drawing = true; const [x, y] = at(e);
    ctx.beginPath(); ctx.moveTo(x, y); ctx.lineTo(x, y); ctx.stroke(); };
  canvas.onpointermove = (e) => { if (!drawing) return; const [x, y] = at(e); ctx.lineTo(x, y); ctx.stroke(); };
  const finish = () => { if (drawing) { drawing = false; send(); } };
  canvas.onpointerup = finish; canvas.onpointerleave = finish;
  parentElement.querySelector("button").onclick = () => { clear(); setStateValue("pixels", null); };
}
"""

_component = st.components.v2.component("advlab_canvas", html=_HTML, css=_CSS, js=_JS)


def draw(key: str, size: int = 28):
    """Mount the canvas; returns the last drawing as size*size grey values, or None. Its button and text
    alternative are in the current language (the component's HTML is shared by every session)."""
    words = {"label": _("drawing canvas"), "clear": _("Clear")}
    result = _component(key=key, data={"size": size, **words}, default={"pixels": None}, on_pixels_change=lambda: None)
    return getattr(result, "pixels", None)
