"""Training recipes: standard, PGD-AT, FGSM-RS and TRADES, with atomic per-epoch checkpoints.

- standard: cross-entropy on clean images (random flips and 4-pixel crops on CIFAR-10).
- pgd-at: Madry et al. 2018, "Towards Deep Learning Models Resistant to Adversarial
  Attacks": cross-entropy on PGD examples (random start, K steps of 2.5*eps/K).
- fgsm-rs: Wong, Rice & Kolter 2020, "Fast is better than free": FGSM from a uniform
  random start with step 1.25*eps, a cyclic learning rate, and their guard against
  catastrophic overfitting: after each epoch PGD accuracy on held-out training images
  is measured, and if it collapses the previous epoch's weights are restored and
  training stops.
- n-fgsm: de Jorge et al. 2022, "Make Some Noise: Reliable and Efficient Single-Step
  Adversarial Training": FGSM with step eps from a stronger uniform start in [-2 eps, 2 eps]
  and no projection back to the eps-ball; avoids catastrophic overfitting at the same cost.
- trades: Zhang et al. 2019, "Theoretically Principled Trade-off between Robustness
  and Accuracy": CE(f(x), y) + beta * KL(f(x) || f(x')), x' maximising the KL.
- distill: Papernot et al. 2016, "Distillation as a Defense to Adversarial Perturbations
  against Deep Neural Networks": a teacher is trained on the labels with its softmax at
  temperature T (``temperature``, 100 in the paper), then the student (the shipped model)
  is trained on the teacher's softmax outputs at the same T; at test time the student's
  logits are used as they are (T = 1), so its softmax saturates and cross-entropy
  gradients underflow to zero. Not a defence: Carlini & Wagner 2017 ("Defensive
  Distillation is Not Robust to Adversarial Examples") break it with attacks on logits.

Each epoch ends with a checkpoint (weights, optimizer state, history) written to a
temporary file and renamed, so an interrupted run resumes (``resume=True``) from the
last complete epoch and a half-written checkpoint is never read.
"""

from __future__ import annotations

import json
import math
import os
import time
import warnings
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from tqdm import tqdm

from . import attacks, cpu, data, metrics, zoo
from .attacks import norms
from .attacks.base import logits_of
from .attacks.registry import MAX_STEPS
from .errors import AdvcoreError
from .i18n import N_, _
from .settings import settings

RECIPES = ("standard", "pgd-at", "fgsm-rs", "n-fgsm", "trades", "distill")
CLEAN_RECIPES = ("standard", "distill")  # recipes trained on clean images only (no training eps)
HOLDOUT = 1024  # training images kept out of training, for the per-epoch robustness check
COLLAPSE_DROP = 0.2  # fgsm-rs guard: roll back when held-out PGD accuracy falls this much
# Why a run stopped early (``TrainState.stopped``, kept in English on the card; advcore.ui.model_table_notes reads it)
STOPPED_BY_REQUEST = N_("stopped by request in epoch {epoch}")
ROLLED_BACK = N_("catastrophic overfitting in epoch {epoch}: held-out PGD-10 accuracy fell from {best} to {now}; "
                 "rolled back to epoch {last}")
STORED = (STOPPED_BY_REQUEST, ROLLED_BACK)


def _option(default, help: str, choices: tuple = (), flag: str = ""):
    """A TrainConfig field with what its command-line flag needs (the CLI's train flags come from here)."""
    return field(default=default, metadata={"help": help, "choices": choices, "flag": flag})


LR_SCHEDULES = ("constant", "cyclic", "drop")
OPTIMIZERS = ("adam", "sgd")
PRECISIONS = ("float32", "bfloat16")
MAX_TRAIN_EPOCHS = 200


