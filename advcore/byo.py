"""Bring your own model: check a ``.keras`` classifier, store it in the user-models folder, card it.

``add_model`` refuses what AdvLab cannot attack honestly, each with one readable reason:

- a file that is not a Keras v3 archive, or is too big;
- a Lambda layer or any class outside Keras (custom code): the archive's ``config.json`` is read
  first, then the model is deserialised with Keras' safe mode (no pickled code runs);
- an input shape other than the data set's (H, W, C), or an output that is not one logit per class;
- an output that already looks like probabilities (non-negative rows that sum to 1 on test images
  and noise): attacks need logits, because a softmax output saturates and its gradients vanish, the
  classic cause of too-weak attacks (Carlini & Wagner 2017, Sec. 4; Carlini et al. 2019, Sec. 5).
  ``strip_softmax`` removes a final softmax (a ``Softmax`` layer, an ``Activation("softmax")``, or a
  Dense/Conv layer with ``activation="softmax"``, also inside a nested final model) so that the model
  returns logits; the result is checked to equal the log-probabilities up to a constant per image.

The accepted model is stored as ``<id>.keras`` with a card ``<id>.json`` whose figures come from a run:
clean accuracy on the data set's test images (or the shipped sample, which the card says), PGD-20
robust accuracy (Madry et al. 2018) at the data set's reference budgets, and the sanity flags of
``advcore.evaluate`` (Carlini et al. 2019). A shipped id is never replaced or removed.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
import zipfile
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from . import __version__, cards, data, evaluate, imagesets, zoo
from .attacks.base import logits_of
from .errors import ModelError
from .i18n import _
from .settings import settings

MAX_MODEL_BYTES = 1 << 30  # the CLI limit; a browser upload has its own, smaller one
MAX_UPLOAD_BYTES = 50 << 20
UPLOAD_ENV = "ADVLAB_ALLOW_MODEL_UPLOAD"
MAX_CONFIG_BYTES = 64 << 20
PROBE_IMAGES = 16
SANITY_IMAGES = 200
PGD_STEPS = 20


# --- checks -----------------------------------------------------------------------------------

def _walk(node):
    """Every serialised object (a dict with 'class_name') in a Keras config."""
    if isinstance(node, dict):
        if "class_name" in node:
            yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def check_archive(path: Path) -> dict:
    """Read a .keras archive's config without deserialising anything; refuse Lambda layers and
    classes from outside Keras. Returns the config."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(_("{path}: no such file", path=path))
    if path.suffix != ".keras":
        raise ModelError(_("{path}: expected a Keras v3 .keras file (model.save('name.keras'))", path=path))
    size = path.stat().st_size
    if size > MAX_MODEL_BYTES:
        raise ModelError(_("{path}: {size:.0f} MB; the limit is {limit} MB", path=path, size=size / 2**20,
                            limit=MAX_MODEL_BYTES >> 20))
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(entry.file_size for entry in archive.infolist())
            if unpacked > 2 * MAX_MODEL_BYTES:
                raise ModelError(_("{path}: unpacks to {size:.0f} MB; the limit is {limit} MB", path=path,
                                   size=unpacked / 2**20, limit=2 * MAX_MODEL_BYTES >> 20))
            info = archive.getinfo("config.json")
            if info.file_size > MAX_CONFIG_BYTES:
                raise ModelError(_("{path}: its config.json is over {limit} MB", path=path,
                                   limit=MAX_CONFIG_BYTES >> 20))
            config = json.loads(archive.read(info))
    except ModelError:
        raise
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ModelError(_("{path}: not a readable .keras archive ({error}); the file is damaged or in another "
                           "format (save with model.save('name.keras'))", path=path,
                           error=exc.__class__.__name__)) from None
    for node in _walk(config):
        name, module = str(node.get("class_name")), node.get("module")
        if name == "Lambda":
            raise ModelError(_("{path}: the model has a Lambda layer (Python code in the file); AdvLab loads "
                               "models in Keras safe mode and refuses code. Rebuild it from built-in layers "
                               "(e.g. Rescaling or Normalization for input scaling)", path=path))
        if (module is not None and not str(module).startswith("keras")) or node.get("registered_name") and \
                ">" in str(node.get("registered_name")):
            raise ModelError(_("{path}: the model uses custom code ({module}.{name}); AdvLab loads models in "
                               "Keras safe mode and accepts only built-in Keras layers", path=path, module=module,
                               name=name))
    return config


