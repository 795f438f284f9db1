"""The Learn pages in headless Chromium at 1280x720 (a projector's size): every lesson renders without an
error, its charts' text is at least 14 px, and a screenshot of each lands in test-artifacts/learn-*.png."""

import os

import pytest

from advcore.ui import navigation
from bench.browser import CHROMIUM, CHROMIUM_ARGS, chromium_available, streamlit_server

from .conftest import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.needs_data]
ARTIFACTS = ROOT / "test-artifacts"
MIN_FONT_PX = 14

if not chromium_available():
    if os.environ.get("ADVCORE_REQUIRE_BROWSER") == "1":
        raise RuntimeError("ADVCORE_REQUIRE_BROWSER=1 but Chromium is not installed (apt-get install chromium)")
    pytest.skip("Chromium is not installed (apt-get install chromium); browser tests skipped",
                allow_module_level=True)

NOTHING_RUNNING = """() => !document.querySelector('[data-testid="stSpinner"]')
  && !document.querySelector('[data-testid="stStatusWidget"]')"""
# the smallest font size of any text in a Plotly chart (tick labels, titles, legends, annotations)
SMALLEST_CHART_FONT = """() => {
  const sizes = [...document.querySelectorAll('.js-plotly-plot svg text')]
    .filter(t => t.textContent.trim() && t.getBoundingClientRect().width > 0)
    .map(t => parseFloat(getComputedStyle(t).fontSize));
  return sizes.length ? Math.min(...sizes) : null;
}"""


def test_every_learn_page_in_chromium():
    from playwright.sync_api import sync_playwright
    ARTIFACTS.mkdir(exist_ok=True)
    specs = navigation.SECTIONS["Learn"]
    with streamlit_server() as (url, _), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        problems = []
        for spec in specs:
            page.goto(f"{url}/{spec.url_path}", timeout=400_000, wait_until="commit")
            page.wait_for_selector("h1", timeout=400_000)
            page.wait_for_selector("text=Papers cited in this lesson", timeout=400_000)  # the page's end
            page.wait_for_function(NOTHING_RUNNING, timeout=400_000)
            page.wait_for_timeout(1500)
            name = spec.url_path.removeprefix("learn_")
            page.screenshot(path=str(ARTIFACTS / f"learn-{name}.png"))
            page.set_viewport_size({"width": 1280, "height": 2800})  # the whole lesson, same width
            page.wait_for_timeout(1500)
            page.screenshot(path=str(ARTIFACTS / f"learn-{name}-full.png"))
            if page.locator('[data-testid="stException"]').count():
                problems.append(f"{spec.url_path}: exception shown")
            smallest = page.evaluate(SMALLEST_CHART_FONT)
            if smallest is not None and smallest < MIN_FONT_PX:
                problems.append(f"{spec.url_path}: chart text at {smallest} px")
            width = page.evaluate("() => document.documentElement.scrollWidth")
            if width > 1280:
                problems.append(f"{spec.url_path}: page {width} px wide, scrolls sideways")
            page.set_viewport_size({"width": 1280, "height": 720})
        browser.close()
    assert not problems, problems
