"""Model zoo: architectures, the registry of model ids and their cards, safe checked loading.

A model is ``<dir>/<id>.keras`` plus its card ``<dir>/<id>.json`` (written by
``python -m advcore train``, never by hand). Shipped models live in ``models/``
(or ``ADVCORE_MODELS_DIR``); models trained from the dashboard live in the
user folder (``ADVCORE_USER_MODELS``) and can never overwrite a shipped id.
``load`` checks the weights' sha256 against the card, deserialises with Keras'
safe mode (no Lambda layers or pickled code), and keeps one copy per process.
All models take float32 (N, H, W, C) images in [0, 1] and return logits.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from . import data
from .errors import ModelError
from .i18n import gettext
from .ids import ID_PATTERN, check_id
from .settings import settings

MODELS_DIR_ENV = "ADVCORE_MODELS_DIR"
USER_MODELS_ENV = "ADVCORE_USER_MODELS"


def models_dir() -> Path:
    return settings().models_dir or Path(__file__).resolve().parent.parent / "models"


def user_models_dir() -> Path:
    return settings().user_models or Path.home() / ".advcore" / "user-models"


# --- architectures -----------------------------------------------------------------

def _cnn_small(shape, classes):
    """Wong, Rice & Kolter 2020's MNIST net: conv16(4,s2)-conv32(4,s2)-fc100 (~166k params)."""
    import keras  # lazy: keras loads TensorFlow (seconds); the registry and cards are read without it
    from keras import layers
    return keras.Sequential([
        keras.Input(shape),
        layers.Conv2D(16, 4, strides=2, padding="same", activation="relu"),
        layers.Conv2D(32, 4, strides=2, padding="same", activation="relu"),
        layers.Flatten(),
        layers.Dense(100, activation="relu"),
        layers.Dense(classes),
    ])


def _cnn_mnist(shape, classes):
    """conv32-conv32-pool-conv64-conv64-pool-fc200 (~272k params); a smaller Madry et al. 2018 net."""
    import keras  # lazy: keras loads TensorFlow (seconds); the registry and cards are read without it
    from keras import layers
    return keras.Sequential([
        keras.Input(shape),
        layers.Conv2D(32, 3, activation="relu"),
        layers.Conv2D(32, 3, activation="relu"),
        layers.MaxPooling2D(),
        layers.Conv2D(64, 3, activation="relu"),
        layers.Conv2D(64, 3, activation="relu"),
        layers.MaxPooling2D(),
        layers.Flatten(),
        layers.Dense(200, activation="relu"),
        layers.Dense(classes),
    ])


def _cnn_cifar(shape, classes):
    """VGG-style BatchNorm CNN: 2x conv32, 2x conv64, 2x conv128, global pool (~290k params)."""
    import keras  # lazy: keras loads TensorFlow (seconds); the registry and cards are read without it
    from keras import layers
    blocks = [keras.Input(shape)]
    for width in (32, 64, 128):
        for _ in range(2):
            blocks += [layers.Conv2D(width, 3, padding="same", use_bias=False),
                       layers.BatchNormalization(), layers.ReLU()]
        blocks.append(layers.MaxPooling2D())
    blocks += [layers.GlobalAveragePooling2D(), layers.Dense(classes)]
    return keras.Sequential(blocks)


def _cnn_tiny(shape, classes):
    """conv8(3,s2)-fc32: trains in seconds; for tests and quick demos."""
    import keras  # lazy: keras loads TensorFlow (seconds); the registry and cards are read without it
    from keras import layers
    return keras.Sequential([
        keras.Input(shape),
        layers.Conv2D(8, 3, strides=2, padding="same", activation="relu"),
        layers.Flatten(),
        layers.Dense(32, activation="relu"),
        layers.Dense(classes),
    ])


