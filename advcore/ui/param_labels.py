"""The labels of the registry parameters' widgets (``advcore.ui.widgets.param_widget``), marked for translation.

A parameter's name is an id (CLI flags, settings, links: ``random_start``); its widget shows it as a label, in
English the name itself (a switch's with spaces). This table holds those labels so the catalogs have them;
``tests/test_i18n_explore.py`` checks that every attack and defence parameter has one.
"""

from __future__ import annotations

from advcore.i18n import N_, _

LABELS = {  # Param.name -> its widget's label (the English is exactly what the widget showed before)
    "eps": N_("eps"), "norm": N_("norm"), "steps": N_("steps"), "step_size": N_("step size"),
    "restarts": N_("restarts"), "random_start": N_("random start"), "seed": N_("seed"), "decay": N_("decay"),
    "trace": N_("trace"), "queries": N_("queries"), "p_init": N_("p_init"), "overshoot": N_("overshoot"),
    "search_steps": N_("search_steps"), "initial_const": N_("initial_const"), "confidence": N_("confidence"),
    "learning_rate": N_("learning_rate"), "source": N_("source"), "quality": N_("quality"), "depth": N_("depth"),
    "size": N_("size"), "canvas": N_("canvas"), "sigma": N_("sigma"), "samples": N_("samples"),
}


def label(p) -> str:
    """The label of parameter ``p``'s widget in the current language (its name, as English shows it, when the
    table lacks it)."""
    english = p.name.replace("_", " ") if p.kind == "bool" else p.name
    return _(LABELS[p.name]) if p.name in LABELS else english
