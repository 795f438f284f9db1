"""The CPU named in cards and benchmark results."""

import platform

import pytest

from advcore import cpu, train


def test_hardware_names_the_cpu_model_and_its_speed_relevant_features():
    cpuinfo = ("processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Platinum 8480C\n"
               "flags\t\t: fpu sse avx avx2 avx512f avx512_bf16 amx_bf16 amx_tile\n")
    assert cpu.model(cpuinfo) == "Intel(R) Xeon(R) Platinum 8480C, amx_bf16, avx512_bf16, avx512f, avx2"
    assert cpu.model("model name\t: AMD EPYC\nflags\t: fpu avx avx2 fma\n") == "AMD EPYC, avx2"
    assert cpu.model("") == platform.machine()  # no /proc/cpuinfo fields: the machine type alone
    assert "TensorFlow" in train.hardware()


AVX2_ONLY = "model name\t: AMD EPYC\nflags\t: fpu avx avx2 fma\n"
AMX = "model name\t: Intel(R) Xeon(R) Platinum 8480C\nflags\t: avx2 avx512f avx512_bf16 amx_bf16\n"


def test_bfloat16_on_a_cpu_without_bfloat16_units_is_warned_about():
    assert cpu.has_bfloat16_units(AVX2_ONLY) is False and cpu.has_bfloat16_units(AMX) is True
    assert cpu.has_bfloat16_units("") is None  # unknown: no warning
    warning = train.slow_precision_warning("bfloat16", gpus=0, cpuinfo=AVX2_ONLY)
    assert "AMD EPYC, avx2" in warning and "--precision float32" in warning
    assert train.slow_precision_warning("bfloat16", gpus=0, cpuinfo=AMX) == ""
    assert train.slow_precision_warning("bfloat16", gpus=1, cpuinfo=AVX2_ONLY) == ""  # a GPU computes it
    assert train.slow_precision_warning("float32", gpus=0, cpuinfo=AVX2_ONLY) == ""
    assert train.slow_precision_warning("bfloat16", gpus=0, cpuinfo="") == ""


def test_a_bfloat16_run_on_such_a_cpu_warns_before_it_trains(monkeypatch, private_dirs, tmp_path):
    monkeypatch.setattr(cpu, "has_bfloat16_units", lambda cpuinfo=None: False)
    monkeypatch.setattr(train.tf.config, "list_physical_devices", lambda kind=None: [])  # as on a CPU-only machine
    cfg = train.TrainConfig(model_id="warned", dataset="mnist", architecture="cnn-tiny", precision="bfloat16",
                            n_train=64, batch_size=32)
    monkeypatch.setattr(train.data, "load", _refuse)
    with pytest.warns(UserWarning, match="without bfloat16 units"), pytest.raises(RuntimeError, match="no data"):
        train.train(cfg, tmp_path, show_progress=False)


def _refuse(*args, **kwargs):
    raise RuntimeError("no data needed: the warning comes first")
