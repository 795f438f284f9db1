"""Dashboard: Explore rerun after an eps change (AppTest and the browser), the first three eps moves after
the page loads on a fresh server (and after reloading it) next to the later ones, the cold start of
`streamlit run app.py` until the first attacked image is drawn, and the tf.function retracing warnings in
that server's log.

The browser's eps update is timed on the page's own clock, from the keydown event to the animation
frame that paints both the new L∞ value and the new adversarial image, decoded
(``bench.browser.key_to_view_painted``; each is reported on its own too), the harness looking only
every 100 ms so as not to compete for the CPU (until 2026-11-26 it polled every 5 ms from Python,
which slowed what it measured). Moves are 0.3 s apart, so each starts after the previous update has
finished drawing; the window is 1280x720, a classroom projector's.

    python -m bench.dashboard [--moves 20] [--no-warm] [--dataset cifar10]
    # --no-warm: the server's start-up warm-up off; --dataset: Explore's default view of that data set
    # (results in bench/results/dashboard.json for MNIST, dashboard_<dataset>.json otherwise)
"""

import argparse
import statistics
import time

from .common import ROOT, report


def apptest_rerun_ms(moves: int, dataset: str = "mnist", model: str | None = None) -> float:
    """Median ms of a whole Explore rerun after an eps change in AppTest, on ``model`` (a link naming it) or the
    data set's first model."""
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    if model:
        at.query_params.update({"dataset": dataset, "model": model})
    at.run()
    if dataset != "mnist" and not model:
        at.selectbox(key="dataset").set_value(dataset).run()
    times = []
    for k in range(moves + 3):
        started = time.perf_counter()
        at.select_slider(key="eps_linf").set_value(round((10 + k) / 255, 6)).run()
        times.append(time.perf_counter() - started)
    return statistics.median(times[3:]) * 1000


ADVERSARIAL_PICTURE = 2  # the adversarial image: the third <img> of Explore's picture rows


def _moves(page, n: int) -> list[dict]:
    from bench.browser import key_to_view_painted
    page.locator('[data-testid="stSlider"] input[type="range"]').first.focus()
    latencies = []
    for _ in range(n):
        latencies.append(key_to_view_painted(page, "ArrowRight", "L∞ of the change", ADVERSARIAL_PICTURE))
        page.wait_for_timeout(300)  # a person reads the new view before the next move
    return latencies


def wait_for_warm_up(proc, timeout_s: float = 300) -> float:
    """Wait until the server's start-up warm-up has logged that it is done (every default model warmed, or
    could not be, and any quicker Explore default chosen); returns the seconds waited."""
    from advcore.ui.startup import WARM_DONE
    started = time.perf_counter()
    while time.perf_counter() - started < timeout_s:
        if any(line.startswith(WARM_DONE) for line in proc.log):
            break
        time.sleep(0.2)
    return time.perf_counter() - started


def url_model(page_url: str) -> str | None:
    """The model a page's link names (Explore writes the model it shows into its URL)."""
    from urllib.parse import parse_qs, urlparse
    return (parse_qs(urlparse(page_url).query).get("model") or [None])[0]


