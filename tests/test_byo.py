"""Bring your own model and images (advcore.byo, advcore.imagesets): data-free, tiny untrained models.

Each test gets private folders for shipped models (one fake shipped card), user models and user
image sets; MNIST comes from the shipped sample when ADVCORE_DATA_DIR has no data.
"""

import json
import zipfile

import keras
import numpy as np
import pytest
from keras import layers
from PIL import Image

from advcore import byo, cli, data, imagesets, zoo
from advcore.attacks.base import logits_of
from advcore.errors import DataError, ModelError

QUIET = {"log": lambda message: None}


@pytest.fixture
def folders(tmp_path, monkeypatch):
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    (shipped / "shipped-net.json").write_text(json.dumps({"id": "shipped-net", "dataset": "mnist"}))
    monkeypatch.setenv(zoo.MODELS_DIR_ENV, str(shipped))
    monkeypatch.setenv(zoo.USER_MODELS_ENV, str(tmp_path / "user-models"))
    monkeypatch.setenv(imagesets.USER_DATA_ENV, str(tmp_path / "user-data"))
    data.refresh_user_datasets()
    zoo.forget()
    yield tmp_path
    monkeypatch.undo()
    data.refresh_user_datasets()
    zoo.forget()


def save(model, folder, name):
    path = folder / f"{name}.keras"
    model.save(path)
    return path


def dense(shape=(28, 28, 1), classes=10, activation=None, seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input(shape), layers.Flatten(), layers.Dense(16, activation="relu"),
                             layers.Dense(classes, activation=activation)])


def user_files(folder):
    return sorted(p.name for p in (folder / "user-models").glob("*")) if (folder / "user-models").exists() else []


def test_a_logits_model_is_accepted_carded_listed_and_removed(folders):
    path = save(zoo.build("cnn-tiny", "mnist", seed=1), folders, "mine")
    card = byo.add_model(path, "mnist", "my-net", eval_n=24, command="test", **QUIET)
    stored = zoo.card("my-net")
    assert stored["weights_sha256"] == data.sha256_file(folders / "user-models" / "my-net.keras")
    assert stored["source"]["sha256"] == data.sha256_file(path) and not stored["source"]["softmax_stripped"]
    split = data.load("mnist", "test")
    expected = float((logits_of(zoo.load("my-net"), split.x[:24]).argmax(1) == split.y[:24]).mean())
    results = stored["results"]
    assert results["clean"]["n"] == 24 and results["clean_accuracy"] == pytest.approx(expected)
    assert [r["eps"] for r in results["robust"]] == [0.1, 0.3] and all(r["steps"] == 20 for r in results["robust"])
    assert all(r["robust_accuracy"] <= results["clean_accuracy"] for r in results["robust"])
    assert {f["check"] for f in results["sanity"]["flags"]} >= {"gradients", "monotone:my-net:pgd"}
    assert results["full_test_set"] == split.full and ("note" in results) != split.full
    assert card["shipped"] is False and zoo.display_name(stored) == "my-net (user model)"
    assert zoo.display_name({"id": "mnist-standard", "shipped": True}) == "mnist-standard"
    assert "my-net" in [c["id"] for c in zoo.list_cards("mnist")]
    assert cli.main(["attack", "--dataset", "mnist", "--model", "my-net", "--index", "0", "--attack", "pgd",
                     "--eps", "0.2", "--steps", "5", "--json"]) == 0
    assert cli.main(["remove-model", "--id", "my-net"]) == 0
    assert user_files(folders) == [] and "my-net" not in [c["id"] for c in zoo.list_cards()]
    with pytest.raises(ModelError, match="no user model"):
        byo.remove_model("my-net")


