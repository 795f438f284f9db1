"""Batch throughput: PGD-20 Linf on 1,000 test images, gradient evaluations per second, and the
robust accuracy each library reaches (so speed is never bought with strength).

    python -m bench.throughput [--n 1000] [--datasets mnist,cifar10]
"""

import argparse
import time

import numpy as np

from . import peers
from .common import SETUPS, load, report


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--datasets", default=",".join(SETUPS))
    args = parser.parse_args()
    rows = []
    for dataset in args.datasets.split(","):
        model, split, model_id, shape, eps, step = load(dataset)
        x, y = split.x[:args.n], split.y[:args.n].astype(np.int64)
        fb_pgd, _ = peers.make_foolbox(model)
        art_pgd, _ = peers.make_art(model, shape, batch_size=500)
        runners = {"advcore": peers.ours_pgd, "bare tf.function": peers.make_floor(model), "Foolbox 3": fb_pgd,
                   "ART": art_pgd}
        rates = {}
        for name, f in runners.items():
            f(model, x[:8], y[:8], eps, step, 2)  # warm-up / compile
            started = time.perf_counter()
            x_adv = f(model, x, y, eps, step, 20)
            seconds = time.perf_counter() - started
            rates[name] = len(x) * 20 / seconds
            rows.append({"data set": dataset, "library": name, "images": len(x), "seconds": seconds,
                         "gradient evals/s": rates[name], "robust accuracy": peers.accuracy(model, x_adv, y),
                         "max linf": float(np.abs(x_adv - x).max())})
        for row in rows[-len(runners):]:
            row["advcore / this"] = rates["advcore"] / rates[row["library"]]
    report("throughput", rows, "20 gradient evaluations per image; advcore's batches are 500 images")


if __name__ == "__main__":
    main()
