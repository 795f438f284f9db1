"""What CPU a run ran on, for cards and benchmark results (no TensorFlow import)."""

from __future__ import annotations

import platform
from pathlib import Path

# CPU features that change TensorFlow's speed several-fold: bfloat16 matrix units (AMX), bfloat16 and
# float32 vector instructions. A 2-core AMX machine ran a cifar10-fast FGSM-RS epoch in ~5 min, a 2-core
# AVX2-only one in ~32 min, so a card's training time means little without them.
CPU_FEATURES = ("amx_bf16", "avx512_bf16", "avx512f", "avx2")


BFLOAT16_UNITS = ("amx_bf16", "avx512_bf16")  # without one of them TensorFlow emulates bfloat16 arithmetic


def _fields(cpuinfo: str | None) -> dict[str, str] | None:
    """/proc/cpuinfo as {field: value} (every processor lists the same fields; the last wins); None if unreadable."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return None
    fields = dict(line.split(":", 1) for line in cpuinfo.splitlines() if ":" in line)
    return {key.strip(): value.strip() for key, value in fields.items()}


def model(cpuinfo: str | None = None) -> str:
    """The CPU's model name and its speed-relevant features, from /proc/cpuinfo (``cpuinfo``: that
    file's text, for tests), e.g. "AMD EPYC, avx2"; the bare machine type where the file is unreadable."""
    fields = _fields(cpuinfo)
    if fields is None:
        return platform.machine()
    flags = set(fields.get("flags", "").split())
    name = fields.get("model name") or platform.machine()
    return ", ".join([name, *[flag for flag in CPU_FEATURES if flag in flags]])


def has_bfloat16_units(cpuinfo: str | None = None) -> bool | None:
    """Whether the CPU computes bfloat16 in hardware (AMX or AVX-512 BF16); None where unknown."""
    fields = _fields(cpuinfo)
    if fields is None or "flags" not in fields:
        return None
    return any(flag in fields["flags"].split() for flag in BFLOAT16_UNITS)
