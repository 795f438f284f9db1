"""Running one attack over many images: in batches, with progress, within a bound on the number of images.

Shared by ``advcore.evaluate`` (robust accuracy, sweeps, transfer matrices) and
``advcore.attacks.adaptive`` (naive and adaptive attacks on defended models).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..errors import AdvcoreError
from ..i18n import _
from .registry import run

MAX_EVAL_IMAGES = 10_000
DEFAULT_BATCH = 500


def attack_batched(model, x, y, attack: str, params: dict, batch_size: int = DEFAULT_BATCH,
                   progress: Callable[[int], None] | None = None):
    """Run an attack over (x, y) in batches; returns (x_adv, clean_logits, adv_logits). ``params`` hold models
    as objects (a transfer source: ``advcore.evaluate.with_models`` loads an id).

    ``progress(images)`` runs after each batch; it may raise (``heavy.Cancelled``) to stop between batches."""
    parts = []
    for start in range(0, len(x), batch_size):
        stop = min(start + batch_size, len(x))
        batch_params = dict(params)
        if batch_params.get("target") is not None:
            batch_params["target"] = np.broadcast_to(params["target"], (len(x),))[start:stop]
        result = run(attack, model, x[start:stop], y[start:stop], **batch_params)
        parts.append((result.x_adv, result.clean_logits, result.adv_logits))
        if progress:
            progress(stop - start)
    return tuple(np.concatenate(p) for p in zip(*parts))


def check_n(n, available: int) -> int:
    """Number of images: an int in [1, MAX_EVAL_IMAGES], capped to what the split holds."""
    try:
        n = int(n)
    except (TypeError, ValueError):
        raise AdvcoreError(_("n must be a whole number, got {n!r}", n=n)) from None
    if n < 1 or n > MAX_EVAL_IMAGES:
        raise AdvcoreError(_("n must be in [1, {most}], got {n}", most=MAX_EVAL_IMAGES, n=n))
    return min(n, available)
