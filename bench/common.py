"""Shared set-up for the benchmarks: data folder, models, timing, and printing a table."""

from __future__ import annotations

import datetime as dt
import json
import os
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("ADVCORE_DATA_DIR", str(ROOT.parent / "shared" / "data"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
RESULTS = ROOT / "bench" / "results"

# (model id, image shape, PGD eps, PGD step) per data set
SETUPS = {"mnist": ("mnist-standard", (28, 28, 1), 0.3, 0.01), "cifar10": ("cifar10-standard", (32, 32, 3),
                                                                             8 / 255, 2 / 255)}


def machine() -> str:
    """Where a benchmark ran: GPU name, or CPU cores, model and speed-relevant features; TensorFlow's version."""
    import tensorflow as tf

    from advcore import cpu
    gpus = tf.config.list_physical_devices("GPU")
    where = f"{len(gpus)} GPU ({tf.config.experimental.get_device_details(gpus[0]).get('device_name', 'GPU')})" \
        if gpus else f"CPU, {os.cpu_count()} cores, {cpu.model()}"
    return f"{where}, TensorFlow {tf.__version__}"


def median_ms(fn, runs: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def load(dataset: str, intra_op_threads: int | None = None, model_id: str | None = None):
    """Model, test split and PGD settings for ``dataset``. ``intra_op_threads`` (before TensorFlow's
    first op) sets threads per op for every library in this process alike; None keeps TF's default.
    ``model_id`` replaces the data set's default model (SETUPS)."""
    import tensorflow as tf

    from advcore import data, zoo
    if intra_op_threads is not None:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(intra_op_threads)
        except RuntimeError:
            pass
    for gpu in tf.config.list_physical_devices("GPU"):
        tf.config.experimental.set_memory_growth(gpu, True)
    default_id, shape, eps, step = SETUPS[dataset]
    model_id = model_id or default_id
    return zoo.load(model_id), data.load(dataset, "test"), model_id, shape, eps, step


def report(name: str, rows: list[dict], notes: str = "") -> None:
    """Print a table and save it with the date, machine and command."""
    import sys
    keys = list(dict.fromkeys(k for row in rows for k in row))
    widths = {k: max(len(k), *(len(_fmt(r.get(k))) for r in rows)) for k in keys}
    print(" | ".join(k.ljust(widths[k]) for k in keys))
    print("-|-".join("-" * widths[k] for k in keys))
    for row in rows:
        print(" | ".join(_fmt(row.get(k)).ljust(widths[k]) for k in keys))
    if notes:
        print(notes)
    RESULTS.mkdir(exist_ok=True)
    name += result_suffix()
    payload = {"benchmark": name, "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
               "machine": machine(), "command": "python -m " + " ".join([f"bench.{Path(sys.argv[0]).stem}",
                                                                         *sys.argv[1:]]),
               "rows": rows, "notes": notes}
    (RESULTS / f"{name}.json").write_text(json.dumps(payload, indent=2))


def result_suffix() -> str:
    """``ADVCORE_BENCH_SUFFIX`` (letters, digits, - and _ only): added to every result file's name, so a run on
    another machine (``-avx2``) is kept beside the figures the READMEs cite instead of replacing them."""
    import os
    import re
    suffix = os.environ.get("ADVCORE_BENCH_SUFFIX", "")
    if not re.fullmatch(r"[A-Za-z0-9_-]*", suffix):
        raise SystemExit(f"ADVCORE_BENCH_SUFFIX may hold letters, digits, - and _ only, not {suffix!r}")
    return suffix


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return "" if value is None else str(value)
