"""Dashboard: Explore rerun after an eps change (AppTest and the browser), and the cold start of
`streamlit run app.py` until the first attacked image is drawn.

    python -m bench.dashboard [--moves 20]
"""

import argparse
import statistics
import time

from .common import ROOT, report


def apptest_rerun_ms(moves: int) -> float:
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    times = []
    for k in range(moves + 3):
        started = time.perf_counter()
        at.select_slider(key="eps_linf").set_value(round((10 + k) / 255, 6)).run()
        times.append(time.perf_counter() - started)
    return statistics.median(times[3:]) * 1000


def browser(moves: int) -> tuple[float, float]:
    from bench.browser import browser_page, metric_value, streamlit_server, wait_for_change
    started = time.perf_counter()
    with streamlit_server() as (url, _), browser_page() as page:
        page.goto(url)
        page.wait_for_selector('[data-testid="stMetric"]:has-text("adversarial prediction")', timeout=120_000)
        cold = time.perf_counter() - started
        page.wait_for_timeout(1000)
        page.locator('[data-testid="stSlider"] input[type="range"]').first.focus()
        latencies = []
        for _ in range(moves):
            old = metric_value(page, "L∞ of the change")
            page.keyboard.press("ArrowRight")
            latencies.append(wait_for_change(page, "L∞ of the change", old)[1])
    return cold, statistics.median(latencies) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--moves", type=int, default=20)
    args = parser.parse_args()
    apptest = apptest_rerun_ms(args.moves)
    cold, slider = browser(args.moves)
    report("dashboard", [
        {"measure": "Explore rerun after an eps change, AppTest (whole script)", "value": apptest, "unit": "ms",
         "target": "< 200"},
        {"measure": "Explore update after an eps key press, browser (fragment)", "value": slider, "unit": "ms",
         "target": "< 300"},
        {"measure": "cold start: streamlit run to first attacked image", "value": cold, "unit": "s", "target": "< 15"},
    ], "PGD-20 on MNIST (mnist-standard), medians; the browser is headless Chromium on the same machine")


if __name__ == "__main__":
    main()
