"""The English sentences that model cards and training jobs store, shown in the reader's language.

Cards and jobs are data written once, in English, by code that runs outside any page session (the training
command, a worker thread): sanity flags (``advcore.evaluate.sanity_checks``, ``advcore.attacks.checks``,
``advcore.attacks.adaptive.masking_flag``), why a run stopped (``advcore.train``), a caveat and the training
attack (``advcore.cards``), why a queued run failed (``advcore.train_runner``). ``note`` reads such a sentence
back: each marked message of ``STORED`` is also a pattern (its ``{placeholders}`` match any text), and the
values it captures are read back the same way (an attack's phrase, the advice inside a failure). A sentence
of no known shape is shown as stored; in English ``note`` returns its input unchanged.
"""

from __future__ import annotations

import re
from functools import cache

from advcore import cards, i18n, train, train_runner
from advcore.i18n import N_, _, pgettext

FIELD = re.compile(r"\{(\w+)[^{}]*\}")  # a str.format field: {name} or {name:spec}
PARTS = "; "  # stored advice and flags glue their clauses with this

# The sanity flags' sentences as the cards store them, the older wordings of shipped cards included.
FLAGS = (
    N_("{model} under {attack}: accuracy falls (or stays) as eps grows"),
    N_("accuracy falls (or stays) as eps grows"),
    N_("{model} under {attack}: accuracy rose from eps {low} to {high}; a bigger budget must never help the model, "
       "so the attack is not converging (gradient masking?)"),
    N_("{model} under {attack}: at eps {eps} accuracy is {accuracy}"),
    N_("at eps {eps} accuracy is {accuracy}"),
    N_("{model} under {attack}: at eps {eps} accuracy is {accuracy}; with so large a budget any image can be "
       "changed into another class, so a high accuracy means the attack is failing, not the model winning"),
    N_("{model} under {attack}: at eps {eps} accuracy is {accuracy}; with so large a budget any image can be "
       "changed into another class, so any accuracy above 10% means the attack is failing, not the model winning"),
    N_("FGSM and {attack} agree within {gap} on {models}"),
    N_("FGSM and {attack} agree within {gap}"),
    N_("{attack} is at least as strong as {reference} on every model ({models})"),
    N_("{attack} is at least as strong as {reference}"),
    N_("model {model} at eps {eps}: {attack} leaves accuracy {strong} but {reference} only {weak}; a white-box "
       "gradient attack should never lose to {reference}, so the gradients are misleading it (gradient masking): "
       "trust the lower number"),
    N_("{attack} leaves accuracy {strong} but {reference} only {weak} (model {model}, eps {eps}): a white-box "
       "gradient attack should never lose to {reference}; the gradients are misleading it (gradient masking), so "
       "trust the lower number"),
    N_("model {model} at eps {eps}: the model resists FGSM ({weak}) far better than {attack} ({strong}); its loss "
       "surface hides the direction from single steps (gradient masking, e.g. the catastrophic overfitting of fast "
       "adversarial training), so only the {attack} number counts"),
    N_("model {model} at eps {eps}: FGSM leaves {weak}, {attack} {strong}. Normal for a standard model (trained on "
       "clean images only): its loss is far from linear, so one big step misses what many small steps find. The "
       "gap is a warning sign only for adversarially trained or defended models."),
    N_("FGSM against {attack}: only standard models here, where a gap is no warning sign"),
    N_("{eps} (and {more} more point)"),  # a flag's first point of several (evaluate._where)
    N_("{eps} (and {more} more points)"),
    N_("{share} of points have an all-zero input gradient"),
    N_("the outputs look like probabilities, not logits (softmax in the model masks gradients)"),
    N_("the outputs change between two calls on the same image (randomised model: use expectation over "
       "transformation)"),
    N_("the adaptive attack ({mode}) agrees with the naive one within {gap} ({naive} naive, {adaptive} adaptive)"),
    N_("the naive attack leaves {naive} accuracy but the adaptive attack ({mode}) only {adaptive}: the defence hid the "
       "gradient (obfuscated gradients, Athalye et al. 2018); only the adaptive figure counts"),
    N_("single-step FGSM"),
    N_("random noise (control)"),
    N_("square attack (black-box)"),
)
STORED = (*FLAGS, *cards.STORED, *train.STORED, *train_runner.STORED)
LONGEST_FIRST = sorted(STORED, key=len, reverse=True)  # a longer shape before the shorter one it extends


@cache
def _pattern(message: str, loose: bool) -> re.Pattern:
    """``message`` as a regular expression: its text literal, each field a lazy group (a repeated one must
    match the same text again) that holds no clause separator unless ``loose``."""
    value = ".+?" if loose else f"(?:(?!{re.escape(PARTS)}).)+?"
    out, seen, end = [], set(), 0
    for field in FIELD.finditer(message):
        name = field.group(1)
        out += [re.escape(message[end:field.start()]), f"(?P={name})" if name in seen else f"(?P<{name}>{value})"]
        seen.add(name)
        end = field.end()
    return re.compile("".join(out) + re.escape(message[end:]), re.DOTALL)


def _fill(template: str, values: dict[str, str]) -> str:
    """``template``'s fields replaced by the stored text of each (their format specs were applied when stored)."""
    return FIELD.sub(lambda field: values.get(field.group(1), field.group(0)), template)


def _one(text: str, loose: bool = False) -> str | None:
    for message in LONGEST_FIRST:
        found = _pattern(message, loose).fullmatch(text)
        if found:
            values = {name: note(value) for name, value in found.groupdict().items()}
            return _fill(_(message), values)
    return None


def note(text: str) -> str:
    """A stored English sentence in the current language: the whole of it if its shape is known (values without
    "; "), else each of its clauses if every one is known, else the whole with values that hold clauses (the
    advice inside a failure); else ``text`` as stored."""
    text = str(text)
    if i18n.current_language() == i18n.DEFAULT_LANGUAGE:  # stored in the source language: nothing to do
        return text
    whole = _one(text)
    if whole is not None:
        return whole
    parts = [_one(part) for part in text.split(PARTS)] if PARTS in text else [None]
    if all(part is not None for part in parts):
        return pgettext("clause separator", "; ").join(parts)
    loose = _one(text, loose=True) if PARTS in text else None
    return text if loose is None else loose
