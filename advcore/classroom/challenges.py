"""Challenges a teacher sets, answers the server re-checks, leaderboards and the CSV export.

Templates (``TEMPLATES``):

- ``min-eps``: fool MODEL on this image with the smallest perturbation (L∞ or L2 norm);
  score = the norm of the submitted change, smaller is better.
- ``targeted``: make this image read as class T within eps E; first correct wins.
- ``robust``: find a test image (one the model gets right) and an attack that fool the
  robust MODEL within eps E; first correct wins.
- ``quiz``: a question with choices, answered once before the teacher reveals the answer.

Every kind but ``min-eps`` takes one answer per member (``ANSWER_ONCE``): the store keeps it under a
unique key, so simultaneous answers from one member store exactly one.

The server never trusts the client: an image answer is checked for shape, finite values in
[0, 1], its norm against the challenge's original image (``advcore.metrics``), and the outcome
by running the real model on it. A refused answer raises ``ClassroomError`` and is not stored.
Norms are in pixel units (images in [0, 1]); the budget allows ``NORM_TOLERANCE`` for float32
rounding in the attacks' projection.
"""

from __future__ import annotations

import csv
import io
import logging
import time
from dataclasses import dataclass

import numpy as np

from advcore import data, metrics, zoo
from advcore.attacks.base import logits_of
from advcore.i18n import N_, _, class_name

from .rooms import ClassroomError
from .store import Store

NORMS = ("linf", "l2")
NORM_TOLERANCE = 1e-5
EPS_MAX = {"linf": 1.0, "l2": 60.0}  # no budget is larger than the whole image range
SUBMIT_LIMIT = (30, 60)  # submissions per session per minute
log = logging.getLogger(__name__)
MAX_ATTEMPTS = 200  # accepted submissions per student per challenge
STATUSES = ("open", "closed", "revealed")
ANSWER_ONCE = ("quiz", "targeted", "robust")  # one stored answer per member (targeted, robust: the first solve)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet reads such a cell as a formula (OWASP)


@dataclass(frozen=True)
class Template:  # the texts are N_-marked English, translated where shown (``title``, ``describe``)
    kind: str
    title: str
    describe: str  # format string over the challenge's fields
    answer: str  # what a student submits


TEMPLATES = {
    "min-eps": Template("min-eps", N_("Smallest eps"),
                        N_("Fool {model} on this image with the smallest {norm} change."), N_("an adversarial image")),
    "targeted": Template("targeted", N_("Targeted"), N_("Make this image read as class {target_name} for {model} "
                                                        "within {norm} eps {eps:g}."), N_("an adversarial image")),
    "robust": Template("robust", N_("Beat the robust model"), N_("Find a test image that {model} gets right and an "
                                                                 "attack that fools it within {norm} eps {eps:g}."),
                       N_("a test image index and an adversarial image")),
    "quiz": Template("quiz", N_("Quiz"), "{question}", N_("one of the choices")),
}
STATUS_NAMES = {"open": N_("open"), "closed": N_("closed"), "revealed": N_("revealed")}  # as shown (ids stay)


def title(kind: str) -> str:
    """A template's title in the current language."""
    return _(TEMPLATES[kind].title)


def status_name(status: str) -> str:
    """A challenge status in the current language."""
    return _(STATUS_NAMES[status]) if status in STATUS_NAMES else status


def describe(challenge: dict) -> str:
    """The challenge's task in the current language (a quiz: its question, as the teacher typed it)."""
    if challenge["kind"] == "quiz":
        return challenge["question"]
    values = dict(challenge)
    if "target_name" in values:
        values["target_name"] = class_name(values["target_name"])
    return _(TEMPLATES[challenge["kind"]].describe, **values)


def _loader(model_for):
    return model_for or zoo.load


def _split(split_for, dataset: str) -> data.Split:
    return (split_for or (lambda d: data.load(d, "test")))(dataset)


