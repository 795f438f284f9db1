"""Live path at 224x224x3 (issue: bring your own model): one image, PGD-20 L-inf at 8/255, on ImageNet-sized
networks from keras.applications with random weights (pretrained weights cannot be fetched offline; the
cost of an attack does not depend on the weights), 1,000 classes, logits out, the dashboard's one thread
per op. advcore's attack next to a bare hand-written tf.function loop (the floor) measured in the same run.

    python -m bench.live_224 [--runs 20] [--archs MobileNetV3Small,MobileNetV2] [--intra-op-threads 1]
"""

import argparse
from functools import partial

import numpy as np

from . import peers
from .common import median_ms, report


def build(arch: str):
    """A keras.applications network at 224x224x3 with 1,000 logits (no final softmax) and random weights."""
    import keras
    net = getattr(keras.applications, arch)
    kwargs = {"include_preprocessing": False} if arch.startswith("MobileNetV3") else {}
    return net(input_shape=(224, 224, 3), weights=None, classes=1000, classifier_activation=None, **kwargs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--archs", default="MobileNetV3Small,MobileNetV2")
    parser.add_argument("--intra-op-threads", type=int, default=1,
                        help="threads per TensorFlow op (1 = the dashboard's setting, ADVLAB_INTRA_OP_THREADS)")
    args = parser.parse_args()
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(args.intra_op_threads)
    x = np.random.default_rng(0).random((1, 224, 224, 3), dtype=np.float32)
    y = np.array([3], np.int64)
    rows = []
    for arch in args.archs.split(","):
        model = build(arch)
        runners = {"advcore": peers.ours_pgd, "bare tf.function": peers.make_floor(model)}
        times = {name: median_ms(partial(f, model, x, y, 8 / 255, 2 / 255, 20), args.runs)
                 for name, f in runners.items()}
        for name, ms in times.items():
            rows.append({"network": arch, "params": model.count_params(), "library": name,
                         "PGD-20, 1 image 224x224x3 (ms)": ms, "x advcore": ms / times["advcore"]})
    report("live_224", rows, f"median of {args.runs} runs after 3 warm-up calls; random weights, 1,000 classes; "
                             f"{args.intra_op_threads} thread(s) per TensorFlow op (1 is the dashboard's setting); "
                             "target <= 250 ms")


if __name__ == "__main__":
    main()
