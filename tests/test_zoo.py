"""Model loading: sha256 against the card, Keras safe mode, ids that cannot escape."""

import json
import shutil

import keras
import numpy as np
import pytest

from advcore import zoo
from advcore.errors import ModelError


@pytest.fixture
def zoo_copy(tiny_zoo, tmp_path, monkeypatch):
    for f in tiny_zoo.glob("tiny-mnist.*"):
        shutil.copy(f, tmp_path / f.name)
    monkeypatch.setenv(zoo.MODELS_DIR_ENV, str(tmp_path))
    monkeypatch.setenv(zoo.USER_MODELS_ENV, str(tmp_path / "user"))
    zoo.forget()
    yield tmp_path
    zoo.forget()


def test_load_is_cached_and_returns_logits(zoo_copy, batch):
    model = zoo.load("tiny-mnist")
    assert zoo.load("tiny-mnist") is model
    out = np.asarray(model(batch[0][:5], training=False))
    assert out.shape == (5, 10) and not np.allclose(out.sum(axis=1), 1)


def test_listing_shows_cards(zoo_copy):
    cards = zoo.list_cards()
    assert [c["id"] for c in cards] == ["tiny-mnist"]
    assert cards[0]["results"]["clean_accuracy"] > 0.9 and cards[0]["weights_sha256"]


def test_tampered_weights_are_refused(zoo_copy):
    with open(zoo_copy / "tiny-mnist.keras", "ab") as f:
        f.write(b"\0")
    with pytest.raises(ModelError, match="sha256"):
        zoo.load("tiny-mnist")


def _register(folder, model_id, path):
    card = json.loads((folder / "tiny-mnist.json").read_text())
    card.update(id=model_id, weights_sha256=zoo.data.sha256_file(path))
    (folder / f"{model_id}.json").write_text(json.dumps(card))


def test_truncated_file_is_refused(zoo_copy):
    blob = (zoo_copy / "tiny-mnist.keras").read_bytes()
    (zoo_copy / "broken.keras").write_bytes(blob[: len(blob) // 2])
    _register(zoo_copy, "broken", zoo_copy / "broken.keras")
    with pytest.raises(ModelError, match="cannot load safely"):
        zoo.load("broken")
    assert zoo.load("tiny-mnist") is not None  # the others keep working


def test_lambda_layers_need_unsafe_deserialisation_and_are_refused(zoo_copy):
    inputs = keras.Input((28, 28, 1))
    outputs = keras.layers.Dense(10)(keras.layers.Flatten()(keras.layers.Lambda(lambda t: t * 2)(inputs)))
    keras.Model(inputs, outputs).save(zoo_copy / "lambda.keras")
    _register(zoo_copy, "lambda", zoo_copy / "lambda.keras")
    with pytest.raises(ModelError, match="cannot load safely"):
        zoo.load("lambda")


@pytest.mark.parametrize("bad", ["../../etc/passwd", "a/b", "UPPER", "", ".hidden", "x" * 80, "a.b"])
def test_ids_that_could_escape_are_refused(zoo_copy, bad):
    with pytest.raises(ModelError, match="invalid model id"):
        zoo.load(bad)


def test_unknown_id(zoo_copy):
    with pytest.raises(ModelError, match="unknown model"):
        zoo.card("no-such-model")
