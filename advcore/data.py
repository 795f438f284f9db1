"""Data sets: registry, loading, and the offline fallback sample.

Every split is returned as float32 images in [0, 1], channels-last (N, H, W, C),
with int64 labels. Sources, in order:

1. ``<file>.npz`` (the ``keras.datasets`` layout: ``x_train``, ``y_train``,
   ``x_test``, ``y_test``, uint8) in the folder named by ``ADVCORE_DATA_DIR``;
2. ``keras.datasets`` (downloads once into ``~/.keras/datasets``), unless
   ``ADVCORE_OFFLINE=1``;
3. a small class-balanced sample of test images shipped in ``advcore/samples``
   (``Split.full`` is False, and the UI says so).

A user image set (added by ``advcore.imagesets``) has one source: its own ``<name>.npz`` in the user data
folder, checked against the sha256 in its description; this module registers and reads those sets.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import DataError, ModelError
from .i18n import N_, class_name, gettext
from .ids import check_id
from .settings import settings

DATA_DIR_ENV = "ADVCORE_DATA_DIR"
OFFLINE_ENV = "ADVCORE_OFFLINE"
SAMPLES_DIR = Path(__file__).parent / "samples"
SAMPLE_PER_CLASS = 30
USER_DATA_ENV = "ADVCORE_USER_DATA"
MIN_SIDE, MAX_SIDE = 8, 299  # pixels: the sides a user image set may have
MAX_NAME_CHARS = 100  # a user image set's title and class names are cut to this


@dataclass(frozen=True)
class EpsRange:
    """The eps slider of one data set and norm, in pixel units: 0 to ``high`` in steps of ``step``, with the
    standard budgets of the literature always exactly on the grid; ``default`` is where it opens."""

    high: float
    step: float
    standard: tuple[float, ...]
    default: float

    def grid(self) -> list[float]:
        points = {round(k * self.step, 6) for k in range(int(round(self.high / self.step)) + 1)}
        return sorted(points | {round(v, 6) for v in self.standard})

    def nearest(self, eps: float) -> float:
        """The grid position closest to ``eps``."""
        grid = self.grid()
        return grid[int(np.argmin(np.abs(np.asarray(grid) - eps)))]


# Budgets of a user image set, stated in its description when it is added (advcore.imagesets): 1/255 and
# 4/255 are the usual ImageNet L∞ budgets (natural images), 16/255 leaves no standard model any accuracy;
# small images (<= 32 px) take CIFAR-10's.
USER_BUDGETS = {"natural": ((1 / 255, 4 / 255), 16 / 255), "small": ((2 / 255, 8 / 255), 32 / 255)}


@dataclass(frozen=True)
class DatasetInfo:
    """Static description of a data set: its shape, classes, where it comes from, and its attack facts (the
    one place for them): reference budgets (model cards, lessons, challenges), the large eps, and the L∞ and
    L2 eps sliders with their default eps. A user image set states its budgets and large eps; its sliders
    are derived from them (``eps_range``)."""

    name: str
    title: str
    shape: tuple[int, int, int]
    class_names: tuple[str, ...]
    files: tuple[str, ...]  # candidate file names in ADVCORE_DATA_DIR, first found wins
    keras_name: str  # module under keras.datasets
    note: str = ""
    reference_eps: tuple[float, ...] = ()  # attack budgets (pixel units) of model cards and sweeps
    large_eps: float | None = None  # a budget at which any model should fall to ~0 accuracy
    user: bool = False  # a user image set (advcore.imagesets), stored in the user data folder
    linf: EpsRange | None = None  # the L∞ slider (None: derived from the budgets)
    l2: EpsRange | None = None  # the L2 slider (None: derived from the budgets and the image size)
    useful_accuracy: float | None = None  # clean accuracy a useful model of this data set reaches at least

    def useful_floor(self) -> float:
        """The clean accuracy below which a trained model is called weak (attacks on it say little): the data
        set's stated floor, else twice chance, at most 50% (user image sets)."""
        if self.useful_accuracy is not None:
            return self.useful_accuracy
        return min(0.5, 2 / max(len(self.class_names), 2))

    @property
    def budget(self) -> float:
        """The data set's largest reference budget (L∞, pixel units): MNIST 0.3, CIFAR-10 8/255."""
        return max(self.reference_eps)

    def eps_range(self, norm: str) -> EpsRange:
        """The eps slider for ``norm`` ('linf' or 'l2'). Without a stated one (user image sets), L∞: 0 to the
        large eps (at least twice the largest budget) in whole grey levels, the budgets exactly on the grid,
        opening at the largest; L2: 0 to large eps x sqrt(values per image) / 4 (about CIFAR-10's 2.0 at
        32x32x3) in 40 steps."""
        stated = {"linf": self.linf, "l2": self.l2}[norm]
        if stated is not None:
            return stated
        budgets = tuple(sorted(self.reference_eps)) or (0.1,)
        large = self.large_eps or 2 * budgets[-1]
        if norm == "linf":
            return EpsRange(round(max(large, 2 * budgets[-1]), 6), 1 / 255, budgets, budgets[-1])
        high = float(f"{large * float(np.prod(self.shape)) ** 0.5 / 4:.2g}")
        return EpsRange(high, high / 40, (), high / 4)

    def default_eps(self, norm: str = "linf") -> float:
        """Where the eps slider opens for ``norm``."""
        return self.eps_range(norm).default