def _pred(model, x: np.ndarray) -> int:
    return int(logits_of(model, np.asarray(x, np.float32)).argmax(axis=1)[0])


def _check_norm(norm: str, eps: float | None) -> None:
    if norm not in NORMS:
        raise ClassroomError(_("norm must be one of {norms}", norms=", ".join(NORMS)))
    if eps is not None and not (np.isfinite(eps) and 0 < eps <= EPS_MAX[norm]):
        raise ClassroomError(_("eps for {norm} must be in (0, {high:g}]", norm=norm, high=EPS_MAX[norm]))


def start(store: Store, code: str, kind: str, *, model_for=None, split_for=None, now: float | None = None,
          **params) -> str:
    """Start a challenge in room ``code``; returns its id. Parameters by kind:

    - min-eps: dataset, model, x (1, H, W, C) float32 image, label, norm, eps_max (ceiling; default 1.0 / 60)
    - targeted: dataset, model, x, label, target, norm, eps
    - robust: dataset, model, norm, eps
    - quiz: question, choices (2-6 strings), answer (index of the right choice)
    """
    if kind not in TEMPLATES:
        raise ClassroomError(_("unknown challenge kind {kind}", kind=repr(kind)))
    challenge = {"kind": kind, "status": "open"}
    if kind == "quiz":
        choices = [" ".join(str(c).split())[:120] for c in params["choices"] if str(c).strip()]
        if not 2 <= len(choices) <= 6:
            raise ClassroomError(_("a quiz needs 2 to 6 choices"))
        answer = int(params["answer"])
        if not 0 <= answer < len(choices):
            raise ClassroomError(_("the right answer must be one of the choices"))
        question = " ".join(str(params["question"]).split())[:300]
        if not question:
            raise ClassroomError(_("the quiz needs a question"))
        challenge.update(question=question, choices=choices, answer=answer)
        return store.add_challenge(code, challenge, now)
    dataset, model_id, norm = params["dataset"], params["model"], params.get("norm", "linf")
    eps = params.get("eps_max" if kind == "min-eps" else "eps")
    eps = float(eps) if eps is not None else EPS_MAX[norm] if norm in EPS_MAX else None
    _check_norm(norm, eps)
    model = _loader(model_for)(model_id)
    names = data.info(dataset).class_names
    challenge.update(dataset=dataset, model=model_id, norm=norm, eps=eps)
    if kind in ("min-eps", "targeted"):
        x = np.asarray(params["x"], np.float32).reshape(1, *data.info(dataset).shape)
        label = int(params["label"])
        if _pred(model, x) != label:
            raise ClassroomError(_("{model} already gets this image wrong; pick one it classifies correctly",
                                   model=model_id))
        challenge.update(image_id=store.put_image(x, room=code, now=now), label=label, label_name=names[label])
        if kind == "targeted":
            target = int(params["target"])
            if not 0 <= target < len(names) or target == label:
                raise ClassroomError(_("the target must be a class other than the image's own"))
            challenge.update(target=target, target_name=names[target])
    return store.add_challenge(code, challenge, now)


def set_status(store: Store, code: str, challenge_id: str, status: str) -> dict:
    if status not in STATUSES:
        raise ClassroomError(_("status must be one of {statuses}", statuses=", ".join(STATUSES)))
    challenge = store.update_challenge(code, challenge_id, status=status)
    if challenge is None:
        raise ClassroomError(_("no such challenge"))
    return challenge


def public(challenge: dict) -> dict:
    """What a student may see: the quiz answer only after the reveal."""
    if challenge["kind"] == "quiz" and challenge["status"] != "revealed":
        return {k: v for k, v in challenge.items() if k != "answer"}
    return challenge


class MalformedAnswer(ClassroomError):
    """An image answer that is not an image of the challenge's shape and range (no page of AdvLab sends one)."""


