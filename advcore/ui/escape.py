"""Text someone typed (a nickname, a title, a question), shown as typed in elements that render Markdown."""

from __future__ import annotations

import re

_MARKDOWN_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")


def plain(text) -> str:
    """``text`` (a nickname, title, question or choice someone typed) for an element that renders Markdown
    (st.markdown, st.write, st.caption, st.table cells, widget labels): shown as typed, never as Markdown
    or HTML. Every ASCII punctuation mark is backslash-escaped (CommonMark) and line breaks become spaces."""
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", " ".join(str(text).split()))
