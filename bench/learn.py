"""Learn pages: each lesson's first render with the models already loaded, its rerun, and its widget updates
(AppTest, whole script), one fresh process per lesson so no lesson inherits another's caches or compiled
functions. Issue 14's target: a first render <= 3 s, an update <= 300 ms.

    python -m bench.learn [--lessons learn_direction,learn_blackbox] [--repeats 1]

In each process: the server's settings (``advcore.ui.server``), every shipped MNIST model loaded and warmed as
the dashboard does on a model's first use (``resources.try_model``), one untimed run of the app on the glossary
(the app's own imports and sidebar, paid once per server), then the timed runs of the lesson.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from .common import ROOT, report

FIRST_TARGET_S, UPDATE_TARGET_MS = 3.0, 300.0

# Per lesson: the widget moves timed after the first render, as (kind, key, value); values are options of the
# widget (eps sliders hold k/255 rounded to 6 places).
UPDATES = {
    "learn_what": [("select_slider", "what_eps", round(30 / 255, 6)), ("number_input", "what_image", 7)],
    "learn_direction": [("select_slider", "direction_eps", round(40 / 255, 6)), ("number_input", "direction_image", 7)],
    "learn_linearity": [("select_slider", "linearity_eps", round(51 / 255, 6)), ("number_input", "linearity_image", 7)],
    "learn_features": [("select_slider", "features_eps", round(26 / 255, 6)), ("radio", "features_model", "mnist-pgd"),
                       ("number_input", "features_image", 7)],
    "learn_pgd": [("select_slider", "pgd_eps", round(40 / 255, 6)), ("slider", "pgd_steps", 20),
                  ("number_input", "pgd_image", 7)],
    "learn_targeted": [("select_slider", "targeted_eps", round(40 / 255, 6)), ("number_input", "targeted_image", 7)],
    "learn_blackbox": [("select_slider", "blackbox_eps", round(51 / 255, 6)),
                       ("select_slider", "blackbox_queries", 500), ("number_input", "blackbox_image", 7)],
    "learn_training": [("select_slider", "training_eps", round(77 / 255, 6)), ("number_input", "training_image", 7)],
    "learn_masking": [("select_slider", "masking_eps", round(51 / 255, 6)), ("number_input", "masking_image", 7)],
    "learn_certified": [("select_slider", "certified_sigma", 0.25), ("number_input", "certified_image", 7)],
}


def one(slug: str, repeats: int) -> dict:
    """Time one lesson in this process; returns {"lesson", "first_s", "rerun_ms", "updates": {...}}."""
    from streamlit.testing.v1 import AppTest

    import advcore.ui.server  # noqa: F401  (the server's process-wide settings)
    from advcore.lessons import LESSONS  # noqa: F401
    from advcore.ui import resources
    for model_id in resources.model_ids("mnist"):
        resources.try_model(model_id)
    resources.test_split("mnist")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
    at.switch_page("pages/learn/learn_glossary.py")  # the app itself warm (imports, sidebar), as on a running server
    at.run()
    at.switch_page(f"pages/learn/{slug}.py")
    started = time.perf_counter()
    at.run()
    first = time.perf_counter() - started
    errors = [str(e.value) for e in at.exception]
    started = time.perf_counter()
    at.run()
    rerun = (time.perf_counter() - started) * 1000
    updates = {}
    for kind, key, value in UPDATES.get(slug, []):
        try:
            updates[key] = _move(at, kind, key, value, repeats, errors)
        except Exception as exc:  # a widget the page no longer has: report it, time the rest
            errors.append(f"{key}: {exc.__class__.__name__}: {exc}")
    return {"lesson": slug, "first_s": round(first, 2), "rerun_ms": round(rerun, 1), "updates": updates,
            "errors": errors}


def _move(at, kind: str, key: str, value, repeats: int, errors: list) -> float:
    """The slowest of ``repeats`` moves of one widget to ``value`` (ms), moved back between repeats."""
    times = []
    for r in range(repeats):
        widget = getattr(at, kind)(key=key)
        original = widget.value
        started = time.perf_counter()
        widget.set_value(value).run()
        times.append((time.perf_counter() - started) * 1000)
        errors += [str(e.value) for e in at.exception]
        if r + 1 < repeats:
            getattr(at, kind)(key=key).set_value(original).run()
    return round(max(times), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lessons", default=",".join([*UPDATES, "learn_glossary"]), help="comma-separated page stems")
    parser.add_argument("--repeats", type=int, default=1, help="moves per widget (the slowest is reported)")
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print("RESULT " + json.dumps(one(args.one, args.repeats)))
        return
    rows = []
    for slug in [s for s in args.lessons.split(",") if s]:
        proc = subprocess.run([sys.executable, "-m", "bench.learn", "--one", slug, "--repeats", str(args.repeats)],
                              cwd=ROOT, capture_output=True, text=True, env=dict(os.environ))
        line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
        if line is None:
            rows.append({"lesson": slug, "first render (s)": None, "error": proc.stderr.strip()[-300:]})
            continue
        result = json.loads(line[len("RESULT "):])
        slowest = max(result["updates"].values(), default=None)
        rows.append({"lesson": slug, "first render (s)": result["first_s"],
                     "first <= 3 s": result["first_s"] <= FIRST_TARGET_S, "rerun (ms)": result["rerun_ms"],
                     "updates (ms)": ", ".join(f"{k} {v:.0f}" for k, v in result["updates"].items()),
                     "slowest update <= 300 ms": None if slowest is None else slowest <= UPDATE_TARGET_MS,
                     "errors": "; ".join(result["errors"])[:200]})
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    report("learn", rows, "AppTest, whole-script runs; one fresh process per lesson with every shipped MNIST model "
                          "loaded and warmed first; an update is the first move of that widget to a new value")


if __name__ == "__main__":
    main()
