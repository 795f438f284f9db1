"""Every environment variable the library and the dashboard read, in one typed, validated object.

``settings()`` returns a ``Settings`` (pydantic-settings) built from the process's environment: each field
has its variable's name (``ADVLAB_*`` for the dashboard server, ``ADVCORE_*`` for the library), a type, a
default, a unit where it has one and a one-line description; ``docs/settings.md`` is the same list as a
table (``tests/test_settings.py`` keeps the two the same). An empty variable counts as unset.

Reading. ``settings()`` looks at the current values of these variables on every call (a few dictionary
look-ups) and builds a new object only when one of them changed since the last build, so a variable set
while the process runs (a test's ``monkeypatch.setenv``) takes effect at the next call, and a module that
reads a setting on each use costs nothing. Modules that size things once at import (``advcore.ui.limits``)
read it then.

Validation. A value that does not fit its variable raises ``SettingsError`` with one line naming the variable,
what it must be and what it got, e.g. ``ADVLAB_MAX_WORK: must be an integer from 1,000 to
1,000,000,000,000 (got 'abc')``; ``python -m advcore`` and the dashboard server check this once at start and
stop with that line (no traceback). The teacher password is a secret: it is never shown, in an error either.

The bottom layer: this module imports nothing from advcore but ``advcore.errors`` and ``advcore.i18n`` (the
error line is in the current language; ``json_schema_extra["must"]`` keeps the English for docs/settings.md).
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .errors import AdvcoreError
from .i18n import N_, _

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class SettingsError(AdvcoreError):
    """An environment variable whose value does not fit; the message is one line naming it."""


_MUST: dict[str, tuple[str, dict]] = {}  # variable -> (N_-marked phrase, its values): what a value must be


def _integer_rule(low: int, high: int | None) -> tuple[str, dict]:
    if low == 1 and high is None:
        return N_("a positive integer"), {}
    if high is None:
        return N_("an integer of at least {low:,}"), {"low": low}
    return N_("an integer from {low:,} to {high:,}"), {"low": low, "high": high}


def _var(name: str, default: Any, description: str, unit: str = "", must: str = "", must_values: dict | None = None,
         **bounds) -> Any:
    """A field read from the variable ``name``; ``must`` (an ``N_``-marked phrase, its placeholders filled from
    ``must_values``) says, for an error, what a value must be; integer fields derive it from their bounds."""
    low, high = bounds.get("ge"), bounds.get("le")
    if not must and low is not None:  # an integer field
        must, must_values = _integer_rule(low, high)
    _MUST[name] = (must or N_("a valid value"), must_values or {})
    english = must.format(**must_values) if must_values else must
    return Field(default, validation_alias=name, description=description,
                 json_schema_extra={"unit": unit, "must": english or "a valid value"}, **bounds)


_FOLDER = N_("a folder path")
_SWITCH = N_("0 or 1")


class Settings(BaseSettings):
    """The values of every ``ADVLAB_*`` and ``ADVCORE_*`` variable (defaults where unset)."""

    model_config = SettingsConfigDict(case_sensitive=True, env_ignore_empty=True, extra="ignore", frozen=True)

    # --- the library: data, models, caches ---------------------------------------------------------------
    data_dir: Path | None = _var(
        "ADVCORE_DATA_DIR", None, "folder of mnist.npz, fashion_mnist.npz, cifar10*.npz (keras layout); unset: "
        "keras.datasets, else the small shipped sample", must=_FOLDER)
    offline: bool = _var("ADVCORE_OFFLINE", False, "1: never download a data set (keras.datasets is skipped)",
                         must=_SWITCH)
    models_dir: Path | None = _var("ADVCORE_MODELS_DIR", None, "folder of the shipped models (default: models/ "
                                   "in the repository)", must=_FOLDER)
    user_models: Path | None = _var("ADVCORE_USER_MODELS", None, "folder of models trained or added by users "
                                    "(default: ~/.advcore/user-models)", must=_FOLDER)
    user_data: Path | None = _var("ADVCORE_USER_DATA", None, "folder of users' image sets (default: user-data "
                                  "beside the user-models folder)", must=_FOLDER)
    checkpoints: Path | None = _var("ADVCORE_CHECKPOINTS", None, "folder of training checkpoints (default: "
                                    "~/.advcore/checkpoints)", must=_FOLDER)
    max_models: int = _var("ADVCORE_MAX_MODELS", 24, "models a process keeps loaded; past that the least "
                           "recently used is dropped", "models", ge=1)

    # --- the dashboard server: per-request limits (advcore.ui.limits) ------------------------------------
    max_steps: int = _var("ADVLAB_MAX_STEPS", 200, "attack steps per request from the browser (at most the "
                          "library's ceiling, advcore.attacks.registry.MAX_STEPS)", "steps", ge=1, le=1000)
    max_restarts: int = _var("ADVLAB_MAX_RESTARTS", 5, "PGD restarts per request (at most "
                             "advcore.attacks.registry.MAX_RESTARTS)", "restarts", ge=1, le=20)
    max_queries: int = _var("ADVLAB_MAX_QUERIES", 2000, "Square Attack queries per request", "queries",
                            ge=1, le=10_000)
    max_sweep_images: int = _var("ADVLAB_MAX_SWEEP_IMAGES", 2000, "test images per sweep or transfer matrix",
                                 "images", ge=10, le=10_000)
    max_sweep_points: int = _var("ADVLAB_MAX_SWEEP_POINTS", 12, "eps values per sweep", "points", ge=2, le=50)
    max_train_epochs: int = _var("ADVLAB_MAX_TRAIN_EPOCHS", 3, "epochs of a browser training run", "epochs",
                                 ge=1, le=50)
    max_train_images: int = _var("ADVLAB_MAX_TRAIN_IMAGES", 20_000, "training images of a browser training run",
                                 "images", ge=1000, le=60_000)
    max_train_jobs: int = _var("ADVLAB_MAX_TRAIN_JOBS", 1, "training runs at once per server process (worker "
                               "threads over the training queue)", "jobs", ge=1, le=8)
    batch: int = _var("ADVLAB_BATCH", 128, "images per attack batch in browser sweeps and transfer matrices (a "
                      "sweep adds about 130 MB of peak memory at 128, 320 MB at 500, on MNIST)", "images",
                      ge=1, le=2000)
    max_work: int = _var("ADVLAB_MAX_WORK", 10_000_000, "the largest heavy request (about 20x the default sweep "
                         "of 5 models; ~2k image-attack-steps a second for an MNIST CNN on a busy 2-core CPU); a "
                         "larger one is refused with its cost named", "image-attack-steps", ge=1000, le=10**12)
    max_heavy: int = _var("ADVLAB_MAX_HEAVY", 1, "heavy computations running at once per server process; "
                          "others wait in line", "computations", ge=1, le=16)

    # --- the dashboard server: process ---------------------------------------------------------------------
    intra_op_threads: int = _var("ADVLAB_INTRA_OP_THREADS", 1, "threads per TensorFlow op in the server "
                                 "(0: TensorFlow's choice)", "threads", ge=0)
    warm: bool = _var("ADVLAB_WARM", True, "warm each data set's default model at start-up in the background "
                      "(0: off)", must=_SWITCH)
    allow_model_upload: bool = _var("ADVLAB_ALLOW_MODEL_UPLOAD", False, "1: the Models page takes .keras "
                                    "uploads (a teacher's own server)", must=_SWITCH)
    log_level: Literal[LOG_LEVELS] = _var("ADVLAB_LOG_LEVEL", "INFO", "level of the advcore loggers' lines on "
                                          "the server's stderr", must=N_("one of {choices}"),
                                          must_values={"choices": ", ".join(LOG_LEVELS)})

    # --- the classroom ----------------------------------------------------------------------------------------
    store: str = _var("ADVLAB_STORE", "", "the classroom store: redis://host:port/db (shared by replicas), "
                      "sqlite:///path or a path; unset: a SQLite file in ADVLAB_STATE_DIR", must=N_("text"))
    state_dir: Path | None = _var("ADVLAB_STATE_DIR", None, "folder of the default SQLite store (default: "
                                  "~/.advcore/state)", must=_FOLDER)
    teacher_password: SecretStr | None = _var("ADVLAB_TEACHER_PASSWORD", None, "if set, creating a room needs "
                                              "it (attempts are rate-limited)", must=N_("text"))
    room_idle_s: float = _var("ADVLAB_ROOM_IDLE_S", 6 * 3600.0, "a room closes after this long without "
                              "activity", "s", must=N_("a number of seconds, at least 60"), ge=60)
    trusted_proxies: str = _var("ADVLAB_TRUSTED_PROXIES", "127.0.0.0/8, ::1", "proxies whose X-Forwarded-For "
                                "names the client, comma-separated addresses or networks (rate limits count per "
                                "client address)", must=N_("comma-separated IP addresses or networks"))

    # --- deploy/compose.yaml only (read by Docker Compose, not by Python) --------------------------------
    replicas: int = _var("ADVLAB_REPLICAS", 2, "app replicas behind nginx (deploy/compose.yaml)", "replicas",
                         ge=1)
    port: int = _var("ADVLAB_PORT", 8080, "port nginx publishes (deploy/compose.yaml)", "TCP port", ge=1,
                     le=65535)

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        for item in value.replace(";", ",").split(","):
            if item.strip():
                ipaddress.ip_network(item.strip(), strict=False)  # ValueError: reported as the field's "must"
        return value


def names() -> list[str]:
    """Every variable's name, in the order of ``Settings``."""
    return [field.validation_alias for field in Settings.model_fields.values()]


