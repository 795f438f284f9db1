"""Helpers to run the real dashboard server and drive it in headless Chromium (Debian's)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("ADVLAB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]


# the smallest font size of any text in a Plotly chart (tick labels, titles, legends, annotations)
SMALLEST_CHART_FONT = """() => {
  const sizes = [...document.querySelectorAll('.js-plotly-plot svg text')]
    .filter(t => t.textContent.trim() && t.getBoundingClientRect().width > 0)
    .map(t => parseFloat(getComputedStyle(t).fontSize));
  return sizes.length ? Math.min(...sizes) : null;
}"""


def chromium_available() -> bool:
    return Path(CHROMIUM).exists() or shutil.which("chromium") is not None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _collect_output(proc: subprocess.Popen) -> threading.Thread:
    """Read the server's output into ``proc.log`` (a list of lines) as it comes, so that a caller can wait for
    a line and a chatty server never blocks on a full pipe; returns the reading thread."""
    proc.log = []

    def read() -> None:
        for line in proc.stdout:
            proc.log.append(line.decode(errors="replace"))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return reader


@contextmanager
def streamlit_server(env_extra: dict | None = None, timeout: float = 90):
    """Start ``streamlit run app.py`` on a free loopback port; yields (url, process). ``process.log`` holds
    the server's output lines so far."""
    port = free_port()
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", **(env_extra or {}))
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
                             "--server.port", str(port), "--server.address", "127.0.0.1"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    reader = _collect_output(proc)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if proc.poll() is not None:
                reader.join(5)
                raise RuntimeError(f"streamlit exited: {''.join(proc.log)[-2000:]}")
            try:
                with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.3)
        else:
            raise RuntimeError("streamlit did not answer its health check in time")
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        reader.join(5)


@contextmanager
def chromium():
    """Headless Chromium (Debian's) under Playwright; yields the browser, closed on exit. A test module can
    share one and open a page (a new Streamlit session) per test."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium"),
                                    args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def browser_page():
    with chromium() as browser:
        yield browser.new_page(viewport={"width": 1600, "height": 1100})


def metric_value(page, label: str) -> str:
    metric = page.locator('[data-testid="stMetric"]', has_text=label).first
    return metric.locator('[data-testid="stMetricValue"]').inner_text()


CHANGED_METRIC_JS = """([label, old]) => {
  const metric = [...document.querySelectorAll('[data-testid="stMetric"]')].find(m => m.innerText.includes(label));
  const value = metric && metric.querySelector('[data-testid="stMetricValue"]');
  return value && value.innerText !== old ? value.innerText : false;
}"""


def wait_for_change(page, label: str, old: str, timeout_s: float = 30) -> tuple[str, float]:
    """Wait until a metric's text differs from ``old``; returns (new text, seconds waited). The page looks
    itself, every 10 ms, so that the harness does not compete for the CPU with the browser and the server
    (polling from Python, a few round trips to the browser a look, slowed what it waited for)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    started = time.perf_counter()
    try:
        handle = page.wait_for_function(CHANGED_METRIC_JS, arg=[label, old], polling=10, timeout=timeout_s * 1000)
    except PlaywrightTimeout as error:
        raise TimeoutError(f"{label} stayed {old!r} for {timeout_s} s") from error
    return handle.json_value(), time.perf_counter() - started


# Whether the page has finished drawing: connected, no script run going (the app's own state, which changes at
# once; the running indicator shows only after 500 ms), no running indicator, spinner, loading placeholder
# (a lazily loaded element) or element of a previous run drawn stale, every Plotly chart drawn, every image
# loaded (a lazy one outside the window aside), the fonts ready and no transition or animation under way (an
# expander opening; endless ones, a spinner's, aside); with ``heading``, a title (``h1``) drawn; with ``nav``
# ([selector, n]), at least n links of the app's menu drawn (links replace their placeholders).
SETTLED_JS = """([heading, nav]) => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.dataset.testConnectionState !== 'CONNECTED') return false;
  if (!['notRunning', 'compilationError'].includes(app.dataset.testScriptState)) return false;
  if (document.querySelector('[data-testid="stStatusWidget"], [data-testid="stSpinner"], '
                             + '[data-testid="stSkeleton"], [data-stale="true"]')) return false;
  if ([...document.querySelectorAll('[data-testid="stPlotlyChart"], .js-plotly-plot')]
        .some(p => !p.querySelector('.main-svg'))) return false;
  const inView = (e) => { const r = e.getBoundingClientRect(); return r.bottom > 0 && r.top < innerHeight; };
  if ([...document.images].some(i => !i.complete && (i.loading !== 'lazy' || inView(i)))) return false;
  if (document.fonts && document.fonts.status !== 'loaded') return false;
  if (document.getAnimations && document.getAnimations().some(a => a.playState === 'running'
        && a.effect && a.effect.getComputedTiming().endTime !== Infinity)) return false;
  if (heading && ![...document.querySelectorAll('h1')].some(h => h.getBoundingClientRect().height > 0)) return false;
  if (nav && document.querySelectorAll(nav[0]).length < nav[1]) return false;
  return true;
}"""

# The page's layout in short: where it is scrolled to, how tall its scrolled areas are, and the box of every
# element, chart and image (a layout still changing after a resize, a scroll or a new element differs from one
# frame to the next).
LAYOUT_JS = """() => [document.scrollingElement, ...document.querySelectorAll(
    '[data-testid="stMain"], [data-testid="stSidebarContent"]')].map(e => `${e.scrollTop}/${e.scrollHeight}`)
  .concat([...document.querySelectorAll('[data-testid="stElementContainer"], .main-svg, img')]
    .map(e => { const r = e.getBoundingClientRect(); return `${r.x},${r.y},${r.width},${r.height}`; }))
  .join(' ')"""