def browser(moves: int, warm: bool = True, dataset: str = "mnist") -> tuple[float, list[dict], list[dict], str, str]:
    """(cold start s, every move's latencies s in order ({"metric", "picture"}), those of three moves after the
    page is reloaded, the server's log, the model the later moves ran on) on a fresh server. The first three moves
    come right after the first view; the others after the server's start-up warm-up has finished, in a new session
    opened from a bare link (it opens on the model the warm-up chose), its first move not counted: the steady
    state a class sees."""
    from bench.browser import browser_page, streamlit_server
    started = time.perf_counter()
    with streamlit_server({} if warm else {"ADVLAB_WARM": "0"}) as (url, proc), browser_page() as page:
        page.set_viewport_size({"width": 1280, "height": 720})  # the classroom projector
        page.goto(url if dataset == "mnist" else f"{url}/?dataset={dataset}")
        page.wait_for_selector('[data-testid="stMetric"]:has-text("adversarial prediction")', timeout=600_000)
        cold = time.perf_counter() - started
        page.wait_for_timeout(1000)
        latencies = _moves(page, 3)
        if warm:
            wait_for_warm_up(proc)
            page.goto(f"{url}/?dataset={dataset}")  # a new session from a bare link opens on the model the warm-up
            # chose, as a class's would (a reload keeps the model the first session wrote into the link)
            page.wait_for_selector('[data-testid="stMetric"]:has-text("adversarial prediction")', timeout=600_000)
            page.wait_for_timeout(1000)
            _moves(page, 1)  # this session's first move, as the reloaded page's below, is not a steady one
        latencies += _moves(page, moves - 3)
        page.reload()  # a student opening the page on a server that has been up a while
        page.wait_for_selector('[data-testid="stMetric"]:has-text("adversarial prediction")', timeout=600_000)
        page.wait_for_timeout(1000)
        reloaded = _moves(page, 3)
        model = url_model(page.url)
    return cold, latencies, reloaded, "".join(proc.log), model


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--moves", type=int, default=20)
    parser.add_argument("--no-warm", action="store_true", help="switch the server's start-up warm-up off")
    parser.add_argument("--dataset", default="mnist", choices=("mnist", "fashion", "cifar10"))
    args = parser.parse_args()
    cold, latencies, reloaded, log, model = browser(max(args.moves, 6), warm=not args.no_warm, dataset=args.dataset)
    apptest = apptest_rerun_ms(args.moves, args.dataset, model)  # the model the browser's later moves ran on
    view = [max(move.values()) for move in latencies]  # both the value and the picture painted
    slider = statistics.median(view[3:]) * 1000
    first = [round(t * 1000) for t in view[:3]]
    retracing = log.count("triggered tf.function retracing")
    warmed = [line.strip() for line in log.splitlines() if line.startswith("AdvLab: warmed")]
    report("dashboard" if args.dataset == "mnist" else f"dashboard_{args.dataset}", [
        {"measure": "Explore rerun after an eps change, AppTest (whole script)", "value": apptest, "unit": "ms",
         "target": "< 200"},
        {"measure": "Explore update after an eps key press, browser: keydown to the new L∞ value and the new "
                    "adversarial image both painted (page clock)", "value": slider, "unit": "ms",
         "target": "≤ 400" if args.dataset == "cifar10" else "≤ 150"},
        *({"measure": f"the same, the {what} alone", "value": statistics.median(m[name] for m in latencies[3:]) * 1000,
           "unit": "ms", "target": ""} for name, what in (("metric", "L∞ value"), ("picture", "adversarial image"))),
        {"measure": "first three eps key presses after the page loads, both painted (median; each: "
                    f"{', '.join(map(str, first))} ms)", "value": statistics.median(view[:3]) * 1000,
         "unit": "ms", "target": "as the later moves"},
        {"measure": "first three eps key presses after reloading the page (the server up and warm), both painted "
                    f"(median; each: {', '.join(str(round(max(m.values()) * 1000)) for m in reloaded)} ms)",
         "value": statistics.median(max(m.values()) for m in reloaded) * 1000, "unit": "ms",
         "target": "as the later moves"},
        {"measure": "tf.function retracing warnings in the server log", "value": retracing, "unit": "",
         "target": "0"},
        {"measure": "cold start: streamlit run to first attacked image", "value": cold, "unit": "s", "target": "< 15"},
    ], f"PGD-20 on {args.dataset} ({model}, the model Explore opens on after the warm-up), medians (moves 4 on: "
       "after the server's start-up warm-up has finished, in a new session); the browser is headless "
       "Chromium on the same machine; "
       f"start-up warm-up {'off' if args.no_warm else 'on'}" + (f" ({'; '.join(warmed)})" if warmed else ""))


if __name__ == "__main__":
    main()