@dataclass
class TrainConfig:
    """Everything a training run depends on (recorded in the card as the recipe); each field's
    metadata holds its help text, from which ``python -m advcore train`` builds its flags."""

    model_id: str = field(metadata={"help": "id of the new model", "flag": "id"})
    dataset: str = field(metadata={"help": "data set", "choices": tuple(data.DATASETS)})
    architecture: str = field(metadata={"help": "network", "choices": tuple(zoo.ARCHITECTURES), "flag": "arch"})
    recipe: str = _option("standard", "training recipe (see advcore.train)", RECIPES)
    eps: float = _option(0.0, "training budget, linf, pixel units")
    steps: int = _option(10, "inner attack steps (pgd-at, trades)")
    step_size: float | None = _option(None, "inner step, pixel units (default: per recipe)")
    beta: float = _option(6.0, "TRADES weight of the KL term (Zhang et al. 2019)")
    epochs: int = _option(1, "passes over the training set")
    batch_size: int = _option(128, "images per step")
    lr: float = _option(1e-3, "learning rate (peak rate for 'cyclic')")
    lr_schedule: str = _option("constant", "'cyclic': one cycle up to lr and back to 0 (Smith 2017); "
                                           "'drop': lr/10 for the last --lr-drop-epochs", LR_SCHEDULES)
    lr_drop_epochs: int = _option(0, "epochs at lr/10 at the end ('drop' schedule)")
    optimizer: str = _option("adam", "'sgd' is Nesterov momentum 0.9", OPTIMIZERS)
    weight_decay: float = _option(0.0, "decoupled weight decay per unit of learning rate (Loshchilov & Hutter 2019)")
    label_smoothing: float = _option(0.0, "label smoothing of the training loss (Szegedy et al. 2016)")
    temperature: float = _option(1.0, "softmax temperature of the training loss; defensive distillation "
                                      "trains teacher and student at 100 (Papernot et al. 2016)")
    eps_warmup_epochs: float = _option(0.0, "grow the training eps linearly from 0 over this many epochs "
                                            "(a guard against single-step training collapsing at large eps)")
    seed: int = _option(0, "random seed")
    augment: bool | None = _option(None, "random flips and crops (default: on for CIFAR-10 only)")
    crop_pad: int = _option(4, "pixels of padding for the random crop: 4 zero-padded (He et al. 2016), "
                               "or 1-3 reflect-padded (airbench's translate-2 is 2; Jordan 2024)")
    flip_average: bool = _option(False, "deploy the trained network with test-time flip averaging: logits of "
                                        "the image and its mirror image averaged (airbench; Jordan 2024)")
    precision: str = _option("float32", "'bfloat16': mixed precision, bfloat16 arithmetic on float32 weights "
                                        "(Micikevicius et al. 2018), about 1.7x faster on CPUs with AMX, about "
                                        "12x slower on CPUs without bfloat16 units (emulated); the saved model "
                                        "computes in float32", PRECISIONS)
    n_train: int = _option(0, "use only this many training images (0 = all)")
    strategy: str = _option("default", "'mirrored' trains on every GPU", ("default", "mirrored"))
    eval_n: int = _option(10_000, "test images for the card's PGD-40 figures")
    extra_n: int = _option(1000, "test images for the card's stronger checks")

    def check(self) -> TrainConfig:
        zoo.check_id(self.model_id)
        data.info(self.dataset)
        if self.architecture not in zoo.ARCHITECTURES:
            raise AdvcoreError(_("unknown architecture {architecture!r}; choose one of: {choices}",
                                 architecture=self.architecture, choices=", ".join(zoo.ARCHITECTURES)))
        if self.recipe not in RECIPES:
            raise AdvcoreError(_("unknown recipe {recipe!r}; choose one of: {choices}", recipe=self.recipe,
                                 choices=", ".join(RECIPES)))
        if not (math.isfinite(self.eps) and 0 <= self.eps <= 1):
            raise AdvcoreError(_("eps must be in [0, 1], got {eps}", eps=self.eps))
        if self.recipe not in CLEAN_RECIPES and self.eps <= 0:
            raise AdvcoreError(_("recipe {recipe} needs eps > 0", recipe=self.recipe))
        if self.precision not in PRECISIONS:
            raise AdvcoreError(_("precision must be one of: {choices}", choices=", ".join(PRECISIONS)))
        if self.optimizer not in OPTIMIZERS:
            raise AdvcoreError(_("optimizer must be one of: {choices}", choices=", ".join(OPTIMIZERS)))
        if not (0 <= self.weight_decay < 1 and 0 <= self.label_smoothing < 1):
            raise AdvcoreError(_("weight_decay and label_smoothing must be in [0, 1)"))
        if not (math.isfinite(self.temperature) and 1 <= self.temperature <= 1000):
            raise AdvcoreError(_("temperature must be in [1, 1000], got {temperature}", temperature=self.temperature))
        if self.lr_schedule not in LR_SCHEDULES:
            raise AdvcoreError(_("lr_schedule must be one of: {choices}", choices=", ".join(LR_SCHEDULES)))
        if not 1 <= self.crop_pad <= 8:
            raise AdvcoreError(_("crop_pad must be in [1, 8] pixels, got {crop_pad}", crop_pad=self.crop_pad))
        if not (1 <= self.epochs <= MAX_TRAIN_EPOCHS and 1 <= self.batch_size <= 4096
                and 1 <= self.steps <= MAX_STEPS):
            raise AdvcoreError(_("epochs must be in [1, {epochs}], batch_size in [1, 4096], steps in [1, {steps}]",
                                 epochs=MAX_TRAIN_EPOCHS, steps=MAX_STEPS))
        return self

    @property
    def alpha(self) -> float:
        if self.recipe == "fgsm-rs":
            return 1.25 * self.eps if self.step_size is None else self.step_size
        if self.recipe == "n-fgsm":
            return self.eps if self.step_size is None else self.step_size
        return 2.5 * self.eps / self.steps if self.step_size is None else self.step_size

    @property
    def use_augment(self) -> bool:
        return self.dataset == "cifar10" if self.augment is None else self.augment


