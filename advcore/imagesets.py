"""User image sets ("bring your images"): any size up to 299x299, 1 or 3 channels, any classes.

``add_dataset`` reads either a folder with one sub-folder per class (the layout of Keras'
``image_dataset_from_directory``) or an ``.npz`` in the ``keras.datasets`` layout (``x_test``,
``y_test`` and optionally ``x_train``, ``y_train``, uint8), checks it, and stores it in the user
data folder (``ADVCORE_USER_DATA``, by default ``user-data`` next to the user-models folder) as
``<name>.npz`` (uint8, channels-last) plus ``<name>.json`` (its description: shape, class names,
attack budgets, where it came from and the stored file's sha256). ``advcore.data`` then lists it
next to MNIST and CIFAR-10, and loads it as float32 images in [0, 1] like every other data set.

Images from a folder go through the same checked decoder as dashboard uploads
(``advcore.images.from_bytes``: byte and pixel limits, content-detected PNG/JPEG/GIF/BMP/WebP,
damage caught) and are resized to the set's size; a damaged file is refused with its name.
Nothing is written outside the user data folder, and names follow ``advcore.ids.check_id``. Reading the
stored sets (registration, loading) is ``advcore.data``'s.
A model that needs its own input normalisation carries it as layers (``Rescaling``,
``Normalization``), so eps stays in pixel units.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import numpy as np
from PIL import Image

from . import data, images
from .data import MAX_NAME_CHARS, MAX_SIDE, MIN_SIDE, user_data_dir
from .errors import DataError
from .i18n import gettext

USER_DATA_ENV = data.USER_DATA_ENV  # the folder the sets are stored in (advcore.data reads them from there)
MAX_IMAGES = 20_000
MAX_STORED_BYTES = 1 << 30  # uint8 pixels kept in memory by every process that loads the set
MAX_CLASSES = 10_000
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp"}
DEFAULT_SIZE = (224, 224)
# A new set's budgets are advcore.data.USER_BUDGETS (natural images: 1/255 and 4/255, the usual ImageNet L-inf
# budgets, e.g. Salman et al. 2020, "Do Adversarially Robust ImageNet Models Transfer Better?"; small ones: CIFAR-10's).


def budgets(name: str) -> tuple[tuple[float, ...], float]:
    """(reference eps values, large eps) of any data set, in pixel units (``advcore.data.DatasetInfo``)."""
    ds = data.info(name)
    return tuple(ds.reference_eps), float(ds.large_eps)


# --- reading the user's images ----------------------------------------------------------------

def read_class_names(path: Path | None, n_classes: int | None = None) -> list[str]:
    """One class name per line (blank lines and surrounding spaces dropped)."""
    if path is None:
        if n_classes is None:
            raise DataError(gettext("give --classes: a text file with one class name per line"))
        return [str(i) for i in range(n_classes)]
    try:
        if path.stat().st_size > 4 * 1024 * 1024:
            raise DataError(gettext("{path}: a class-names file over 4 MB is refused", path=path))
        names = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(gettext("{path}: cannot read the class names ({error})", path=path,
                                 error=exc.__class__.__name__)) from None
    if not 2 <= len(names) <= MAX_CLASSES:
        raise DataError(gettext("{path}: {count} class names; between 2 and {most} are needed", path=path,
                                 count=len(names), most=MAX_CLASSES))
    if any(len(n) > MAX_NAME_CHARS for n in names):
        raise DataError(gettext("{path}: class names are limited to {most} characters", path=path,
                                 most=MAX_NAME_CHARS))
    return names


def _check_size(size, channels) -> tuple[int, int, int]:
    height, width = (int(v) for v in size)
    if not (MIN_SIDE <= height <= MAX_SIDE and MIN_SIDE <= width <= MAX_SIDE):
        raise DataError(gettext("image size {height}x{width}: each side must be in [{low}, {high}]", height=height,
                                 width=width, low=MIN_SIDE, high=MAX_SIDE))
    if int(channels) not in (1, 3):
        raise DataError(gettext("channels must be 1 (grey) or 3 (RGB), got {channels}", channels=channels))
    return height, width, int(channels)


def _check_count(n: int, shape) -> None:
    if n == 0:
        raise DataError(gettext("no images found"))
    if n > MAX_IMAGES or n * int(np.prod(shape)) > MAX_STORED_BYTES:
        raise DataError(gettext("{n} images of {shape}: the limit is {most:,} images and {limit} MB of pixels", n=n,
                                shape=shape, most=MAX_IMAGES, limit=MAX_STORED_BYTES >> 20))


def _class_folders(folder: Path, names: list[str] | None) -> tuple[list[str], list[tuple[Path, int]]]:
    """Sub-folders in sorted order (as Keras does); each names its class, a line of the classes
    file (or its index there). Without a classes file the sub-folder names are the classes."""
    subdirs = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not subdirs:
        raise DataError(gettext("{path}: no class sub-folders (expected one sub-folder of images per class)",
                                 path=folder))
    if names is None:
        names = [p.name for p in subdirs]
        if len(names) < 2:
            raise DataError(gettext("{path}: one class sub-folder; give --classes with every class name", path=folder))
    index = {n: i for i, n in enumerate(names)}
    files = []
    for sub in subdirs:
        if sub.is_symlink():
            raise DataError(gettext("{path}: symbolic links are not followed", path=sub))
        label = index.get(sub.name)
        if label is None and sub.name.isdigit() and int(sub.name) < len(names):
            label = int(sub.name)
        if label is None:
            raise DataError(gettext("{path}: the sub-folder {name!r} is not a class in the class-names file (name it "
                                    "after a line of the file, or give its index)", path=sub, name=sub.name))
        for path in sorted(sub.iterdir()):
            if path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith("."):
                if path.is_symlink() or not path.is_file():
                    raise DataError(gettext("{path}: not a regular file (symbolic links are not followed)", path=path))
                files.append((path, label))
    return names, files


def _decode_folder(files: list[tuple[Path, int]], shape) -> tuple[np.ndarray, np.ndarray]:
    _check_count(len(files), shape)
    x = np.empty((len(files), *shape), np.uint8)
    for i, (path, _) in enumerate(files):
        try:
            if path.stat().st_size > images.MAX_UPLOAD_BYTES:
                raise images.ImageError(gettext("the file is over {limit} MB", limit=images.MAX_UPLOAD_BYTES >> 20))
            pixels = images.from_bytes(path.read_bytes(), shape)
        except images.ImageError as exc:
            raise DataError(gettext("{path}: {reason}", path=path, reason=exc)) from None
        except OSError as exc:
            raise DataError(gettext("{path}: cannot be read ({error})", path=path,
                                    error=exc.__class__.__name__)) from None
        x[i] = np.round(pixels[0] * 255).astype(np.uint8)
    return x, np.array([label for _, label in files], np.int64)


def _read_npz(path: Path, size, channels) -> dict[str, np.ndarray]:
    """The keras.datasets layout: x_test, y_test (and optionally x_train, y_train), uint8."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            keys = set(archive.files)
            if not {"x_test", "y_test"} <= keys:
                raise DataError(gettext("{path}: expected the keras.datasets layout (x_test, y_test, optionally "
                                        "x_train, y_train), found {found}", path=path, found=sorted(keys)[:10]))
            wanted = [k for k in ("x_test", "y_test", "x_train", "y_train") if k in keys]
            for key in wanted:  # sizes from the headers, before anything is decompressed
                with archive.zip.open(f"{key}.npy") as handle:
                    major, _ = np.lib.format.read_magic(handle)
                    read_header = np.lib.format.read_array_header_1_0 if major == 1 else \
                        np.lib.format.read_array_header_2_0
                    shape, _, dtype = read_header(handle)
                if int(np.prod(shape, dtype=np.int64)) * dtype.itemsize > 2 * MAX_STORED_BYTES:
                    raise DataError(gettext("{path}: {key} holds {shape} {dtype}; the limit is {most:,} images and "
                                            "{limit} MB of pixels", path=path, key=key, shape=shape, dtype=dtype,
                                            most=MAX_IMAGES, limit=MAX_STORED_BYTES >> 20))
            arrays = {k: archive[k] for k in wanted}
    except DataError:
        raise
    except Exception as exc:  # zip/npy errors come in many types
        raise DataError(gettext("{path}: not a readable .npz archive ({error})", path=path,
                                error=exc.__class__.__name__)) from None
    out = {}
    for split in ("test", "train"):
        if f"x_{split}" not in arrays:
            continue
        x, y = arrays[f"x_{split}"], np.asarray(arrays.get(f"y_{split}", ())).reshape(-1)
        if x.dtype != np.uint8 or x.ndim not in (3, 4) or (x.ndim == 4 and x.shape[-1] not in (1, 3)):
            raise DataError(gettext("{path}: x_{split} must be uint8 (N, H, W) or (N, H, W, 1|3), got {dtype} {shape}",
                                    path=path, split=split, dtype=x.dtype, shape=x.shape))
        if len(y) != len(x) or not np.issubdtype(y.dtype, np.integer):
            raise DataError(gettext("{path}: y_{split} must hold one whole-number label per image", path=path,
                                    split=split))
        x = x[..., None] if x.ndim == 3 else x
        shape = _check_size(size or x.shape[1:3], channels or x.shape[-1])
        _check_count(len(x), shape)
        if x.shape[1:] != shape:
            x = np.stack([np.round(images.to_input(Image.fromarray(img[..., 0] if img.shape[-1] == 1 else img),
                                                   shape)[0] * 255).astype(np.uint8) for img in x])
        out[f"x_{split}"], out[f"y_{split}"] = x, y.astype(np.int64)
    return out