# Settled now, and still settled with the same layout two animation frames later (the layout and paint of what
# was just drawn); a timer stands in for a frame that a hidden page never draws.
STILL_JS = f"""async (args) => {{
  const settled = {SETTLED_JS}, layout = {LAYOUT_JS};
  if (!settled(args)) return false;
  const before = layout();
  const frame = () => new Promise(done => {{ const timer = setTimeout(done, 100);
                                             requestAnimationFrame(() => {{ clearTimeout(timer); done(); }}); }});
  await frame();
  await frame();
  return settled(args) && layout() === before;
}}"""


def settle(page, timeout_ms: float = 180_000, *, heading: bool = False, nav: bool = False) -> None:
    """Wait until the page has finished drawing (``SETTLED_JS``: the script run over, nothing stale, every chart
    and image drawn, no animation under way), then until it is still so, its layout unchanged, two animation
    frames later. With ``heading``, until its title (an ``h1``) is drawn too; with ``nav``, the app's sidebar
    menu with a link for every page.

    A condition, not a sleep: right after an action (a key press, a click) the page is still "settled" for
    the moment until its rerun starts, so a test that acts first waits for what the action changes (a metric:
    ``wait_for_change``; a URL, a text), then settles."""
    nav_links = None
    if nav:
        from advcore.ui import navigation
        nav_links = [f".st-key-{navigation.NAV_KEY} a", len(navigation.all_pages())]
    deadline = time.perf_counter() + timeout_ms / 1000
    while True:
        left = max(1.0, (deadline - time.perf_counter()) * 1000)
        page.wait_for_function(SETTLED_JS, arg=[heading, nav_links], polling=50, timeout=left)
        if page.evaluate(STILL_JS, [heading, nav_links]):
            return
        if time.perf_counter() > deadline:
            raise TimeoutError(f"the page kept changing for {timeout_ms / 1000:.0f} s")


KEY_CLOCK = """() => { if (window.__advKeyClock) return; window.__advKeyClock = true;
    document.addEventListener('keydown', () => { window.__advKey = performance.now(); }, true); }"""

WATCH_VIEW = """([label, picture]) => {
    window.__advPainted = {};
    const painted = (name) => requestAnimationFrame(() => setTimeout(() => {
        window.__advPainted[name] = performance.now(); }, 0));
    const metric = [...document.querySelectorAll('[data-testid="stMetric"]')].find(m => m.innerText.includes(label));
    const value = metric.querySelector('[data-testid="stMetricValue"]');
    const oldValue = value.innerText;
    const watchMetric = new MutationObserver(() => {
        if (value.innerText === oldValue) return;
        watchMetric.disconnect();
        painted("metric");
    });
    watchMetric.observe(value, {subtree: true, childList: true, characterData: true});
    if (picture === null) return;
    const image = () => document.querySelectorAll('.advlab-pictures img')[picture];
    const oldSource = image().src;
    const main = document.querySelector('[data-testid="stMain"]') || document.body;
    const watchImage = new MutationObserver(() => {
        const now = image();
        if (!now || now.src === oldSource) return;
        watchImage.disconnect();
        now.decode().catch(() => null).then(() => painted("picture"));
    });
    watchImage.observe(main, {subtree: true, childList: true, attributes: true, attributeFilter: ["src"]});
}"""


def key_to_view_painted(page, key: str, label: str, picture: int | None = None,
                        timeout_s: float = 30) -> dict[str, float]:
    """Press ``key``; returns the seconds, on the page's own clock, from its keydown event to the frame that
    paints the metric ``label``'s new value (``"metric"``: a MutationObserver, then the next animation
    frame) and, with ``picture`` (the index of an ``<img>`` in the page's picture rows), to the frame after
    that picture's new image has been decoded (``"picture"``): what a person at the screen waits for.

    The harness looks only every 100 ms (in the page), so that its own polling does not compete for the
    CPU with the browser and the server while they update (on a 2-core machine, polling every few ms
    from here slowed the server's attack itself several-fold)."""
    page.evaluate(KEY_CLOCK)
    page.evaluate(WATCH_VIEW, [label, picture])
    page.keyboard.press(key)
    names = ["metric"] + ([] if picture is None else ["picture"])
    page.wait_for_function(f"{names!r}.every(n => window.__advPainted[n] !== undefined)", polling=100,
                           timeout=timeout_s * 1000)
    return {n: page.evaluate(f"window.__advPainted[{n!r}] - window.__advKey") / 1000 for n in names}


# Before an action that reruns the page (a widget's change, a form's submit): note when a script run starts. Right
# after the action the page still looks drawn (``settle`` passes) until the server starts the run.
WATCH_RUN_JS = """() => { const app = document.querySelector('[data-testid="stApp"]');
  window.__advRan = false;
  new MutationObserver((records, watch) => {
    if (app.dataset.testScriptState !== 'notRunning') { window.__advRan = true; watch.disconnect(); }
  }).observe(app, {attributes: true, attributeFilter: ['data-test-script-state']}); }"""


def watch_run(page) -> None:
    """Start watching for the next script run of the page; call before the action, then ``wait_for_run``."""
    page.evaluate(WATCH_RUN_JS)


def wait_for_run(page, timeout_ms: float = 180_000) -> None:
    """After ``watch_run`` and an action: wait until the run the action started has begun (then ``settle``)."""
    page.wait_for_function("() => window.__advRan === true", polling=50, timeout=timeout_ms)