@dataclass
class TrainState:
    """What a checkpoint restores besides the weights."""

    epoch: int = 0  # completed epochs
    seconds: float = 0.0
    history: list = field(default_factory=list)
    teacher_seconds: float = 0.0  # distill: the part of ``seconds`` spent training the teacher
    stopped: str = ""


def checkpoint_dir() -> Path:
    return settings().checkpoints or Path.home() / ".advcore" / "checkpoints"


def _strategy(name: str):
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "default":
        return tf.distribute.get_strategy()
    raise AdvcoreError("strategy must be 'default' or 'mirrored'")


@contextmanager
def _precision(name: str):
    """Layers built inside compute in ``name`` ('bfloat16': Keras's mixed_bfloat16 policy, float32 weights)."""
    before = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_bfloat16" if name == "bfloat16" else "float32")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(before)


def float32_logits(model):
    """``model`` as a callable with float32 logits (a mixed-precision model's come out in bfloat16)."""
    if model.compute_dtype == "float32":
        return model
    return lambda x, training=False: tf.cast(model(x, training=training), tf.float32)


def float32_copy(model, cfg: TrainConfig):
    """The trained network as a float32 model (the one saved, measured and attacked): same architecture,
    same weights (a mixed-precision model keeps its weights in float32)."""
    if model.compute_dtype == "float32":
        return model
    copy = zoo.build(cfg.architecture, cfg.dataset, cfg.seed)
    copy.set_weights(model.get_weights())
    return copy


def inner_max(model, x, objective, eps, alpha, steps, start):
    """Linf inner maximisation shared by the adversarial recipes: ``steps`` signed-gradient
    steps of ``alpha`` on ``objective(logits)`` from ``x + start``, projected and clipped."""
    x_adv = norms.into_ball(x, x + start, eps, "linf")
    for _step in tf.range(steps):
        with tf.GradientTape() as tape:
            tape.watch(x_adv)
            value = tf.reduce_sum(objective(model(x_adv, training=False)))
        x_adv = norms.step_and_project(x, x_adv, tape.gradient(value, x_adv), alpha, eps, "linf")
    return tf.stop_gradient(x_adv)


def _kl(p_logits, q_logits):
    p = tf.nn.softmax(p_logits)
    return tf.reduce_sum(p * (tf.nn.log_softmax(p_logits) - tf.nn.log_softmax(q_logits)), axis=1)