def load_checked(path: Path):
    """Check the archive, then deserialise it in safe mode (advcore.zoo's loader)."""
    check_archive(path)
    return zoo._deserialise(Path(path))


def check_shapes(model, dataset: str) -> None:
    ds = data.info(dataset)
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ModelError(_("the model has {inputs} inputs and {outputs} outputs; one image input and one output "
                           "of class scores are needed", inputs=len(model.inputs), outputs=len(model.outputs)))
    got = tuple(model.input_shape[1:])
    if got != ds.shape:
        raise ModelError(_("the model expects inputs of shape {got}, but {dataset} images are {shape} (H, W, C); "
                           "choose the matching data set or add an image set of that size (add-dataset)", got=got,
                           dataset=dataset, shape=ds.shape))
    out = tuple(model.output_shape[1:])
    if out != (len(ds.class_names),):
        raise ModelError(_("the model outputs shape {out}; {dataset} has {classes} classes, so one logit per "
                           "class, shape ({classes},), is needed", out=out, dataset=dataset,
                           classes=len(ds.class_names)))


def probe_inputs(dataset: str, n: int = PROBE_IMAGES, seed: int = 0) -> np.ndarray:
    """A few test images and as many uniform-noise images: outputs on them reveal a softmax."""
    split = data.load(dataset, "test")
    noise = np.random.default_rng(seed).uniform(0, 1, (n, *split.x.shape[1:])).astype(np.float32)
    return np.concatenate([split.x[:n], noise])


def looks_like_probabilities(outputs: np.ndarray) -> bool:
    """Rows that are all non-negative and sum to 1: a softmax output, not logits."""
    outputs = np.asarray(outputs, np.float64)
    return bool(np.all(outputs >= 0) and np.allclose(outputs.sum(axis=1), 1.0, atol=1e-3))


def _is_softmax(value) -> bool:
    return "softmax" in json.dumps(value) if value is not None else False


def _final_layer(model):
    return model.outputs[0]._keras_history.operation


def strip_softmax(model):
    """A copy of ``model`` without its final softmax, so it returns logits (weights unchanged).

    A final ``Softmax`` layer or ``Activation("softmax")`` becomes an Identity; a final layer with
    ``activation="softmax"`` gets a linear activation; a final nested model is stripped the same way.
    Anything else is refused: the probabilities come from somewhere AdvLab cannot undo."""
    last = _final_layer(model)

    def clone(layer):
        if layer is not last:
            return layer.__class__.from_config(layer.get_config())
        if isinstance(layer, keras.Model):
            return strip_softmax(layer)
        config = layer.get_config()
        if isinstance(layer, keras.layers.Softmax) or (isinstance(layer, keras.layers.Activation)
                                                      and _is_softmax(config.get("activation"))):
            return keras.layers.Identity(name=layer.name)
        if _is_softmax(config.get("activation")):
            return layer.__class__.from_config(dict(config, activation="linear"))
        raise ModelError(_("--strip-softmax: the model's last layer ({kind} {name!r}) has no softmax to remove; "
                           "rebuild the model so that it returns logits", kind=layer.__class__.__name__,
                           name=layer.name))

    stripped = keras.models.clone_model(model, clone_function=clone)
    stripped.set_weights(model.get_weights())
    return stripped


