"""Server limits for a shared classroom server, from environment variables (see README).

Every heavy request from the browser is bounded by these, so one person cannot
hold the server: attack steps and restarts, sweep size, training size.
"""

import os

from ..attacks.registry import MAX_RESTARTS as LIBRARY_MAX_RESTARTS
from ..attacks.registry import MAX_STEPS as LIBRARY_MAX_STEPS


def _env_int(name: str, default: int, low: int, high: int) -> int:
    try:
        value = int(os.environ.get(name, default))
    except ValueError:
        value = default
    return max(low, min(high, value))


# A server may lower the library's ceilings (attacks.registry), never raise them.
MAX_STEPS = _env_int("ADVLAB_MAX_STEPS", 200, 1, LIBRARY_MAX_STEPS)
MAX_RESTARTS = _env_int("ADVLAB_MAX_RESTARTS", 5, 1, LIBRARY_MAX_RESTARTS)
MAX_QUERIES = _env_int("ADVLAB_MAX_QUERIES", 2000, 1, 10_000)
MAX_SWEEP_IMAGES = _env_int("ADVLAB_MAX_SWEEP_IMAGES", 2000, 10, 10_000)
MAX_SWEEP_POINTS = _env_int("ADVLAB_MAX_SWEEP_POINTS", 12, 2, 50)
MAX_TRAIN_EPOCHS = _env_int("ADVLAB_MAX_TRAIN_EPOCHS", 3, 1, 50)
MAX_TRAIN_IMAGES = _env_int("ADVLAB_MAX_TRAIN_IMAGES", 20_000, 1000, 60_000)
MAX_TRAIN_JOBS = _env_int("ADVLAB_MAX_TRAIN_JOBS", 1, 1, 8)
# Images per attack batch in sweeps and transfer matrices. The peak memory of a batch stays with
# the process: measured on MNIST, a sweep adds about 130 MB at 128 and 320 MB at 500 (the CLI's).
BATCH = _env_int("ADVLAB_BATCH", 128, 1, 2000)