def _make_train_step(model, optimizer, cfg: TrainConfig, strategy, global_batch: int, eps, teacher=None):
    """The compiled step; ``eps`` is a variable (so a warm-up can grow it), alpha keeps its ratio to it.
    ``teacher`` (distill only) gives the soft labels softmax(teacher(x) / T)."""
    alpha = eps * (cfg.alpha / cfg.eps if cfg.eps > 0 else 0.0)
    ce = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="none")
    classes = int(model.output_shape[-1])
    net = float32_logits(model)  # losses and the inner attack in float32, whatever the layers compute in
    teacher = None if teacher is None else float32_logits(teacher)

    def train_loss(y, logits):
        logits = logits / cfg.temperature
        if not cfg.label_smoothing:
            return ce(y, logits)
        target = tf.one_hot(y, classes) * (1 - cfg.label_smoothing) + cfg.label_smoothing / classes
        return tf.nn.softmax_cross_entropy_with_logits(target, logits)

    def distill_loss(x, logits):
        soft = tf.nn.softmax(teacher(x, training=False) / cfg.temperature)
        return tf.nn.softmax_cross_entropy_with_logits(tf.stop_gradient(soft), logits / cfg.temperature)

    def replica_step(x, y, seed):
        if cfg.recipe in CLEAN_RECIPES:
            x_train = x
        elif cfg.recipe in ("pgd-at", "fgsm-rs"):
            start = norms.random_start(tf.shape(x), eps, "linf", seed)
            steps = 1 if cfg.recipe == "fgsm-rs" else cfg.steps
            x_train = inner_max(net, x, lambda logits: ce(y, logits), eps, alpha, steps, start)
        elif cfg.recipe == "n-fgsm":  # noise 2 eps, step eps, radius 3 eps: no projection in effect
            start = norms.random_start(tf.shape(x), 2 * eps, "linf", seed)
            x_train = inner_max(net, x, lambda logits: ce(y, logits), 3 * eps, alpha, 1, start)
        else:  # trades: maximise KL from the clean prediction, start 0.001 * N(0, 1)
            clean = tf.stop_gradient(net(x, training=False))
            start = 0.001 * tf.random.stateless_normal(tf.shape(x), seed)
            x_train = inner_max(net, x, lambda logits: _kl(clean, logits), eps, alpha, cfg.steps, start)
        with tf.GradientTape() as tape:
            logits = net(x_train, training=True)
            if cfg.recipe == "trades":
                clean_logits = net(x, training=True)
                per_example = train_loss(y, clean_logits) + cfg.beta * _kl(clean_logits, logits)
            elif cfg.recipe == "distill":
                per_example = distill_loss(x, logits)
            else:
                per_example = train_loss(y, logits)
            loss = tf.nn.compute_average_loss(per_example, global_batch_size=global_batch)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        correct = tf.reduce_sum(tf.cast(tf.argmax(logits, 1, output_type=tf.int32) == y, tf.float32))
        return loss, correct

    @tf.function
    def step(x, y, seed):
        loss, correct = strategy.run(replica_step, args=(x, y, seed))
        return (strategy.reduce(tf.distribute.ReduceOp.SUM, loss, axis=None),
                strategy.reduce(tf.distribute.ReduceOp.SUM, correct, axis=None))

    return step


def _augment(x, y, pad: int):
    """Random horizontal flips, then a random crop of each image padded by ``pad`` pixels on every side
    (its own offset per image): zero padding for pad 4 (the classic CIFAR-10 augmentation), reflect padding
    below it (airbench's translate-2; Jordan 2024)."""
    x = tf.image.random_flip_left_right(x)
    mode = "CONSTANT" if pad >= 4 else "REFLECT"
    padded = tf.pad(x, [[0, 0], [pad, pad], [pad, pad], [0, 0]], mode=mode)
    batch, height, width = tf.shape(x)[0], tf.shape(x)[1], tf.shape(x)[2]
    offsets = tf.random.uniform((batch, 2), 0, 2 * pad + 1, dtype=tf.int32)
    rows = offsets[:, :1] + tf.range(height)[None]
    cols = offsets[:, 1:] + tf.range(width)[None]
    x = tf.gather(padded, rows, axis=1, batch_dims=1)
    return tf.gather(x, cols, axis=2, batch_dims=1), y


def _dataset(x, y, cfg: TrainConfig, epoch: int):
    ds = tf.data.Dataset.from_tensor_slices((x, y.astype(np.int32)))
    ds = ds.shuffle(len(x), seed=cfg.seed * 1000 + epoch, reshuffle_each_iteration=False)
    ds = ds.batch(cfg.batch_size, drop_remainder=True)
    if cfg.use_augment:
        ds = ds.map(lambda xb, yb: _augment(xb, yb, cfg.crop_pad), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def _learning_rate(cfg: TrainConfig, progress: float) -> float:
    """Learning rate at ``progress`` in [0, 1) of the whole run."""
    if cfg.lr_schedule == "cyclic":
        return cfg.lr * (progress / 0.4 if progress < 0.4 else max(0.0, (1 - progress) / 0.6))
    if cfg.lr_schedule == "drop" and progress >= 1 - cfg.lr_drop_epochs / cfg.epochs:
        return cfg.lr / 10
    return cfg.lr


def _optimizer(cfg: TrainConfig):
    decay = {"weight_decay": cfg.weight_decay} if cfg.weight_decay else {}
    if cfg.optimizer == "sgd":
        return tf.keras.optimizers.SGD(cfg.lr, momentum=0.9, nesterov=True, **decay)
    return tf.keras.optimizers.Adam(cfg.lr, **decay)


def _save_checkpoint(path: Path, model, optimizer, cfg: TrainConfig, state: TrainState) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {f"w{i}": v for i, v in enumerate(model.get_weights())}
    arrays.update({f"o{i}": np.asarray(v) for i, v in enumerate(optimizer.variables)})
    meta = json.dumps({"config": asdict(cfg), "state": asdict(state)})
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, meta=np.array(meta), **arrays)
    os.replace(tmp, path)


