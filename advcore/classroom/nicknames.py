"""When two nicknames look alike: the key a nickname is unique by in its room.

Two nicknames that a class would read as the same person share a key: the key is the nickname
after NFKC folding (full-width and other compatibility forms become plain letters), with every
non-ASCII letter that has an ASCII look-alike in Unicode's confusables table (UTS #39, through the
``confusable_homoglyphs`` package: Cyrillic ``А``, Greek ``Ο``...) replaced by it (its lower
case's look-alike first, so Greek ``Ι`` reads as ``i``, as Latin ``I`` does), case-folded, and
with the separators ``_ - .`` and spaces at its ends dropped and runs of them inside read as one
space (so ``__Alice__`` and ``Alice`` meet, as do ``ada_lovelace`` and ``Ada Lovelace``). ASCII
letters are only case-folded, so ``Ian`` and ``ian`` share a key, ``Ian`` and ``lan`` do not.
"""

from __future__ import annotations

import functools
import re
import unicodedata

from confusable_homoglyphs import confusables

SEPARATORS = " _-."
_RUNS = re.compile(f"[{re.escape(SEPARATORS)}]+")


@functools.lru_cache(maxsize=4096)
def _latin(ch: str) -> str:
    """``ch`` case-folded, or the ASCII letter or digit it is confusable with (its lower case's first)."""
    if ch.isascii():
        return ch.casefold()
    for form in (ch.casefold(), ch):
        found = confusables.is_confusable(form, greedy=True) if len(form) == 1 else False
        glyphs = sorted(g["c"] for g in (found[0]["homoglyphs"] if found else [])
                        if len(g["c"]) == 1 and g["c"].isascii() and g["c"].isalnum())
        if glyphs:
            return glyphs[0].casefold()
    return ch.casefold()


def lookalike_key(nickname: str) -> str:
    """The key of ``nickname``: equal for nicknames that look alike (see the module docstring)."""
    folded = "".join(_latin(ch) for ch in unicodedata.normalize("NFKC", str(nickname or "")))
    return _RUNS.sub(" ", folded).strip() or folded
