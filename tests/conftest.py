"""Shared fixtures: data from ADVCORE_DATA_DIR (../shared/data by default), a tiny model
trained in seconds, a data-free untrained model with random images (the quick tier,
``-m "not needs_data"``), private folders for user models and checkpoints, and AppTest helpers."""

import atexit
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # tests import the bench/ tools (bench.browser, bench.load)
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("ADVCORE_DATA_DIR", str(ROOT.parent / "shared" / "data"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# One thread per TensorFlow op in each test process, as the dashboard's server runs (ADVLAB_INTRA_OP_THREADS,
# default 1): the suite runs two workers on two cores, and two ops of two threads each on them fought for the
# cores (a full run took about 8% more CPU). Read when TensorFlow starts its runtime, after this line.
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
# Servers the tests start skip the start-up warm-up of every data set's default model (a minute of CPU on
# 2 cores per server start, competing with the test); bench.dashboard measures it, test_live_warm tests it.
os.environ.setdefault("ADVLAB_WARM", "0")
os.environ["ADVCORE_OFFLINE"] = "1"
# The classroom store of every page the tests open (rooms, reservations, rate limits) lives in a fresh folder, never
# in the user's ~/.advcore/state: one run's reserved model names or limits cannot leak into the next.
# ... and so do trained user models and checkpoints (private_dirs gives a test its own folders on top). The folders
# this process made are removed when it exits.
for _var, _prefix in (("ADVLAB_STATE_DIR", "state"), ("ADVCORE_USER_MODELS", "user-models"),
                      ("ADVCORE_CHECKPOINTS", "checkpoints")):
    if _var not in os.environ:
        os.environ[_var] = tempfile.mkdtemp(prefix=f"advlab-test-{_prefix}-")
        atexit.register(shutil.rmtree, os.environ[_var], ignore_errors=True)


@pytest.fixture(scope="session")
def private_dirs(tmp_path_factory):
    base = tmp_path_factory.mktemp("advcore")
    os.environ["ADVCORE_USER_MODELS"] = str(base / "user-models")
    os.environ["ADVCORE_CHECKPOINTS"] = str(base / "checkpoints")
    return base


@pytest.fixture(scope="session")
def mnist_test():
    from advcore import data
    split = data.load("mnist", "test")
    assert split.full, "tests need the full MNIST test set: set ADVCORE_DATA_DIR"
    return split


@pytest.fixture(scope="session")
def tiny_zoo(private_dirs):
    """A folder holding one small standard MNIST model ('tiny-mnist', ~97% clean) and its card."""
    from advcore import cards, train, zoo
    folder = private_dirs / "zoo"
    cfg = train.TrainConfig("tiny-mnist", "mnist", "cnn-tiny", epochs=2, n_train=20000, eval_n=500, extra_n=200)
    model, state = train.train(cfg, folder, show_progress=False)
    card = cards.build_card(model, cfg, state, folder / "tiny-mnist.keras", "test fixture", log=lambda m: None)
    zoo.write_card(folder, card)
    return folder


@pytest.fixture(scope="session")
def tiny_model(tiny_zoo):
    import keras
    return keras.saving.load_model(tiny_zoo / "tiny-mnist.keras", compile=False)


@pytest.fixture(scope="session")
def batch(mnist_test):
    """The first 500 MNIST test images and labels."""
    return mnist_test.x[:500], mnist_test.y[:500]


def accuracy(model, x, y):
    from advcore.attacks.base import logits_of
    return float((logits_of(model, x).argmax(1) == y).mean())


@pytest.fixture(scope="session")
def untrained_model():
    """A seeded, untrained cnn-tiny MNIST model: the quick tier's model (no data, no training)."""
    from advcore import zoo
    return zoo.build("cnn-tiny", "mnist", seed=0)


@pytest.fixture(scope="session")
def random_batch():
    """64 uniform-noise 28x28 images in [0, 1] with random labels (no data set needed)."""
    gen = np.random.default_rng(0)
    return gen.random((64, 28, 28, 1), dtype=np.float32), gen.integers(0, 10, 64).astype(np.int64)


# Fixtures that read a data set or train a model: a test using one is in the slow tier.
DATA_FIXTURES = {"mnist_test", "batch", "tiny_zoo", "tiny_model", "models_env", "zoo_copy", "mnist", "shipped"}


# Seconds each test file took in a full run (written by ``python -m bench.suite_timeline --write``): the workers
# take files longest first (pyproject: --no-loadscope-reorder), so the two finish together instead of one waiting
# on a long file handed out last. A file not listed counts as 0 s and runs after the listed ones.
FILE_SECONDS = json.loads((ROOT / "tests" / "file_seconds.json").read_text())


def pytest_collection_modifyitems(config, items):
    """Mark ``needs_data`` every test that uses a data fixture; modules that load the shipped models or
    data sets directly mark themselves (``pytestmark``). Then order the files longest first, keeping the
    order of the tests inside each file (a stable sort)."""
    for item in items:
        if DATA_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.needs_data)
    items.sort(key=lambda item: -FILE_SECONDS.get(item.nodeid.split("::")[0], 0.0))


# ADVCORE_TEST_TIMELINE=<file>: every test appends one JSON line (worker, test, start and end in Unix seconds) for
# ``python -m bench.suite_timeline``, which shows how busy each worker was and where the run's time went.
TIMELINE = os.environ.get("ADVCORE_TEST_TIMELINE")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    start = time.time()
    yield
    if TIMELINE:
        line = {"worker": os.environ.get("PYTEST_XDIST_WORKER", "main"), "test": item.nodeid,
                "start": round(start, 3), "end": round(time.time(), 3)}
        with open(TIMELINE, "a") as out:  # one short line per write: whole lines from both workers
            out.write(json.dumps(line) + "\n")


@pytest.fixture
def rng():
    return np.random.default_rng(0)


# --- AppTest helpers (shared by the page tests) -----------------------------------------
@pytest.fixture(scope="session", autouse=True)
def components_scanned_once():
    """Every new AppTest scans all ~300 installed packages' metadata for Streamlit components (0.1-0.4 s of CPU:
    ``BidiComponentManager.discover_and_register_components``); the installed packages do not change during a
    run, so the run's AppTests share one scan (each still registers its result)."""
    from streamlit.components.v2 import manifest_scanner
    found = manifest_scanner.scan_component_manifests()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(manifest_scanner, "scan_component_manifests", lambda max_workers=None: list(found))
        yield


APP = str(ROOT / "app.py")
TIMEOUT = 180


def start(query: dict | None = None):
    """Run app.py in Streamlit's AppTest with these URL query parameters; no exception allowed."""
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update(query or {})
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metric(at, label):
    return next(m.value for m in at.metric if m.label == label)


def set_eps(at, eps):
    slider = at.select_slider(key="eps_linf")
    slider.set_value(min(slider.options_values, key=lambda o: abs(o - eps)) if hasattr(slider, "options_values")
                     else round(round(eps * 255) / 255, 6)).run()
    assert not at.exception, [e.value for e in at.exception]


@pytest.fixture
def fresh_store(tmp_path, monkeypatch):
    """The pages' classroom store (advcore.ui.room_session) on a fresh SQLite file in ``tmp_path``."""
    from advcore.ui import room_session as ui
    monkeypatch.setenv("ADVLAB_STATE_DIR", str(tmp_path))
    monkeypatch.delenv("ADVLAB_STORE", raising=False)
    ui._store.clear()
    yield ui.store()
    ui._store.clear()
