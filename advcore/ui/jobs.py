"""The Train page's training jobs: this process's workers over the store's queue, and what the page shows of a
job (its epoch table, its outcome in words).

The jobs themselves (train, check, measure, add to the user models) are ``advcore.train_runner``.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from advcore import data
from advcore.train_runner import Workers, what_to_change

from . import limits
from .room_session import store

# The epoch table's columns as a person reads them (advcore.train's epoch records); accuracies in percent.
EPOCH_COLUMNS = {"epoch": "Epoch", "loss": "Training loss", "train_accuracy": "Training accuracy (%)",
                 "holdout_clean_accuracy": "Held-out clean accuracy (%)",
                 "holdout_pgd10_accuracy": "Held-out PGD-10 accuracy (%)", "lr": "Learning rate",
                 "seconds": "Seconds", "rolled_back": "Rolled back"}


def epoch_table(epochs: list[dict]) -> pd.DataFrame:
    """The training job's epoch records with readable column names, accuracies as percentages."""
    table = pd.DataFrame(epochs)
    for column in table.columns:
        if column.endswith("accuracy"):
            table[column] = (table[column].astype(float) * 100).round(1)
    return table[[c for c in EPOCH_COLUMNS if c in table.columns]].rename(columns=EPOCH_COLUMNS)


def training_outcome(job: dict) -> tuple[bool, str]:
    """(useful, sentence) for a finished job: useful only at or above its data set's clean-accuracy floor
    (``DatasetInfo.useful_floor``); a weaker model is called weak, with what to change."""
    info = data.info(job["config"]["dataset"])
    accuracy, floor = job.get("clean_accuracy"), info.useful_floor()
    if accuracy is None:
        return False, f"{job['model_id']} finished, but its clean accuracy was not measured."
    if accuracy >= floor:
        return True, (f"{job['model_id']} is in the zoo for this server (Your models). Clean accuracy "
                      f"{accuracy:.1%}.")
    return False, (f"{job['model_id']} is weak: clean accuracy {accuracy:.1%}, below the {floor:.0%} a useful "
                   f"{info.title} model reaches, so attacks on it say little. It is listed under Your models; "
                   f"{what_to_change(job['config'])}.")


@st.cache_resource(show_spinner=False)
def workers() -> Workers:
    """This process's ``limits.MAX_TRAIN_JOBS`` worker threads over the pages' store (started on first use)."""
    return Workers(store(), limits.MAX_TRAIN_JOBS)
