"""Sweep: the robust-accuracy curve of one model, 8 eps values x 1,000 images x PGD-20, and a
repeated view from the dashboard's result store.

    python -m bench.sweep [--n 1000]
"""

import argparse
import time

import numpy as np

from advcore import evaluate

from .common import load, report


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1000)
    args = parser.parse_args()
    model, split, model_id, *_ = load("mnist")
    eps_values = [float(e) for e in np.linspace(0, 0.35, 8)]
    evaluate.sweep({model_id: model}, split, "pgd", [0.1], {"steps": 2}, 16)  # compile
    started = time.perf_counter()
    table = evaluate.sweep({model_id: model}, split, "pgd", eps_values, {"steps": 20}, args.n)
    first = time.perf_counter() - started
    from advcore.ui.store import ResultStore
    store = ResultStore()
    key = store.key(model=model_id, eps=eps_values, n=args.n)
    store.put(key, table)
    started = time.perf_counter()
    store.get(key)
    again = time.perf_counter() - started
    rows = [{"model": model_id, "eps values": len(eps_values), "images": args.n, "attack": "PGD-20",
             "first run (s)": first, "repeated view (s)": again,
             "accuracy at eps": ", ".join(f"{e:.2f}:{a:.2f}" for e, a in zip(table.eps, table.robust_accuracy))}]
    report("sweep", rows)


if __name__ == "__main__":
    main()