def _airbench(shape, classes, whiten: bool = True, widths: tuple[int, int, int] = (64, 256, 256)):
    """Keller Jordan's airbench94 net (2024, "94% on CIFAR-10 in 3.29 seconds on a single GPU"), in Keras.

    A frozen 2x2 whitening convolution (24 channels, set from the training data's patch covariance by
    ``init_whitening``; Coates & Ng 2012), then three groups conv3x3 - maxpool - BatchNorm - GELU -
    conv3x3 - BatchNorm - GELU of widths 64, 256, 256, a 3x3 max-pool, and a bias-free linear layer whose
    logits are scaled by 1/9 (~2.0M params). Test-time flips are optional (``with_flip_averaging``): they
    double the arithmetic (with one thread per op the two passes share two cores).

    ``whiten=False`` ("airbench-plain") makes the first layer an ordinary trainable 2x2 convolution, for
    adversarial training: whitening divides the data's weakest patch directions (eigenvalues ~1e-4 on
    JPEG-compressed CIFAR-10) by their tiny standard deviation, so an 8/255 sign perturbation dominates
    those channels, and BatchNorm statistics gathered on adversarial batches no longer fit clean images.

    ``widths`` are the three groups' channel counts. "airbench-plain-wide" (96, 384, 384; ~4.4M params) is
    for adversarial training, where more capacity helps robust accuracy (Madry et al. 2018, Sec. 4); one
    bfloat16 FGSM-RS step of 512 images costs about 1.7x airbench-plain's on a 2-core CPU. In cifar10-fast's
    25-epoch run it gained 2.7 points of clean accuracy over the 20-epoch airbench-plain model and only 0.55
    points of PGD-40 (see the card).
    """
    import keras  # lazy: keras loads TensorFlow (seconds); the registry and cards are read without it
    from keras import layers
    first = (layers.Conv2D(24, 2, padding="valid", name="whiten", trainable=False) if whiten
             else layers.Conv2D(24, 2, padding="valid", name="stem"))
    blocks = [keras.Input(shape), first, layers.Activation("gelu")]
    for width in widths:
        blocks += [layers.Conv2D(width, 3, padding="same", use_bias=False), layers.MaxPooling2D(),
                   layers.BatchNormalization(momentum=0.6, epsilon=1e-5), layers.Activation("gelu"),
                   layers.Conv2D(width, 3, padding="same", use_bias=False),
                   layers.BatchNormalization(momentum=0.6, epsilon=1e-5), layers.Activation("gelu")]
    blocks += [layers.MaxPooling2D(3), layers.Flatten(), layers.Dense(classes, use_bias=False),
               layers.Rescaling(1 / 9)]
    return keras.Sequential(blocks)


def init_whitening(model, x, n_images: int = 2000, eps_ratio: float = 5e-4) -> bool:
    """Set a model's frozen ``whiten`` layer (if it has one) so that its output on 2x2 patches of ``x``
    (float32 (N, H, W, C) in [0, 1]) is centred and white: the kernel's columns are the covariance's
    eigenvectors scaled by 1/sqrt(eigenvalue + eps_ratio * mean eigenvalue), and their negatives.
    Returns True if the model had such a layer."""
    try:
        layer = model.get_layer("whiten")
    except ValueError:
        return False
    kh, kw, channels, out = layer.kernel.shape
    images = np.asarray(x[:n_images], np.float32)
    h, w = images.shape[1] - kh + 1, images.shape[2] - kw + 1
    patches = np.stack([images[:, i:i + h, j:j + w, :] for i in range(kh) for j in range(kw)], axis=3)
    patches = patches.reshape(-1, kh * kw * channels)
    mean = patches.mean(axis=0)
    eigenvalues, eigenvectors = np.linalg.eigh(np.cov(patches - mean, rowvar=False))
    scaled = eigenvectors / np.sqrt(eigenvalues + eps_ratio * eigenvalues.mean())
    kernel = np.concatenate([scaled, -scaled], axis=1)[:, :out]
    layer.set_weights([kernel.reshape(kh, kw, channels, out).astype(np.float32),
                       (-mean @ kernel).astype(np.float32)])
    return True


@functools.cache
def _flip_layer_class():
    """The Keras layer that mirrors images left-right, defined and registered once (a registered class,
    not a Lambda, so that saved models load in safe mode)."""
    import keras  # lazy: keras loads TensorFlow (seconds); the registry and cards are read without it

    @keras.saving.register_keras_serializable(package="advcore")
    class FlipLeftRight(keras.layers.Layer):
        def call(self, x):
            return keras.ops.flip(x, axis=2)

    return FlipLeftRight