# Standard budgets: L∞ 0.3 on MNIST and 8/255 on CIFAR-10 (Madry et al. 2018), 0.1 on Fashion-MNIST
# (e.g. Croce & Hein 2020); L2 0.5 on CIFAR-10 (RobustBench, Croce et al. 2021) and 2.0 on MNIST.
# Reference budgets: what model cards measure; large eps: where any model should fall to ~0.
DATASETS: dict[str, DatasetInfo] = {
    "mnist": DatasetInfo(
        "mnist", N_("MNIST digits"), (28, 28, 1), tuple(str(i) for i in range(10)),
        ("mnist.npz",), "mnist",
        reference_eps=(0.1, 0.3), large_eps=0.5, useful_accuracy=0.9,
        linf=EpsRange(0.5, 1 / 255, (0.1, 0.2, 0.3), 0.1),
        l2=EpsRange(8.0, 0.1, (1.0, 1.5, 2.0, 3.0), 2.0),
    ),
    "fashion": DatasetInfo(
        "fashion", "Fashion-MNIST", (28, 28, 1),
        ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
        ("fashion_mnist.npz",), "fashion_mnist",
        reference_eps=(0.1,), large_eps=0.5, useful_accuracy=0.75,
        linf=EpsRange(0.5, 1 / 255, (0.1, 0.2), 0.1),
        l2=EpsRange(6.0, 0.1, (1.0, 1.5), 1.5),
    ),
    "cifar10": DatasetInfo(
        "cifar10", "CIFAR-10", (32, 32, 3),
        ("airplane", "automobile", "bird", "cat", "deer",
         "dog", "frog", "horse", "ship", "truck"),
        ("cifar10.npz", "cifar10_jpeg.npz"), "cifar10",
        note="cifar10_jpeg.npz is a JPEG (quality ~75) re-encoding of CIFAR-10: lossy.",
        reference_eps=(2 / 255, 8 / 255), large_eps=32 / 255, useful_accuracy=0.40,
        linf=EpsRange(32 / 255, 1 / 255, (2 / 255, 4 / 255, 8 / 255, 16 / 255), 8 / 255),
        l2=EpsRange(2.0, 0.05, (0.25, 0.5, 1.0), 0.5),
    ),
}


@dataclass(frozen=True)
class Split:
    """One split of a data set.

    x: float32 (N, H, W, C) in [0, 1]; y: int64 (N,); ``full`` is False when only
    the shipped sample was available; ``source`` says where the pixels came from.
    """

    name: str
    split: str
    x: np.ndarray
    y: np.ndarray
    class_names: tuple[str, ...]
    source: str
    full: bool

    def __len__(self) -> int:
        return len(self.y)


def info(name: str) -> DatasetInfo:
    """Registry entry for ``name``; a clear error for an unknown name."""
    if name not in DATASETS:
        raise DataError(gettext("unknown data set {name!r}; choose one of: {choices}", name=name,
                                 choices=", ".join(DATASETS)))
    return DATASETS[name]


