"""Defences: the live attack on one defended MNIST image and the smoothing certificate over a test set, next to
the undefended PGD-20 and the bare forward passes measured in the same run (issue 13's speed targets).

    python -m bench.defences [--runs 20] [--certify-images 500] [--n 1000]

- PGD-20 (L∞ 0.3, step 0.01) on one MNIST image of mnist-standard: undefended (the baseline); behind jpeg:75 with
  BPDA; behind resize-pad with EOT over 8 draws. Medians of --runs after 3 warm-up calls (target <= 60 ms and
  <= 200 ms), each also as a ratio to the baseline.
- ``defences.certify_report`` (Cohen et al. 2019: n0 = 100, n = --n, alpha 0.001, sigma 0.25) on the first
  --certify-images test images, once (target <= 3 min for 500 images with n = 1000), next to the time the
  same number of noisy images takes through the model's compiled forward pass alone (the floor: certify
  cannot be faster than its (n0 + n) x images forward passes).
"""

from __future__ import annotations

import argparse
import os
import time

from .common import load, median_ms, report


def _load_average() -> str:
    try:
        return ", ".join(f"{v:.1f}" for v in os.getloadavg())
    except OSError:
        return "n/a"


def main() -> None:
    import numpy as np
    import tensorflow as tf

    from advcore import attacks, defences
    from advcore.attacks import adaptive
    from advcore.attacks.base import compiled_for
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--certify-images", type=int, default=500, help="0 skips the certificate")
    parser.add_argument("--n", type=int, default=1000, help="noisy samples per image for the estimate")
    parser.add_argument("--batch", type=int, default=1000, help="noisy images per model call")
    args = parser.parse_args()
    model, split, model_id, _, eps, step = load("mnist")
    x, y = split.x[:1], split.y[:1]
    load_before = _load_average()

    def pgd(on):
        return lambda: attacks.run("pgd", on, x, y, eps=eps, steps=20, step_size=step)

    settings = [("none (baseline)", "", model),
                ("jpeg:75, BPDA", "<= 60", adaptive.attack_model(defences.apply(model, "jpeg:75"), "bpda")),
                ("resize-pad, EOT 8 draws", "<= 200", adaptive.attack_model(defences.apply(model, "resize-pad"), "eot",
                                                                             8))]
    rows, base = [], None
    for label, target, attacked in settings:
        ms = median_ms(pgd(attacked), args.runs)
        base = base or ms
        rows.append({"measure": f"PGD-20, 1 image, defence {label}", "value": round(ms, 1), "unit": "ms",
                     "x baseline": round(ms / base, 2), "target": target})
    if args.certify_images:
        images = split.x[:args.certify_images]
        started = time.perf_counter()
        result = defences.certify_report(model, images, split.y[:args.certify_images], 0.25, 100, args.n, 0.001,
                                         args.batch)
        seconds = time.perf_counter() - started
        forward = compiled_for(model).forward
        chunk = tf.random.uniform((args.batch, *images.shape[1:]))
        forward(chunk).numpy()
        calls = 10
        started = time.perf_counter()
        for _ in range(calls):
            forward(chunk).numpy()
        per_image = (time.perf_counter() - started) / (calls * args.batch)
        floor = per_image * len(images) * (100 + args.n)
        target = "<= 180" if len(images) >= 500 and args.n >= 1000 else ""
        rows.append({"measure": f"certify, {len(images)} images, n0 100 + n {args.n}, sigma 0.25, batch {args.batch}",
                     "value": round(seconds, 1), "unit": "s", "x baseline": round(seconds / floor, 2),
                     "target": target})
        rows.append({"measure": f"  floor: {len(images) * (100 + args.n):,} images through the forward pass alone "
                                f"({1 / per_image:,.0f} images/s)", "value": round(floor, 1), "unit": "s",
                     "x baseline": 1.0, "target": ""})
        rows.append({"measure": "  certified accuracy at L2 0.5 (check)",
                     "value": result["certified_accuracy"]["0.5"], "unit": "", "x baseline": None, "target": ""})
    report("defences", rows, f"{model_id}; PGD rows: median of {args.runs} after 3 warm-ups, 'x baseline' = time / "
                             f"undefended PGD-20 in this run; certify row: one run, 'x baseline' = time / its forward-"
                             f"pass floor. Load average (1, 5, 15 min) before: {load_before}, after: "
                             f"{_load_average()} on {os.cpu_count()} cores. numpy {np.__version__}")


if __name__ == "__main__":
    main()