def _load_checkpoint(path: Path, model, optimizer, cfg: TrainConfig) -> TrainState:
    with np.load(path, allow_pickle=False) as saved:
        meta = json.loads(str(saved["meta"]))
        for key in ("dataset", "architecture", "recipe", "eps", "epochs", "batch_size", "seed", "precision"):
            if meta["config"].get(key, "float32" if key == "precision" else None) != getattr(cfg, key):
                raise AdvcoreError(f"{path}: checkpoint was made with {key}={meta['config'][key]!r}, "
                                   f"this run has {getattr(cfg, key)!r}; start without --resume")
        model.set_weights([saved[f"w{i}"] for i in range(len(model.get_weights()))])
        optimizer.build(model.trainable_variables)
        for i, variable in enumerate(optimizer.variables):
            variable.assign(saved[f"o{i}"])
    return TrainState(**meta["state"])


def _holdout_accuracy(model, x, y, cfg: TrainConfig) -> tuple[float, float]:
    """Clean and PGD-10 accuracy on the held-out training images (the fgsm-rs guard's signal)."""
    if cfg.recipe in CLEAN_RECIPES:
        return metrics.accuracy(logits_of(model, x), y), float("nan")
    result = attacks.run("pgd", model, x, y, eps=cfg.eps, steps=10, seed=cfg.seed)
    return metrics.accuracy(result.clean_logits, y), metrics.accuracy(result.adv_logits, y)


def slow_precision_warning(precision: str, gpus: int, cpuinfo: str | None = None) -> str:
    """Why a run at ``precision`` will be slow on this machine, or '' if it will not: bfloat16 with no GPU on a
    CPU without bfloat16 units is emulated (a 128-image FGSM-RS step of airbench-plain-wide on a 2-core AVX2
    AMD EPYC: 46-49 s in bfloat16, 3.7-3.9 s in float32)."""
    if precision != "bfloat16" or gpus or cpu.has_bfloat16_units(cpuinfo) is not False:
        return ""
    return (f"--precision bfloat16 on a CPU without bfloat16 units ({cpu.model(cpuinfo)}): TensorFlow emulates "
            "bfloat16 there, about 12x slower than float32; use --precision float32 on this machine")


