"""Live path: one image, PGD-20 Linf, median over 50 runs after warm-up; ours vs floor, Foolbox, ART.

    python -m bench.live_path [--runs 50] [--datasets mnist,cifar10]
    python -m bench.live_path --datasets cifar10 --model cifar10-fast   # another model of one data set
    # (results in bench/results/live_path.json, or live_path_<model>.json with --model)
"""

import argparse
from functools import partial

import numpy as np

from . import peers
from .common import SETUPS, load, median_ms, report


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--datasets", default=",".join(SETUPS))
    parser.add_argument("--intra-op-threads", type=int, default=1,
                        help="threads per TensorFlow op for all libraries (1 = the dashboard's setting)")
    parser.add_argument("--model", default=None, help="a zoo model instead of the data set's default (one data set)")
    args = parser.parse_args()
    if args.model and "," in args.datasets:
        parser.error("--model needs one data set in --datasets")
    rows = []
    for dataset in args.datasets.split(","):
        model, split, model_id, shape, eps, step = load(dataset, args.intra_op_threads, args.model)
        x, y = split.x[:1], split.y[:1].astype(np.int64)
        fb_pgd, _ = peers.make_foolbox(model)
        art_pgd, _ = peers.make_art(model, shape, batch_size=1)
        floor = peers.make_floor(model)
        runners = {"advcore": peers.ours_pgd, "bare tf.function": floor, "Foolbox 3": fb_pgd, "ART": art_pgd}
        times = {name: median_ms(partial(f, model, x, y, eps, step, 20), args.runs) for name, f in runners.items()}
        for name, ms in times.items():
            rows.append({"data set": dataset, "model": model_id, "library": name, "PGD-20, 1 image (ms)": ms,
                         "x slower than advcore": ms / times["advcore"]})
    result_name = f"live_path_{args.model}" if args.model else "live_path"
    report(result_name, rows, f"median of {args.runs} runs after 3 warm-up calls; same model and image for all; "
                              f"{args.intra_op_threads} thread(s) per TensorFlow op for every library")


if __name__ == "__main__":
    main()