def _as_image(x_adv, shape: tuple[int, ...]) -> np.ndarray:
    try:
        x = np.asarray(x_adv)
    except Exception:  # a list of mixed things, say
        raise MalformedAnswer(_("the answer is not an image array")) from None
    if x.dtype.kind not in "fiu" or x.size != int(np.prod(shape)) or x.shape not in (shape, shape[1:]):
        raise MalformedAnswer(_("wrong shape: expected an image of shape {expected}, got {shape}",
                                 expected=shape[1:], shape=x.shape))
    x = x.astype(np.float32).reshape(shape)
    if not np.isfinite(x).all() or x.min() < 0.0 or x.max() > 1.0:
        raise MalformedAnswer(_("pixel values must be finite and in [0, 1]"))
    return x


def check_image(challenge: dict, x: np.ndarray, label: int, x_adv, model) -> tuple[dict, np.ndarray]:
    """Verify an image answer against original ``x`` (true class ``label``); returns the facts
    (norm, predicted class, correct) and the checked float32 image, or raises ClassroomError
    naming what is wrong."""
    adv = _as_image(x_adv, x.shape)
    norm = challenge["norm"]
    size = float(metrics.perturbation_norms(x, adv)[norm][0])
    if size > challenge["eps"] + NORM_TOLERANCE:
        raise ClassroomError(_("over budget: the change has {norm} norm {size:.4f} > eps {eps:g}", norm=norm,
                               size=size, eps=challenge["eps"]))
    pred = _pred(model, adv)
    fooled = pred == challenge["target"] if challenge["kind"] == "targeted" else pred != label
    if not fooled:
        if challenge["kind"] == "targeted":
            raise ClassroomError(_("not solved: {model} reads this image as class {pred}, not class {target}",
                                   model=challenge["model"], pred=pred, target=challenge["target"]))
        raise ClassroomError(_("not solved: {model} reads this image as class {pred}, not a class other than "
                               "{label}", model=challenge["model"], pred=pred, label=label))
    return {"norm": size, "pred": pred, "correct": True}, adv


def _refused(why: str, message: str, code: str, nickname: str) -> ClassroomError:
    """ClassroomError(``message``) for an answer no honest page sends that often or in that form (forged,
    repeated, too many), after one warning line naming why and who."""
    log.warning("answer refused (%s) from %r in room %s", why, nickname, code)
    return ClassroomError(message)


