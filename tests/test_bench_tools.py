"""The benchmark harness's own helpers: the server log read as it comes, and the wait for the warm-up."""

import subprocess
import sys
import types

import pytest

from bench.browser import _collect_output
from bench.dashboard import url_model, wait_for_warm_up


def test_the_server_output_is_collected_line_by_line_while_it_runs():
    proc = subprocess.Popen([sys.executable, "-c", "print('AdvLab: warmed m (mnist) in 1.0 s'); print('x' * 100_000)"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    reader = _collect_output(proc)
    proc.wait(30)  # a 100 kB line does not block the child: the pipe is drained as it fills
    reader.join(5)
    assert proc.log[0] == "AdvLab: warmed m (mnist) in 1.0 s\n" and len(proc.log[1]) == 100_001


def test_the_wait_ends_when_the_warm_up_says_it_is_done():
    one = types.SimpleNamespace(log=["AdvLab: warmed a (mnist) in 1.0 s\n"])
    assert wait_for_warm_up(one, timeout_s=0.5) >= 0.5  # still warming: waits until the timeout
    done = types.SimpleNamespace(log=[*one.log, "AdvLab: could not warm b: broken\n", "AdvLab: warm-up done\n"])
    assert wait_for_warm_up(done, timeout_s=30) < 1


def test_the_benchmark_names_the_model_the_page_showed():
    assert url_model("http://127.0.0.1:8501/?dataset=cifar10&model=cifar10-small&eps=0.0314") == "cifar10-small"
    assert url_model("http://127.0.0.1:8501/?dataset=cifar10") is None


def test_a_result_suffix_keeps_another_machines_figures_apart(monkeypatch):
    from bench.common import result_suffix
    monkeypatch.delenv("ADVCORE_BENCH_SUFFIX", raising=False)
    assert result_suffix() == ""
    monkeypatch.setenv("ADVCORE_BENCH_SUFFIX", "-avx2")
    assert result_suffix() == "-avx2"
    monkeypatch.setenv("ADVCORE_BENCH_SUFFIX", "/../x")  # never a path
    with pytest.raises(SystemExit):
        result_suffix()