def with_flip_averaging(model):
    """``model`` deployed with test-time flip augmentation (airbench; Jordan 2024): logits of the image and of
    its mirror image, averaged. One network, so the parameter count is unchanged; every step is
    differentiable, so gradient attacks see through it (it costs two forward passes, not robustness)."""
    import keras  # lazy: keras loads TensorFlow (seconds); the registry and cards are read without it
    inputs = keras.Input(model.input_shape[1:])
    mirrored = _flip_layer_class()(name="flip_left_right")(inputs)
    logits = keras.layers.Average()([model(inputs), model(mirrored)])
    return keras.Model(inputs, logits, name=f"{model.name}_flip_averaged")


ARCHITECTURES = {"cnn-small": _cnn_small, "cnn-mnist": _cnn_mnist, "cnn-cifar": _cnn_cifar, "cnn-tiny": _cnn_tiny,
                 "airbench": _airbench, "airbench-plain": functools.partial(_airbench, whiten=False),
                 "airbench-plain-wide": functools.partial(_airbench, whiten=False, widths=(96, 384, 384))}


def build(architecture: str, dataset: str, seed: int = 0):
    """A fresh, untrained logits model of ``architecture`` for ``dataset``'s image shape."""
    import keras  # lazy: keras loads TensorFlow (seconds); the registry and cards are read without it
    if architecture not in ARCHITECTURES:
        raise ModelError(gettext("unknown architecture {architecture!r}; choose one of: {choices}",
                                  architecture=architecture, choices=", ".join(ARCHITECTURES)))
    info = data.info(dataset)
    keras.utils.set_random_seed(seed)
    return ARCHITECTURES[architecture](info.shape, len(info.class_names))


# --- registry and cards (ids: advcore.ids.check_id) -----------------------------------------

def _card_path(model_id: str) -> tuple[Path, bool]:
    check_id(model_id)
    shipped = models_dir() / f"{model_id}.json"
    if shipped.is_file():
        return shipped, True
    user = user_models_dir() / f"{model_id}.json"
    if user.is_file():
        return user, False
    raise ModelError(gettext("unknown model {model_id!r}; `python -m advcore zoo` lists the models", model_id=model_id))


def card(model_id: str) -> dict:
    """The model card of ``model_id`` (with ``shipped`` added: False for user models)."""
    path, shipped = _card_path(model_id)
    try:
        content = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ModelError(gettext("{path}: unreadable model card ({reason})", path=path, reason=exc)) from None
    if not isinstance(content, dict) or content.get("id") != model_id:
        raise ModelError(gettext("{path}: the card does not describe model {model_id!r}", path=path, model_id=model_id))
    return dict(content, shipped=shipped)


def list_cards(dataset: str | None = None) -> list[dict]:
    """Every model's card, optionally of one data set: shipped before user models, then by
    data set, standard models first and ``<dataset>-standard`` first of those (the Explore page opens on it)."""
    cards, seen = [], set()
    for folder in (models_dir(), user_models_dir()):
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else ():
            model_id = path.stem
            if model_id in seen or not ID_PATTERN.match(model_id):
                continue
            try:
                entry = card(model_id)
            except ModelError:
                continue
            seen.add(model_id)
            if dataset is None or entry.get("dataset") == dataset:
                cards.append(entry)
    cards.sort(key=lambda c: (not c["shipped"], str(c.get("dataset")),
                              c.get("recipe", {}).get("recipe") != "standard",
                              c["id"] != f"{c.get('dataset')}-standard", c["id"]))
    return cards


def by_origin(cards) -> tuple[list[str], list[str]]:
    """(shipped ids, user ids) of ``cards`` in their order. Defaults and lessons use the shipped ones only;
    pickers offer user (student-trained or uploaded) models apart, under "Your models"."""
    shipped = [c["id"] for c in cards if c.get("shipped", True)]
    return shipped, [c["id"] for c in cards if not c.get("shipped", True)]


def display_name(card: dict) -> str:
    """How a model picker shows a model: its id, marked "user model" unless it is shipped."""
    return card["id"] if card.get("shipped", True) else f"{card['id']} (user model)"


def write_card(folder: Path, content: dict) -> Path:
    """Write a card atomically (temp file, then rename)."""
    path = folder / f"{check_id(content['id'])}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(content, indent=2, sort_keys=False) + "\n")
    os.replace(tmp, path)
    return path