def _logits_check(model, x: np.ndarray, before: np.ndarray | None = None) -> np.ndarray:
    """The model's outputs on ``x``; with ``before`` (the softmax model's), check they are its logits."""
    out = logits_of(model, x)
    if not np.all(np.isfinite(out)):
        raise ModelError(_("the model's outputs are not finite on some test images"))
    if before is not None:
        shifted = out - out.max(axis=1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        gap = np.abs(log_probs - np.log(np.clip(before, 1e-30, None)))[before > 1e-6]
        if gap.size and gap.max() > 1e-2:
            raise ModelError(_("--strip-softmax: the stripped model's log-softmax differs from the original's "
                               "log-probabilities by up to {gap:.3g}; not removing this softmax", gap=gap.max()))
    return out


# --- the card ---------------------------------------------------------------------------------

def measure(model, model_id: str, dataset: str, eval_n: int = 1000, log=print) -> dict:
    """Card results: clean accuracy and PGD-20 at each reference eps on the first ``eval_n`` test images,
    and the sanity flags (PGD-20 sweep up to the large eps, FGSM and noise at the reference eps, the
    gradient check) on up to ``SANITY_IMAGES`` of them."""
    split = data.load(dataset, "test")
    n = evaluate.check_n(eval_n, len(split))
    eps_list, large = imagesets.budgets(dataset)
    results = {"test_set": split.source, "full_test_set": split.full, "robust": []}
    if not split.full:
        results["note"] = f"measured on the shipped sample ({len(split)} images), not the full test set"
    for eps in eps_list:
        params = {"eps": float(eps), "norm": "linf", "steps": PGD_STEPS, "step_size": 2.5 * eps / PGD_STEPS,
                  "restarts": 1, "seed": 0}
        entry = cards._measure(model, model_id, split, "pgd", params, n)
        log(_("  PGD-{steps} eps {eps:.4g}: {accuracy:.2%} on {n} ({seconds:.0f} s)", steps=PGD_STEPS, eps=eps,
              accuracy=entry["robust_accuracy"], n=entry["n"], seconds=entry["seconds"]))
        results["robust"].append(entry)
    clean = cards._measure(model, model_id, split, "fgsm", {"eps": 0.0, "norm": "linf"}, n)
    results["clean"] = {key: clean[key] for key in ("n", "clean_accuracy", "command")}
    results["clean_accuracy"] = clean["clean_accuracy"]
    log(_("  clean: {accuracy:.2%} on {n}", accuracy=clean["clean_accuracy"], n=clean["n"]))
    eps, small_n = float(eps_list[-1]), min(n, SANITY_IMAGES)
    grid = sorted({0.0, eps / 2, eps, large})
    models = {model_id: model}
    table = pd.concat([evaluate.sweep(models, split, "pgd", grid, {"norm": "linf", "steps": PGD_STEPS, "seed": 0},
                                      small_n),
                       evaluate.sweep(models, split, "fgsm", [eps], {"norm": "linf"}, small_n),
                       evaluate.sweep(models, split, "noise", [eps], {"norm": "linf"}, small_n)], ignore_index=True)
    flags = evaluate.sanity_checks(table, large_eps=large)
    flags.append(evaluate.gradient_check(model, split.x[:small_n], split.y[:small_n]))
    results["sanity"] = {"n": small_n, "table": table[["attack", "eps", "robust_accuracy"]].round(4).to_dict("records"),
                         "flags": [f.as_dict() for f in flags]}
    log(_("  sanity: {checks}", checks=[f.check + (" ok" if f.ok else " FAILED") for f in flags]))
    return results


# --- adding and removing ----------------------------------------------------------------------

def _files(folder: Path, model_id: str) -> list[Path]:
    """The card and weights of ``model_id`` that exist in ``folder`` (the id checked first)."""
    return [p for p in (folder / f"{zoo.check_id(model_id)}{s}" for s in (".json", ".keras")) if p.exists()]


def _refuse_taken(model_id: str) -> None:
    if _files(zoo.models_dir(), model_id):
        raise ModelError(_("{model_id!r} is a shipped model's id; shipped models are never replaced: choose another id",
                           model_id=model_id))
    if _files(zoo.user_models_dir(), model_id):
        raise ModelError(_("a user model {model_id!r} already exists; remove it first (remove-model --id {model_id})",
                           model_id=model_id))


def add_model(path, dataset: str, model_id: str, strip: bool = False, eval_n: int = 1000, command: str = "",
              log=print) -> dict:
    """Check, store and card a user model; returns the card (see the module doc)."""
    path = Path(path)
    _refuse_taken(model_id)
    data.info(dataset)
    evaluate.check_n(eval_n, evaluate.MAX_EVAL_IMAGES)
    source_sha = data.sha256_file(path) if path.is_file() else None
    model = load_checked(path)
    check_shapes(model, dataset)
    probe = probe_inputs(dataset)
    outputs = _logits_check(model, probe)
    stripped = False
    if looks_like_probabilities(outputs):
        if not strip:
            raise ModelError(_("the model outputs probabilities (each row is non-negative and sums to 1): attacks "
                               "need logits, because gradients through a softmax vanish and make attacks look "
                               "weaker than they are; add --strip-softmax to remove the final softmax"))
        model = strip_softmax(model)
        _logits_check(model, probe, before=outputs)
        stripped = True
    elif strip:
        log(_("  --strip-softmax: the outputs are already logits; nothing removed"))
    folder = zoo.user_models_dir()
    folder.mkdir(parents=True, exist_ok=True)
    target, tmp = folder / f"{model_id}.keras", folder / f".{model_id}.tmp.keras"
    try:
        if stripped:
            model.save(tmp)
        else:
            tmp.write_bytes(path.read_bytes())
        model = load_checked(tmp)  # what is measured is what is stored
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    log(_("stored {path}; measuring on {dataset}", path=target, dataset=dataset))
    started = time.perf_counter()
    try:
        results = measure(model, model_id, dataset, eval_n, log)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    card = {
        "id": model_id, "dataset": dataset, "architecture": model.name, "parameters": int(model.count_params()),
        "recipe": {"recipe": "user"}, "user_model": True,
        "source": {"file": path.name, "sha256": source_sha, "softmax_stripped": stripped, "command": command,
                   "keras_version": keras.__version__},
        "data": {"source": results["test_set"], "note": data.info(dataset).note},
        "weights_file": target.name, "weights_sha256": data.sha256_file(target), "results": results,
        "measured_seconds": round(time.perf_counter() - started, 1),
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "advcore_version": __version__,
    }
    zoo.write_card(folder, card)
    zoo.forget(model_id)
    return dict(card, shipped=False)


def remove_model(model_id: str) -> list[Path]:
    """Delete a user model's weights and card; shipped models cannot be removed."""
    if _files(zoo.models_dir(), model_id):
        raise ModelError(_("{model_id!r} is a shipped model; shipped models cannot be removed", model_id=model_id))
    paths = _files(zoo.user_models_dir(), model_id)
    if not paths:
        raise ModelError(_("no user model {model_id!r} in {folder}", model_id=model_id, folder=zoo.user_models_dir()))
    for path in paths:
        path.unlink()
    zoo.forget(model_id)
    return paths


def upload_allowed() -> bool:
    """Model uploads from the browser are off unless the server sets ADVLAB_ALLOW_MODEL_UPLOAD=1
    (a teacher's own server): a student cannot add a model to a shared one."""
    return settings().allow_model_upload


def add_uploaded(content: bytes, dataset: str, model_id: str, strip: bool = False, eval_n: int = 200,
                 log=print) -> dict:
    """``add_model`` for the bytes of a browser upload: refused unless allowed, limited to
    ``MAX_UPLOAD_BYTES``, held in a private temporary file in the user-models folder meanwhile."""
    if not upload_allowed():
        raise ModelError(_("model uploads are off on this server ({variable}=1 turns them on)", variable=UPLOAD_ENV))
    if len(content) > MAX_UPLOAD_BYTES:
        raise ModelError(_("the file is {size:.0f} MB; uploads are limited to {limit} MB", size=len(content) / 2**20,
                           limit=MAX_UPLOAD_BYTES >> 20))
    _refuse_taken(model_id)
    folder = zoo.user_models_dir()
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".upload-{model_id}-{os.getpid()}.keras"
    try:
        tmp.write_bytes(content)
        return add_model(tmp, dataset, model_id, strip, eval_n, "browser upload", log)
    except ModelError as exc:  # name the upload, not the server's temporary file
        raise ModelError(str(exc).replace(str(tmp), _("the uploaded file"))) from None
    finally:
        tmp.unlink(missing_ok=True)
