"""What CPU a run ran on, for cards and benchmark results (no TensorFlow import)."""

from __future__ import annotations

import platform
from pathlib import Path

# CPU features that change TensorFlow's speed several-fold: bfloat16 matrix units (AMX), bfloat16 and
# float32 vector instructions. A 2-core AMX machine ran a cifar10-fast FGSM-RS epoch in ~5 min, a 2-core
# AVX2-only one in ~32 min, so a card's training time means little without them.
CPU_FEATURES = ("amx_bf16", "avx512_bf16", "avx512f", "avx2")


def model(cpuinfo: str | None = None) -> str:
    """The CPU's model name and its widest speed-relevant features, from /proc/cpuinfo
    (e.g. "AMD EPYC, avx2"); the bare machine type where that file is unreadable."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return platform.machine()
    fields = dict(line.split(":", 1) for line in cpuinfo.splitlines() if ":" in line)
    fields = {key.strip(): value.strip() for key, value in fields.items()}
    flags = set(fields.get("flags", "").split())
    name = fields.get("model name") or platform.machine()
    return ", ".join([name, *[flag for flag in CPU_FEATURES if flag in flags]])
