"""The Train page's training jobs: this process's workers over the store's queue, and what the page shows of a
job (its epoch table, its outcome in words).

The jobs themselves (train, check, measure, add to the user models) are ``advcore.train_runner``.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from advcore import data
from advcore.i18n import N_, _
from advcore.train_runner import Workers, what_to_change

from . import limits
from .room_session import store

# The epoch table's columns as a person reads them (advcore.train's epoch records); accuracies in percent.
EPOCH_COLUMNS = {"epoch": N_("Epoch"), "loss": N_("Training loss"), "train_accuracy": N_("Training accuracy (%)"),
                 "holdout_clean_accuracy": N_("Held-out clean accuracy (%)"),
                 "holdout_pgd10_accuracy": N_("Held-out PGD-10 accuracy (%)"), "lr": N_("Learning rate"),
                 "seconds": N_("Seconds"), "rolled_back": N_("Rolled back")}


def epoch_table(epochs: list[dict]) -> pd.DataFrame:
    """The training job's epoch records with readable column names, accuracies as percentages."""
    table = pd.DataFrame(epochs)
    for column in table.columns:
        if column.endswith("accuracy"):
            table[column] = (table[column].astype(float) * 100).round(1)
    return table[[c for c in EPOCH_COLUMNS if c in table.columns]].rename(
        columns={key: _(name) for key, name in EPOCH_COLUMNS.items()})


def training_outcome(job: dict) -> tuple[bool, str]:
    """(useful, sentence) for a finished job: useful only at or above its data set's clean-accuracy floor
    (``DatasetInfo.useful_floor``); a weaker model is called weak, with what to change."""
    info = data.info(job["config"]["dataset"])
    accuracy, floor = job.get("clean_accuracy"), info.useful_floor()
    if accuracy is None:
        return False, _("{model} finished, but its clean accuracy was not measured.", model=job["model_id"])
    if accuracy >= floor:
        return True, _("{model} is in the zoo for this server (Your models). Clean accuracy {accuracy:.1%}.",
                       model=job["model_id"], accuracy=accuracy)
    return False, _("{model} is weak: clean accuracy {accuracy:.1%}, below the {floor:.0%} a useful {dataset} model "
                    "reaches, so attacks on it say little. It is listed under Your models; {advice}.",
                    model=job["model_id"], accuracy=accuracy, floor=floor, dataset=info.title,
                    advice=what_to_change(job["config"]))


@st.cache_resource(show_spinner=False)
def workers() -> Workers:
    """This process's ``limits.MAX_TRAIN_JOBS`` worker threads over the pages' store (started on first use)."""
    return Workers(store(), limits.MAX_TRAIN_JOBS)