def existing_model_file(model_id: str) -> Path | None:
    """A file already holding ``model_id`` (a shipped card, or user weights or card), or None."""
    check_id(model_id)
    user = user_models_dir()
    candidates = (models_dir() / f"{model_id}.json", user / f"{model_id}.keras", user / f"{model_id}.json")
    return next((path for path in candidates if path.exists()), None)


def _place(src: Path, dst: Path) -> None:
    """Put ``src`` at ``dst`` only if nothing is there (FileExistsError otherwise): a hard link, atomic and
    never replacing; where the file system has none, an exclusive create and a copy."""
    try:
        os.link(src, dst)
    except FileExistsError:
        raise
    except OSError:
        with open(src, "rb") as source, open(dst, "xb") as target:
            shutil.copyfileobj(source, target)


def add_user_model(work: Path, model_id: str) -> Path:
    """Move a finished user model (``work/<id>.keras`` and its card ``work/<id>.json``) into the user folder,
    weights first so the card lists only a complete model. Never replaces a file: a model id that exists
    (shipped or user) is refused with ModelError naming the file. Returns the card's path."""
    folder = user_models_dir()
    folder.mkdir(parents=True, exist_ok=True)
    taken, placed = existing_model_file(model_id), []
    try:
        if taken is not None:
            raise FileExistsError(taken)
        for suffix in (".keras", ".json"):
            taken = folder / f"{model_id}{suffix}"
            _place(work / f"{model_id}{suffix}", taken)  # checked again by the file system itself
            placed.append(taken)
    except FileExistsError:
        for path in placed:  # ours: nothing was there before
            path.unlink()
        raise ModelError(gettext("{path} exists already: model {model_id!r} is not replaced", path=taken,
                                  model_id=model_id)) from None
    return placed[-1]


# --- loading -------------------------------------------------------------------------

MAX_MODELS_ENV = "ADVCORE_MAX_MODELS"
_loaded: OrderedDict[str, object] = OrderedDict()  # the one model cache of a process, least recently used first
_load_lock = threading.Lock()


def max_models() -> int:
    """How many models a process keeps loaded (``ADVCORE_MAX_MODELS``, default 24): past that the least
    recently used is dropped, so browser-trained and uploaded user models cannot grow memory without bound."""
    return settings().max_models


def is_loaded(model_id: str) -> bool:
    return model_id in _loaded


def load(model_id: str):
    """Load a model once per process: sha256-checked against its card, Keras safe mode, warmed up.

    This is the process's only model cache (bounded, see ``max_models``); the dashboard builds on it."""
    with _load_lock:
        if model_id in _loaded:
            _loaded.move_to_end(model_id)
            return _loaded[model_id]
        entry = card(model_id)
        folder = models_dir() if entry["shipped"] else user_models_dir()
        path = folder / f"{model_id}.keras"
        if not path.is_file():
            raise ModelError(gettext("{path}: weights file missing for model {model_id!r}", path=path,
                                     model_id=model_id))
        digest = data.sha256_file(path)
        if digest != entry.get("weights_sha256"):
            raise ModelError(gettext("{path}: sha256 {digest}... does not match its card ({expected}...); refusing to "
                                     "load", path=path, digest=digest[:12],
                                     expected=str(entry.get("weights_sha256"))[:12]))
        model = _deserialise(path)
        shape = data.info(entry["dataset"]).shape
        if tuple(model.input_shape[1:]) != shape:
            raise ModelError(gettext("{path}: expects input {got}, data set has {shape}", path=path,
                                     got=model.input_shape[1:], shape=shape))
        model(np.zeros((1, *shape), np.float32), training=False)  # warm up
        _loaded[model_id] = model
        while len(_loaded) > max_models():
            _loaded.popitem(last=False)
        return model


def _deserialise(path: Path):
    import keras  # lazy: keras loads TensorFlow (seconds); the registry and cards are read without it
    try:
        _flip_layer_class()  # registered before any saved model that uses it is read
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:  # keras raises many types for bad archives and unsafe layers
        reason = str(exc).splitlines()[0][:300] if str(exc) else exc.__class__.__name__
        raise ModelError(gettext("{path}: cannot load safely ({reason})", path=path, reason=reason)) from None


def forget(model_id: str | None = None) -> None:
    """Drop cached models (all, or one) so the next ``load`` reads the file again."""
    with _load_lock:
        if model_id is None:
            _loaded.clear()
        else:
            _loaded.pop(model_id, None)
