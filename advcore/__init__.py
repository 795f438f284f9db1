"""advcore: adversarial attacks, robustness evaluation and a model zoo on TensorFlow.

Conventions (see DESIGN.md): images are float32 in [0, 1], channels-last
(N, H, W, C); epsilon is in that pixel space; models return logits.
"""

__version__ = "0.1.0"
