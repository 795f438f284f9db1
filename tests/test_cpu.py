"""The CPU named in cards and benchmark results."""

import platform

from advcore import cpu, train


def test_hardware_names_the_cpu_model_and_its_speed_relevant_features():
    cpuinfo = ("processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Platinum 8480C\n"
               "flags\t\t: fpu sse avx avx2 avx512f avx512_bf16 amx_bf16 amx_tile\n")
    assert cpu.model(cpuinfo) == "Intel(R) Xeon(R) Platinum 8480C, amx_bf16, avx512_bf16, avx512f, avx2"
    assert cpu.model("model name\t: AMD EPYC\nflags\t: fpu avx avx2 fma\n") == "AMD EPYC, avx2"
    assert cpu.model("") == platform.machine()  # no /proc/cpuinfo fields: the machine type alone
    assert "TensorFlow" in train.hardware()