def submit(store: Store, code: str, challenge_id: str, nickname: str, *, x_adv=None, index: int | None = None,
           choice: int | None = None, model_for=None, split_for=None, session: str = "",
           now: float | None = None) -> dict:
    """Check and store one answer; returns the stored submission. Refused answers raise
    ClassroomError and store nothing."""
    if not store.hit(f"submit:{session or nickname}", *SUBMIT_LIMIT, now):
        raise _refused(f"rate limit hit: submit, {SUBMIT_LIMIT[0]} in {SUBMIT_LIMIT[1]} s",
                       _("Too many submissions; wait a minute."), code, nickname)
    challenge = store.get_challenge(code, challenge_id)
    if challenge is None or store.get_member(code, nickname) is None:
        raise _refused("unknown challenge or member", _("no such challenge or member in this room"), code, nickname)
    if challenge["status"] != "open":
        raise ClassroomError(_("this challenge is closed"))
    previous = store.submissions(code, challenge_id, nickname)
    if challenge["kind"] == "quiz":
        if previous:
            raise _refused("repeated", _("you have answered this question already"), code, nickname)
        if not isinstance(choice, (int, np.integer)) or not 0 <= int(choice) < len(challenge["choices"]):
            raise ClassroomError(_("pick one of the choices"))
        entry = {"choice": int(choice), "correct": int(choice) == challenge["answer"]}
    else:
        if len(previous) >= MAX_ATTEMPTS:
            raise _refused("too many", _("at most {n} accepted answers per challenge", n=MAX_ATTEMPTS), code, nickname)
        if challenge["kind"] != "min-eps" and any(s["correct"] for s in previous):
            raise _refused("repeated", _("you have solved this one already"), code, nickname)
        model = _loader(model_for)(challenge["model"])
        if challenge["kind"] == "robust":
            split = _split(split_for, challenge["dataset"])
            if not isinstance(index, (int, np.integer)) or not 0 <= int(index) < len(split):
                raise ClassroomError(_("the test image index must be in 0-{high}", high=len(split) - 1))
            x, label = split.x[int(index):int(index) + 1], int(split.y[int(index)])
            if _pred(model, x) != label:
                raise ClassroomError(_("{model} already gets test image {index} wrong; pick one it classifies "
                                       "correctly", model=challenge["model"], index=int(index)))
        else:
            x, label = store.get_image(challenge["image_id"]), challenge["label"]
            if x is None:
                raise ClassroomError(_("this challenge's image is no longer stored; ask the teacher to start it again"))
        try:
            facts, adv = check_image(challenge, x, label, x_adv, model)
        except MalformedAnswer as exc:
            raise _refused("forged", str(exc), code, nickname) from None
        entry = {**facts, "image_id": store.put_image(adv, room=code, now=now),
                 **({"index": int(index)} if challenge["kind"] == "robust" else {})}
    entry["nickname"] = store.get_member(code, nickname)["nickname"]
    entry["id"] = store.add_submission(code, challenge_id, entry, now, once=challenge["kind"] in ANSWER_ONCE)
    if entry["id"] is None:  # a simultaneous answer of the same member was stored first
        raise _refused("repeated at once", _("you have answered this question already") if challenge["kind"] == "quiz"
                       else _("you have solved this one already"), code, nickname)
    return entry


def leaderboard(store: Store, code: str, challenge: dict) -> list[dict]:
    """Best entry per student: smallest norm (min-eps), else first correct; ranked, with attempts."""
    best: dict[str, dict] = {}
    attempts: dict[str, int] = {}
    for s in store.submissions(code, challenge["id"]):
        nick = s["nickname"]
        attempts[nick] = attempts.get(nick, 0) + 1
        if not s.get("correct"):
            continue
        if challenge["kind"] == "min-eps":
            if nick not in best or s["norm"] < best[nick]["norm"]:
                best[nick] = s
        elif nick not in best:
            best[nick] = s
    order = (lambda s: (s["norm"], s["time"])) if challenge["kind"] == "min-eps" else (lambda s: s["time"])
    rows = sorted(best.values(), key=order)
    return [{"rank": i + 1, "nickname": s["nickname"], "score": s.get("norm"), "time": s["time"],
             "attempts": attempts[s["nickname"]], "submission": s["id"], "image_id": s.get("image_id")}
            for i, s in enumerate(rows)]


def quiz_counts(store: Store, code: str, challenge: dict) -> list[int]:
    counts = [0] * len(challenge["choices"])
    for s in store.submissions(code, challenge["id"]):
        counts[s["choice"]] += 1
    return counts


CSV_COLUMNS = ("challenge", "kind", "description", "nickname", "rank", "score", "solved_at_utc", "attempts")


def csv_cell(value) -> str:
    """A cell as text a spreadsheet shows as text: one that starts like a formula (``FORMULA_START``) gets a
    leading single quote (OWASP's CSV-injection rule)."""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def results_csv(store: Store, code: str) -> str:
    """Every challenge's leaderboard as CSV (one row per student who solved it; score = norm for min-eps).
    Cells that a spreadsheet would run as a formula are neutralised (``csv_cell``)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for challenge in store.challenges(code):
        for row in leaderboard(store, code, challenge):
            writer.writerow(map(csv_cell, [
                challenge["id"], challenge["kind"], describe(challenge), row["nickname"], row["rank"],
                "" if row["score"] is None else f"{row['score']:.6f}",
                time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(row["time"])), row["attempts"]]))
    return out.getvalue()