def train(cfg: TrainConfig, out_dir: Path, resume: bool = False, report: Callable[[dict], None] | None = None,
          should_stop: Callable[[], bool] | None = None, show_progress: bool = True) -> tuple[object, TrainState]:
    """Train ``cfg.model_id`` and save ``out_dir/<id>.keras``; returns (model, state).

    report(event) gets {'kind': 'batch'|'epoch', ...} for live charts; should_stop()
    is polled every batch (a stop ends training early, keeping what was learned).
    """
    cfg.check()
    slow = slow_precision_warning(cfg.precision, len(tf.config.list_physical_devices("GPU")))
    if slow:
        warnings.warn(slow, stacklevel=2)
    teacher, teacher_seconds = None, 0.0
    if cfg.recipe == "distill":
        teacher_cfg = replace(cfg, model_id=f"{cfg.model_id}-teacher", recipe="standard")
        teacher, teacher_state = train(teacher_cfg, checkpoint_dir() / cfg.model_id, resume, report, should_stop,
                                       show_progress)
        teacher_seconds = teacher_state.seconds
    train_split = data.load(cfg.dataset, "train")
    x, y = train_split.x, train_split.y
    if cfg.n_train:
        x, y = x[:cfg.n_train + HOLDOUT], y[:cfg.n_train + HOLDOUT]
    x_hold, y_hold, x, y = x[-HOLDOUT:], y[-HOLDOUT:], x[:-HOLDOUT], y[:-HOLDOUT]
    strategy = _strategy(cfg.strategy)
    with strategy.scope(), _precision(cfg.precision):
        model = zoo.build(cfg.architecture, cfg.dataset, cfg.seed)
        optimizer = _optimizer(cfg)
        optimizer.build(model.trainable_variables)
    zoo.init_whitening(model, x)
    ckpt = checkpoint_dir() / cfg.model_id / "last.npz"
    state = _load_checkpoint(ckpt, model, optimizer, cfg) if resume and ckpt.is_file() else TrainState()
    global_batch = cfg.batch_size
    eps = tf.Variable(cfg.eps, dtype=tf.float32, trainable=False)
    step = _make_train_step(model, optimizer, cfg, strategy, global_batch, eps, teacher)
    batches = len(x) // cfg.batch_size
    previous_weights = model.get_weights()
    best_hold = -1.0
    for epoch in range(state.epoch, cfg.epochs):
        started = time.perf_counter()
        dist = strategy.experimental_distribute_dataset(_dataset(x, y, cfg, epoch))
        total_loss = total_correct = seen = 0.0
        bar = _progress_bar(batches, f"epoch {epoch + 1}/{cfg.epochs}", show_progress)
        for b, (xb, yb) in enumerate(dist):
            optimizer.learning_rate.assign(_learning_rate(cfg, (epoch + b / batches) / cfg.epochs))
            if cfg.eps_warmup_epochs > 0:
                eps.assign(cfg.eps * min(1.0, (epoch + b / batches) / cfg.eps_warmup_epochs))
            loss, correct = step(xb, yb, tf.constant([cfg.seed, epoch * batches + b], tf.int32))
            total_loss += float(loss) * global_batch
            total_correct += float(correct)
            seen += global_batch
            logs = {"loss": total_loss / seen, "train_accuracy": total_correct / seen}
            bar.update(1)
            bar.set_postfix(loss=f"{logs['loss']:.3f}", acc=f"{logs['train_accuracy']:.3f}")
            if report:
                report({"kind": "batch", "epoch": epoch, "batch": b, "batches": batches, **logs})
            if should_stop and should_stop():
                state.stopped = STOPPED_BY_REQUEST.format(epoch=epoch + 1)
                break
        bar.close()
        clean_hold, adv_hold = _holdout_accuracy(float32_copy(model, cfg), x_hold, y_hold, cfg)
        state.seconds += time.perf_counter() - started
        record = {"epoch": epoch + 1, "loss": total_loss / max(seen, 1),
                  "train_accuracy": total_correct / max(seen, 1), "holdout_clean_accuracy": clean_hold,
                  "holdout_pgd10_accuracy": None if math.isnan(adv_hold) else adv_hold,
                  "lr": float(optimizer.learning_rate.numpy()),
                  "seconds": round(time.perf_counter() - started, 1)}
        if cfg.recipe in ("fgsm-rs", "n-fgsm") and best_hold >= 0 and adv_hold < best_hold - COLLAPSE_DROP:
            model.set_weights(previous_weights)
            state.stopped = ROLLED_BACK.format(epoch=epoch + 1, best=f"{best_hold:.1%}", now=f"{adv_hold:.1%}",
                                               last=epoch)
            record["rolled_back"] = True
        state.history.append(record)
        if show_progress:
            print(json.dumps(record), flush=True)
        if report:
            report({"kind": "epoch", **record})
        if record.get("rolled_back") or state.stopped:
            break
        best_hold = max(best_hold, clean_hold if math.isnan(adv_hold) else adv_hold)
        previous_weights = model.get_weights()
        state.epoch = epoch + 1
        _save_checkpoint(ckpt, model, optimizer, cfg, state)
    model = float32_copy(model, cfg)
    if cfg.flip_average:
        model = zoo.with_flip_averaging(model)
    save_model(model, out_dir, cfg.model_id)
    if teacher is not None:  # the run's time includes the teacher's
        state = replace(state, seconds=state.seconds + teacher_seconds, teacher_seconds=teacher_seconds)
    return model, state


def save_model(model, out_dir: Path, model_id: str) -> Path:
    """Save ``<out_dir>/<id>.keras`` atomically."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{zoo.check_id(model_id)}.keras"
    tmp = out_dir / f".{model_id}.partial.keras"
    model.save(tmp)
    os.replace(tmp, path)
    return path


def hardware() -> str:
    """Where a run ran: the GPU count, or the CPU's cores, model and features; and TensorFlow's version."""
    gpus = tf.config.list_physical_devices("GPU")
    return (f"{len(gpus)} GPU(s)" if gpus else f"CPU ({os.cpu_count()} cores, {cpu.model()})") + \
        f", TensorFlow {tf.__version__}"


def _progress_bar(total: int, desc: str, enabled: bool):
    return tqdm(total=total, desc=desc, disable=not enabled, leave=False, dynamic_ncols=True)
