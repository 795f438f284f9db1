"""Benchmarks (not tests): AdvLab against Foolbox, ART and a bare tf.function floor, same run."""