def class_label(class_names, index: int) -> str:
    """How a picker names class ``index``: "3: cat" (the name in the current language), or just "3" where the
    class name is the digit itself (MNIST), never "3: 3"."""
    name = str(class_names[index])
    return name if name == str(index) else f"{index}: {class_name(name)}"


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def to_float(images: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray:
    """uint8 (N, H, W[, C]) -> float32 (N, H, W, C) in [0, 1], checking the shape."""
    if images.dtype != np.uint8:
        raise DataError(gettext("expected uint8 pixels, got {dtype}", dtype=images.dtype))
    if images.ndim == 3:
        images = images[..., None]
    if images.shape[1:] != shape:
        raise DataError(gettext("expected images of shape {shape}, got {got}", shape=shape, got=images.shape[1:]))
    return images.astype(np.float32) / np.float32(255.0)


def _arrays_from_npz(path: Path, split: str, ds: DatasetInfo) -> tuple[np.ndarray, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            keys = set(archive.files)
            wanted = {f"x_{split}", f"y_{split}"}
            if not wanted <= keys:
                raise DataError(gettext("{path}: missing arrays {missing}; expected the keras.datasets layout "
                                        "x_train, y_train, x_test, y_test (uint8)", path=path,
                                        missing=sorted(wanted - keys)))
            x, y = archive[f"x_{split}"], archive[f"y_{split}"]
    except DataError:
        raise
    except Exception as exc:  # zip/npy errors come in many types
        raise DataError(gettext("{path}: not a readable .npz archive ({error}: {reason})", path=path,
                                error=exc.__class__.__name__, reason=exc)) from exc
    y = np.asarray(y).reshape(-1).astype(np.int64)
    if len(x) != len(y):
        raise DataError(gettext("{path}: {images} images but {labels} labels in the {split} split", path=path,
                                images=len(x), labels=len(y), split=split))
    return to_float(np.asarray(x), ds.shape), y


def _from_data_dir(ds: DatasetInfo, split: str) -> Split | None:
    folder = settings().data_dir
    if not folder:
        return None
    for filename in ds.files:
        path = Path(folder) / filename
        if path.is_file():
            x, y = _arrays_from_npz(path, split, ds)
            return Split(ds.name, split, x, y, ds.class_names, f"file {path.name} in ${DATA_DIR_ENV}", True)
    return None


def _from_keras(ds: DatasetInfo, split: str) -> Split | None:
    if settings().offline:
        return None
    try:
        import keras  # lazy: keras loads TensorFlow (seconds), needed only to download a data set

        (x_train, y_train), (x_test, y_test) = getattr(keras.datasets, ds.keras_name).load_data()
    except Exception:  # offline, blocked, or a partial download: fall back to the sample
        return None
    x, y = (x_train, y_train) if split == "train" else (x_test, y_test)
    y = np.asarray(y).reshape(-1).astype(np.int64)
    return Split(ds.name, split, to_float(x, ds.shape), y, ds.class_names,
                 f"keras.datasets.{ds.keras_name}", True)


# --- user image sets: where they are stored and how they are read (advcore.imagesets adds them) ---------

def user_data_dir() -> Path:
    """``ADVCORE_USER_DATA``, else ``user-data`` beside the user-models folder (``ADVCORE_USER_MODELS``),
    else ``~/.advcore/user-data``."""
    s = settings()
    if s.user_data:
        return s.user_data
    return (s.user_models.parent if s.user_models else Path.home() / ".advcore") / "user-data"


def check_user_set_name(name: str) -> str:
    """A user image set's name: like a model id (``advcore.ids.check_id``), and not a built-in data set."""
    try:
        check_id(name)
    except ModelError:
        raise DataError(gettext("invalid data set name {name!r}: use 1-64 of a-z, 0-9, '-' and '_'",
                                name=name)) from None
    if name in DATASETS and not DATASETS[name].user:
        raise DataError(gettext("{name!r} is a built-in data set; choose another name", name=name))
    return name


def user_set_paths(name: str) -> tuple[Path, Path]:
    """(pixels ``<name>.npz``, description ``<name>.json``) of user image set ``name``."""
    folder = user_data_dir()
    return folder / f"{check_user_set_name(name)}.npz", folder / f"{name}.json"


def _describe_user_set(entry: dict) -> DatasetInfo:
    shape = tuple(int(v) for v in entry["shape"])
    if len(shape) != 3 or not (MIN_SIDE <= shape[0] <= MAX_SIDE and MIN_SIDE <= shape[1] <= MAX_SIDE) \
            or shape[2] not in (1, 3):
        raise DataError(gettext("bad shape {shape}", shape=shape))
    names = tuple(str(c)[:MAX_NAME_CHARS] for c in entry["class_names"])
    return DatasetInfo(entry["name"], str(entry.get("title") or entry["name"])[:MAX_NAME_CHARS], shape, names,
                       (), "", note=f"user image set ({entry.get('source', {}).get('kind', '?')})",
                       reference_eps=tuple(float(e) for e in entry["reference_eps"]),
                       large_eps=float(entry["large_eps"]), user=True)


def _register_user_sets(registry: dict) -> None:
    """Put every readable user image set into ``registry`` (``DATASETS``) and drop user entries whose files
    are gone. Unreadable descriptions are skipped, never fatal."""
    for name in [n for n, i in registry.items() if i.user]:
        del registry[name]
    folder = user_data_dir()
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else ():
        name = path.stem
        if name in registry or not (folder / f"{name}.npz").is_file():
            continue
        try:
            check_user_set_name(name)
            entry = json.loads(path.read_text())
            if entry.get("name") != name:
                continue
            registry[name] = _describe_user_set(entry)
        except (OSError, ValueError, KeyError, TypeError):
            continue


def user_set_description(name: str) -> dict:
    """The stored description of user image set ``name``."""
    npz, meta = user_set_paths(name)
    if not meta.is_file() or not npz.is_file():
        raise DataError(gettext("no user image set {name!r} in {folder}", name=name, folder=user_data_dir()))
    return json.loads(meta.read_text())


def _from_user(ds: DatasetInfo, split: str) -> Split | None:
    """A user image set: its own stored arrays (sha256-checked against its description), never another
    source."""
    if not ds.user:
        return None
    npz, _ = user_set_paths(ds.name)
    entry = user_set_description(ds.name)
    if sha256_file(npz) != entry.get("sha256"):
        raise DataError(gettext("{path}: sha256 does not match its description; re-add the image set", path=npz))
    if split == "train" and "train" not in entry.get("splits", ()):
        raise DataError(gettext("user image set {name} has no training images (only a test split)", name=ds.name))
    x, y = _arrays_from_npz(npz, split, ds)
    return Split(ds.name, split, x, y, ds.class_names, f"user image set {npz.name} ({len(y)} images)", True)


def sample_path(name: str) -> Path:
    """Path of the shipped sample of ``name``'s test images."""
    return SAMPLES_DIR / f"{name}.npz"


def _from_sample(ds: DatasetInfo) -> Split:
    path = sample_path(ds.name)
    if not path.is_file():
        raise DataError(gettext("{path}: the shipped sample of {name} is missing; reinstall advcore", path=path,
                                 name=ds.name))
    x, y = _arrays_from_npz(path, "test", ds)
    return Split(ds.name, "test", x, y, ds.class_names, f"shipped sample {path.name} ({len(y)} images)", False)


_cache: dict[tuple[str, str], Split] = {}
_lock = threading.Lock()


def load(name: str, split: str = "test") -> Split:
    """Load one split of a data set (cached per process).

    ``split`` is ``"train"`` or ``"test"``. The shipped sample only has test
    images, so ``load(name, "train")`` raises DataError when no full source exists.
    """
    ds = info(name)
    if split not in ("train", "test"):
        raise DataError(gettext("unknown split {split!r}; use 'train' or 'test'", split=split))
    key = (name, split)
    with _lock:
        if key not in _cache:
            loaded = _from_user(ds, split) or _from_data_dir(ds, split) or _from_keras(ds, split)
            if loaded is None:
                if split == "train":
                    raise DataError(gettext("no training data for {name}: set {variable} to a folder with {files}, "
                                            "or allow the keras.datasets download", name=name,
                                            variable=DATA_DIR_ENV, files=" or ".join(ds.files)))
                loaded = _from_sample(ds)
            _cache[key] = loaded
        return _cache[key]


def source_fingerprint(name: str) -> dict:
    """Where ``name``'s training data comes from, with the file's sha256 when it is a file."""
    ds = info(name)
    folder = settings().data_dir
    for filename in ds.files if folder else ():
        path = Path(folder) / filename
        if path.is_file():
            return {"source": filename, "sha256": sha256_file(path), "note": ds.note}
    return {"source": f"keras.datasets.{ds.keras_name}", "sha256": None, "note": ds.note}


def make_sample(name: str, per_class: int = SAMPLE_PER_CLASS, seed: int = 0) -> Path:
    """Write the class-balanced test sample shipped with the package (maintainers only)."""
    ds = info(name)
    full = load(name, "test")
    if not full.full:
        raise DataError(gettext("making the sample needs the full test set"))
    rng = np.random.default_rng(seed)
    picks = np.concatenate([
        rng.choice(np.flatnonzero(full.y == c), per_class, replace=False) for c in range(len(ds.class_names))
    ])
    picks.sort()
    pixels = np.round(full.x[picks] * 255).astype(np.uint8)
    path = sample_path(name)
    np.savez_compressed(path, x_test=pixels, y_test=full.y[picks].astype(np.uint8))
    return path


def refresh_user_datasets() -> None:
    """(Re)read the user image sets (advcore.imagesets) into ``DATASETS``; done on import and
    after ``add-dataset`` / ``remove-dataset``. Built-in names are never replaced."""
    _register_user_sets(DATASETS)
    for key in [k for k in _cache if k[0] not in DATASETS or DATASETS[k[0]].user]:
        _cache.pop(key, None)


refresh_user_datasets()
