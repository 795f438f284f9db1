"""One detector of English prose on a page shown in Chinese (issue 34), for the AppTest and browser tests.

A run of English words is prose left untranslated; what is set aside first is English on purpose: code and
commands, papers' titles (they keep their original titles: *in italics*, or as the attack and defence
registries and the lessons' bibliography write them), citations' "et al.", the hardware a card names, and, in
a page's rendered text, a reference line (it names a year or a link). A word has a lower-case letter after
its first, so acronyms (FGSM, PGD, MNIST, L2) and ids (mnist-standard) never count.
"""

import re

from advcore import attacks, defences
from advcore.lessons import papers

CJK = re.compile(r"[\u4e00-\u9fff]")
WORD = r"[A-Za-z][a-z]*[a-z]"
PAPERS = sorted({s.paper for s in (*attacks.ATTACKS.values(), *defences.DEFENCES.values())}
                | {papers.full(key) for key in papers.PAPERS}, key=len, reverse=True)  # a title before its part
SET_ASIDE = [
    re.compile(r"`[^`]*`"),  # code: commands, file names, variables
    re.compile(r"(?<!\*)\*(?!\*)[^*]+(?<!\*)\*(?!\*)"),  # *a paper's title*
    re.compile(r"\bet al\.|\bCPU \([^)]*\)"),  # citations' "et al."; the hardware a card names
]
REFERENCE = re.compile(r"\b(19|20)\d\d[a-z]?\b|https?://|arXiv|doi\.org")


def english_runs(text: str, at_least: int = 3, rendered: bool = False) -> list[str]:
    """Runs of ``at_least`` or more English words in ``text`` (line by line), once what is English on purpose
    is set aside. ``rendered``: ``text`` is a page's visible text, where Markdown no longer marks a title, so a
    line that names a year or a link is taken for a reference and set aside whole."""
    if text.startswith("python -m advcore"):  # a command in a table cell
        return []
    for paper in PAPERS:
        text = text.replace(paper, " ")
    for pattern in SET_ASIDE:
        text = pattern.sub(" ", text)
    run = re.compile(rf"(?<![\w-]){WORD}(?:[ ,;:'’]+{WORD}){{{at_least - 1},}}(?![\w-])")
    return [found for line in text.splitlines()
            if not (rendered and REFERENCE.search(line)) for found in run.findall(line)]