def field_of(name: str):
    """The ``FieldInfo`` of variable ``name`` (KeyError if it is not a setting)."""
    return next(f for f in Settings.model_fields.values() if f.validation_alias == name)


def default(name: str) -> Any:
    """The default value of variable ``name`` (one number in one place: e.g. advcore.heavy's budget)."""
    return field_of(name).default


def _one_line(error: ValidationError) -> str:
    """``NAME: must be ... (got 'value')`` for the first bad variable, in the current language (a secret's value
    is never shown)."""
    first = error.errors()[0]
    name = str(first["loc"][0])
    phrase, values = _MUST.get(name, (N_("a valid value"), {}))
    must = _(phrase, **values)
    if name == "ADVLAB_TEACHER_PASSWORD":
        return _("{name}: must be {must}", name=name, must=must)
    return _("{name}: must be {must} (got {value!r})", name=name, must=must,
             value=os.environ.get(name, first.get("input")))


_built: tuple = (None, None)  # (the variables' values, their Settings): one assignment, safe across threads


def settings() -> Settings:
    """The settings of the current environment (rebuilt only when a variable changed; see the module docstring).
    Raises SettingsError with one line for a bad value."""
    global _built
    key = tuple(os.environ.get(name) for name in _NAMES)
    built_key, value = _built
    if built_key != key:
        try:
            value = Settings()
        except ValidationError as exc:
            raise SettingsError(_one_line(exc)) from None
        _built = (key, value)
    return value


_NAMES = tuple(names())