def test_cli_add_model_prints_the_headline_and_zoo_lists_it(folders, capsys):
    path = save(dense(), folders, "dense")
    assert cli.main(["add-model", "--file", str(path), "--dataset", "mnist", "--id", "cli-net", "--eval-n", "16",
                     "--json", "--quiet"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["id"] == "cli-net" and row["shipped"] is False and 0 <= row["clean"] <= 1
    assert "python -m advcore add-model --file" in zoo.card("cli-net")["source"]["command"]
    assert cli.main(["zoo", "--dataset", "mnist"]) == 0
    assert "cli-net" in capsys.readouterr().out and "user model" in zoo.display_name(zoo.card("cli-net"))


def test_a_lambda_layer_is_refused(folders):
    model = keras.Sequential([keras.Input((28, 28, 1)), layers.Lambda(lambda t: t * 2), layers.Flatten(),
                              layers.Dense(10)])
    with pytest.raises(ModelError, match="Lambda layer.*safe mode"):
        byo.add_model(save(model, folders, "lam"), "mnist", "lam", eval_n=8, **QUIET)
    assert user_files(folders) == []


@keras.saving.register_keras_serializable(package="byo_test")
class Doubler(layers.Layer):
    def call(self, x):
        return 2 * x


def test_custom_code_is_refused(folders):
    model = keras.Sequential([keras.Input((28, 28, 1)), Doubler(), layers.Flatten(), layers.Dense(10)])
    with pytest.raises(ModelError, match="custom code"):
        byo.add_model(save(model, folders, "custom"), "mnist", "custom", eval_n=8, **QUIET)


def test_a_wrong_input_shape_is_refused(folders, capsys):
    path = save(dense((32, 32, 3)), folders, "cifar-shaped")
    assert cli.main(["add-model", "--file", str(path), "--dataset", "mnist", "--id", "wrong"]) == 2
    assert "expects inputs of shape (32, 32, 3), but mnist images are (28, 28, 1)" in capsys.readouterr().err
    with pytest.raises(ModelError, match="one logit per class"):
        byo.add_model(save(dense(classes=7), folders, "seven"), "mnist", "seven", eval_n=8, **QUIET)
    assert user_files(folders) == []


@pytest.mark.parametrize("content", [b"", b"not a zip at all", b"PK\x03\x04 truncated"])
def test_a_corrupt_file_is_refused(folders, content):
    path = folders / "broken.keras"
    path.write_bytes(content)
    with pytest.raises(ModelError, match="not a readable .keras archive"):
        byo.add_model(path, "mnist", "broken", eval_n=8, **QUIET)
    with pytest.raises(ModelError, match="expected a Keras v3 .keras file"):
        byo.add_model(folders / "shipped" / "shipped-net.json", "mnist", "broken", eval_n=8, **QUIET)


def softmax_models():
    inp = keras.Input((28, 28, 1))
    nested = keras.Model(inp, layers.Dense(10, activation="softmax")(layers.Flatten()(inp)), name="inner")
    outer_in = keras.Input((28, 28, 1))
    return {
        "dense-softmax": dense(activation="softmax"),
        "softmax-layer": keras.Sequential([keras.Input((28, 28, 1)), layers.Flatten(), layers.Dense(10),
                                           layers.Softmax()]),
        "activation-layer": keras.Sequential([keras.Input((28, 28, 1)), layers.Conv2D(4, 3), layers.Flatten(),
                                              layers.Dense(10), layers.Activation("softmax")]),
        "nested": keras.Model(outer_in, nested(layers.Rescaling(2.0, offset=-1.0)(outer_in))),
    }


@pytest.mark.parametrize("kind", list(softmax_models()))
def test_softmax_output_is_refused_then_stripped_to_logits(folders, kind):
    model = softmax_models()[kind]
    path = save(model, folders, kind)
    with pytest.raises(ModelError, match="outputs probabilities.*--strip-softmax"):
        byo.add_model(path, "mnist", kind, eval_n=8, **QUIET)
    assert user_files(folders) == []
    card = byo.add_model(path, "mnist", kind, strip=True, eval_n=8, **QUIET)
    assert card["source"]["softmax_stripped"] and card["weights_sha256"] != card["source"]["sha256"]
    x = data.load("mnist", "test").x[:6]
    probs, logits = np.asarray(model(x)), logits_of(zoo.load(kind), x)
    assert not byo.looks_like_probabilities(logits)
    offset = np.log(probs) - logits  # log p = logits - logsumexp(logits): a constant per image
    assert np.allclose(offset, offset[:, :1], atol=1e-4)


def test_strip_softmax_refuses_a_model_without_one():
    with pytest.raises(ModelError, match="no softmax to remove"):
        byo.strip_softmax(dense())


@pytest.mark.parametrize("bad", ["../evil", "a/b", "..", "Upper", "", "x" * 65, "/tmp/x", "a.b"])
def test_ids_that_could_escape_are_refused(folders, bad):
    path = save(dense(), folders, "fine")
    with pytest.raises(ModelError, match="invalid model id"):
        byo.add_model(path, "mnist", bad, eval_n=8, **QUIET)
    with pytest.raises(ModelError, match="invalid model id"):
        byo.remove_model(bad)
    assert user_files(folders) == [] and not (folders / "evil.keras").exists()


def test_a_shipped_id_is_never_replaced_or_removed(folders):
    path = save(dense(), folders, "fine")
    with pytest.raises(ModelError, match="shipped model"):
        byo.add_model(path, "mnist", "shipped-net", eval_n=8, **QUIET)
    with pytest.raises(ModelError, match="shipped model"):
        byo.remove_model("shipped-net")
    assert (folders / "shipped" / "shipped-net.json").exists() and user_files(folders) == []
    byo.add_model(path, "mnist", "twice", eval_n=8, **QUIET)
    with pytest.raises(ModelError, match="already exists"):
        byo.add_model(path, "mnist", "twice", eval_n=8, **QUIET)


def test_browser_uploads_are_off_by_default_and_size_limited(folders, monkeypatch):
    content = save(dense(), folders, "upload").read_bytes()
    monkeypatch.delenv(byo.UPLOAD_ENV, raising=False)
    with pytest.raises(ModelError, match="uploads are off"):
        byo.add_uploaded(content, "mnist", "up", eval_n=8, **QUIET)
    monkeypatch.setenv(byo.UPLOAD_ENV, "1")
    monkeypatch.setattr(byo, "MAX_UPLOAD_BYTES", len(content) - 1)
    with pytest.raises(ModelError, match="uploads are limited"):
        byo.add_uploaded(content, "mnist", "up", eval_n=8, **QUIET)
    monkeypatch.setattr(byo, "MAX_UPLOAD_BYTES", 50 << 20)
    with pytest.raises(ModelError, match="Lambda"):
        lam = keras.Sequential([keras.Input((28, 28, 1)), layers.Lambda(lambda t: t), layers.Flatten(),
                                layers.Dense(10)])
        byo.add_uploaded(save(lam, folders, "lam").read_bytes(), "mnist", "up", eval_n=8, **QUIET)
    assert user_files(folders) == []
    assert byo.add_uploaded(content, "mnist", "up", eval_n=8, **QUIET)["source"]["command"] == "browser upload"
    assert user_files(folders) == ["up.json", "up.keras"]


# --- image sets ---------------------------------------------------------------------------------

def image_folder(root, classes=("cat", "dog"), per_class=3, size=(50, 40)):
    rng = np.random.default_rng(0)
    for name in classes:
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / name / f"{i}.{'png' if i % 2 else 'jpg'}")
    return root


def test_a_folder_of_class_subfolders_becomes_a_data_set_for_a_user_model(folders, capsys):
    root = image_folder(folders / "photos")
    (root / "notes.txt").write_text("ignored: not in a class folder")
    assert cli.main(["add-dataset", "--name", "pets", "--images", str(root), "--size", "36", "30", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["shape"] == [36, 30, 3] and summary["n_test"] == 6 and summary["classes"] == 2
    info = data.info("pets")
    assert info.user and info.shape == (36, 30, 3) and info.class_names == ("cat", "dog")
    split = data.load("pets", "test")
    assert split.x.dtype == np.float32 and split.x.shape == (6, 36, 30, 3) and 0 <= split.x.min() <= split.x.max() <= 1
    assert list(split.y) == [0, 0, 0, 1, 1, 1] and split.full
    with pytest.raises(DataError, match="no training images"):
        data.load("pets", "train")
    byo.add_model(save(dense((36, 30, 3), classes=2), folders, "pets-net"), "pets", "pets-net", eval_n=6, **QUIET)
    card = zoo.card("pets-net")
    assert [r["eps"] for r in card["results"]["robust"]] == pytest.approx(list(info.reference_eps))
    assert cli.main(["attack", "--dataset", "pets", "--model", "pets-net", "--index", "1", "--attack", "fgsm",
                     "--eps", "0.01"]) == 0
    with pytest.raises(ModelError, match="mnist images are"):
        byo.add_model(save(dense((36, 30, 3), classes=2), folders, "p2"), "mnist", "p2", eval_n=6, **QUIET)
    assert cli.main(["remove-dataset", "--name", "pets"]) == 0
    with pytest.raises(DataError, match="unknown data set"):
        data.info("pets")


def test_subfolders_name_lines_of_a_class_names_file(folders):
    root = image_folder(folders / "photos", classes=("giant panda", "7"), per_class=2)
    names = folders / "classes.txt"
    names.write_text("\n".join(f"class {i}" for i in range(7)) + "\nignored blank follows\n\ngiant panda\n")
    imagesets.add_dataset("few", root, names, size=(16, 16), channels=1)
    info = data.info("few")
    assert info.shape == (16, 16, 1) and len(info.class_names) == 9
    assert sorted(set(data.load("few").y)) == [7, 8]  # "7" is an index; "giant panda" is line 9


def test_a_damaged_image_is_refused_naming_the_file(folders):
    root = image_folder(folders / "photos")
    good = (root / "dog" / "1.png").read_bytes()
    (root / "dog" / "2.png").write_bytes(good[: len(good) // 3])
    with pytest.raises(DataError, match=r"dog/2\.png: .*(damaged|truncated)"):
        imagesets.add_dataset("broken", root, size=(20, 20))
    (root / "dog" / "2.png").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    with pytest.raises(DataError, match=r"dog/2\.png: .*not an image"):
        imagesets.add_dataset("broken", root, size=(20, 20))
    assert not (folders / "user-data" / "broken.npz").exists()
    with pytest.raises(DataError, match="unknown data set"):
        data.info("broken")


def test_an_npz_in_the_keras_layout_is_added(folders):
    rng = np.random.default_rng(1)
    path = folders / "digits.npz"
    np.savez(path, x_test=rng.integers(0, 256, (12, 20, 20), dtype=np.uint8), y_test=np.arange(12) % 3,
             x_train=rng.integers(0, 256, (9, 20, 20), dtype=np.uint8), y_train=np.arange(9) % 3)
    names = folders / "names.txt"
    names.write_text("zero\none\ntwo\n")
    entry = imagesets.add_dataset("tri", path, names)
    assert entry["shape"] == [20, 20, 1] and entry["splits"] == ["test", "train"]
    assert data.load("tri", "train").x.shape == (9, 20, 20, 1)
    np.testing.assert_allclose(data.load("tri").x[..., 0] * 255, np.load(path)["x_test"], atol=1e-3)
    resized = imagesets.add_dataset("tri-rgb", path, names, size=(24, 24), channels=3)
    assert resized["shape"] == [24, 24, 3] and data.load("tri-rgb").x.shape == (12, 24, 24, 3)
    np.savez(folders / "bad.npz", x_test=np.zeros((4, 20, 20), np.float32), y_test=np.zeros(4, int))
    with pytest.raises(DataError, match="must be uint8"):
        imagesets.add_dataset("bad", folders / "bad.npz", names)
    np.savez(folders / "labels.npz", x_test=np.zeros((4, 20, 20), np.uint8), y_test=np.array([0, 1, 2, 5]))
    with pytest.raises(DataError, match=r"labels in y_test must be in \[0, 2\]"):
        imagesets.add_dataset("labels", folders / "labels.npz", names)


def test_an_oversized_npz_is_refused_from_its_header(folders, monkeypatch):
    path = folders / "big.npz"
    np.savez_compressed(path, x_test=np.zeros((64, 32, 32, 3), np.uint8), y_test=np.zeros(64, np.int64))
    monkeypatch.setattr(imagesets, "MAX_STORED_BYTES", 64 * 32 * 32)
    monkeypatch.setattr(np.lib.npyio.NpzFile, "__getitem__", lambda *a: pytest.fail("decompressed before the check"))
    with pytest.raises(DataError, match=r"x_test holds \(64, 32, 32, 3\) uint8; the limit"):
        imagesets.add_dataset("big", path)


def test_a_model_archive_that_unpacks_too_big_is_refused(folders, monkeypatch):
    path = folders / "bomb.keras"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", "{}")
        archive.writestr("model.weights.h5", bytes(4 << 20))
    monkeypatch.setattr(byo, "MAX_MODEL_BYTES", 1 << 20)
    with pytest.raises(ModelError, match="unpacks to"):
        byo.check_archive(path)


@pytest.mark.parametrize("name, kwargs, message", [
    ("mnist", {}, "built-in data set"),
    ("../up", {}, "invalid data set name"),
    ("big", {"size": (300, 300)}, r"each side must be in \[8, 299\]"),
    ("two-ch", {"channels": 2}, "channels must be 1"),
])
def test_image_set_limits(folders, name, kwargs, message):
    root = image_folder(folders / "photos")
    with pytest.raises(DataError, match=message):
        imagesets.add_dataset(name, root, **kwargs)
    assert not any((folders / "user-data").glob("*")) if (folders / "user-data").exists() else True
    assert data.info("mnist").shape == (28, 28, 1)