# --- adding and removing ----------------------------------------------------------------------

def add_dataset(name: str, images_path, classes=None, size=None, channels=None, title: str | None = None,
                eps: tuple[float, ...] | None = None, command: str = "") -> dict:
    """Check and store an image set; returns its description. See the module doc for the layouts."""
    npz_path, meta_path = data.user_set_paths(name)
    if name in data.DATASETS or meta_path.exists() or npz_path.exists():
        raise DataError(gettext("a data set named {name!r} already exists; remove it first (remove-dataset)",
                                name=name))
    source = Path(images_path)
    class_file = Path(classes) if classes else None
    if source.is_dir():
        shape = _check_size(size or DEFAULT_SIZE, channels or 3)
        names, files = _class_folders(source, read_class_names(class_file) if class_file else None)
        x, y = _decode_folder(files, shape)
        arrays, kind = {"x_test": x, "y_test": y}, "folder"
    elif source.is_file() and source.suffix == ".npz":
        arrays, kind = _read_npz(source, size, channels), "npz"
        shape = arrays["x_test"].shape[1:]
        top = int(max(arrays[k].max(initial=0) for k in arrays if k.startswith("y_"))) + 1
        names = read_class_names(class_file, None if class_file else top)
    else:
        raise DataError(gettext("{path}: expected a folder of class sub-folders or an .npz file", path=source))
    for key in [k for k in arrays if k.startswith("y_")]:
        if arrays[key].min(initial=0) < 0 or arrays[key].max(initial=0) >= len(names):
            raise DataError(gettext("{path}: labels in {key} must be in [0, {top}] ({classes} classes)", path=source,
                                    key=key, top=len(names) - 1, classes=len(names)))
    small = max(shape[:2]) <= 32
    stated, large = data.USER_BUDGETS["small" if small else "natural"]
    reference = tuple(float(e) for e in eps) if eps else stated
    if not reference or any(not 0 < e <= 1 for e in reference):
        raise DataError(gettext("eps values must be in (0, 1] (pixel units), got {eps}", eps=reference))
    folder = user_data_dir()
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{name}.npz.tmp"
    with open(tmp, "wb") as handle:
        np.savez_compressed(handle, **{k: (v.astype(np.int64) if k.startswith("y_") else v)
                                       for k, v in arrays.items()})
    os.replace(tmp, npz_path)
    entry = {"name": name, "title": title or name, "shape": list(shape), "class_names": names,
             "splits": [s for s in ("test", "train") if f"x_{s}" in arrays],
             "n_test": int(len(arrays["y_test"])),
             "reference_eps": list(reference), "large_eps": float(large),
             "source": {"kind": kind, "path": source.name, "class_names_file": class_file.name if class_file else None},
             "sha256": data.sha256_file(npz_path), "command": command,
             "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
    tmp = folder / f".{name}.json.tmp"
    tmp.write_text(json.dumps(entry, indent=2) + "\n")
    os.replace(tmp, meta_path)
    data.refresh_user_datasets()
    return entry


def remove_dataset(name: str) -> None:
    """Delete a user image set (a built-in data set cannot be removed)."""
    npz_path, meta_path = data.user_set_paths(name)
    if not npz_path.exists() and not meta_path.exists():
        raise DataError(gettext("no user image set {name!r} in {folder}", name=name, folder=user_data_dir()))
    for path in (meta_path, npz_path):
        path.unlink(missing_ok=True)
    data.refresh_user_datasets()
