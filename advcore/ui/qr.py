"""QR codes of links (segno), for a phone to open a shared view or a room's join page."""

from __future__ import annotations

import io

import segno
import streamlit as st


@st.cache_data(max_entries=256, show_spinner=False)
def qr_png(text: str, scale: int = 10) -> bytes:
    """A QR code of ``text`` as PNG, ``scale`` pixels a module (10: large enough to scan from the back of a
    room), error correction level M."""
    buf = io.BytesIO()
    segno.make(text, error="m").save(buf, kind="png", scale=scale, border=2)
    return buf.getvalue()
