"""Load driver: N concurrent browser sessions against the real server on a loopback port.

Why browser pages: each page is a real Streamlit session (its own websocket, session
state and fragment reruns), driven exactly as a student does — the eps slider moved
with the keyboard, the image switched — so the server sees the real protocol. One
headless Chromium holds all pages (asyncio Playwright), which keeps the clients light
enough for 30 sessions on a small machine.

    python -m tests.load --sessions 30 --seconds 60 [--think 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from pathlib import Path

from .browser import CHROMIUM, CHROMIUM_ARGS, streamlit_server

METRIC = '[data-testid="stMetric"]'


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _metric(page, label: str) -> str:
    return await page.locator(METRIC, has_text=label).first.locator('[data-testid="stMetricValue"]').inner_text()


async def _changed(page, label: str, old: str, timeout_s: float) -> None:
    deadline = time.perf_counter() + timeout_s
    while time.perf_counter() < deadline:
        try:
            if await _metric(page, label) != old:
                return
        except Exception:
            pass
        await asyncio.sleep(0.01)
    raise TimeoutError(f"{label} did not change within {timeout_s} s")


async def _session(browser, url: str, seconds: float, stats: dict, index: int, timeout_s: float,
                   think_s: float = 0.0, delay_s: float = 0.0) -> None:
    await asyncio.sleep(delay_s)  # students arrive over the first seconds, not all at once
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    page.on("pageerror", lambda exc: stats["errors"].append(f"session {index}: page error {exc}"))
    try:
        await page.goto(f"{url}/?image={index % 50}")
        await page.wait_for_selector(f'{METRIC}:has-text("adversarial prediction")', timeout=timeout_s * 1000)
        slider = page.locator('[data-testid="stSlider"] input[type="range"]').first
        index_box = page.locator('[data-testid="stNumberInput"] input').first
        end = time.perf_counter() + seconds
        step = 0
        rng = __import__("random").Random(index)
        while time.perf_counter() < end:
            step += 1
            if think_s:  # a student looks at the result before the next move
                await asyncio.sleep(think_s * rng.uniform(0.5, 1.5))
            old = await _metric(page, "L∞ of the change")
            started = time.perf_counter()
            if step % 4 == 0:  # switch image
                await index_box.fill(str((index * 7 + step) % 500))
                await index_box.press("Enter")
                label, old = "clean prediction", await _metric(page, "clean prediction")
            else:  # move eps one grey level up or down
                await slider.focus()
                await page.keyboard.press("ArrowRight" if (step // 8) % 2 == 0 else "ArrowLeft")
                label = "L∞ of the change"
            try:
                await _changed(page, label, old, timeout_s)
                stats["latencies"].append(time.perf_counter() - started)
            except TimeoutError:
                if label == "clean prediction":  # two images can share a prediction: not an error
                    stats["latencies"].append(time.perf_counter() - started)
                else:
                    stats["errors"].append(f"session {index}: no update after {timeout_s} s")
            stats["requests"] += 1
            if await page.locator('[data-testid="stException"]').count():
                stats["errors"].append(f"session {index}: exception shown")
                break
    except Exception as exc:  # a session that cannot start or breaks counts as an error
        stats["errors"].append(f"session {index}: {exc.__class__.__name__}: {str(exc)[:200]}")
    finally:
        await context.close()


async def _run(url: str, pid: int, sessions: int, seconds: float, timeout_s: float, think_s: float,
               ramp_s: float) -> dict:
    from playwright.async_api import async_playwright
    stats = {"latencies": [], "errors": [], "requests": 0}
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        warm = {"latencies": [], "errors": [], "requests": 0}
        await _session(browser, url, 0, warm, 0, timeout_s)  # loads the models once
        rss_before = rss_mb(pid)
        await asyncio.gather(*(_session(browser, url, seconds, stats, i, timeout_s, think_s, i * ramp_s / sessions)
                               for i in range(sessions)))
        rss_peak = rss_mb(pid)
        await browser.close()
    await asyncio.sleep(5)
    lat = sorted(stats["latencies"]) or [float("nan")]
    return {"sessions": sessions, "seconds": seconds, "think_s": think_s, "ramp_s": ramp_s,
            "requests": stats["requests"],
            "errors": len(stats["errors"]),
            "error_samples": stats["errors"][:5], "p50_s": round(statistics.median(lat), 3),
            "p95_s": round(lat[int(0.95 * (len(lat) - 1))], 3), "rss_before_mb": round(rss_before),
            "rss_with_sessions_mb": round(rss_peak), "rss_after_mb": round(rss_mb(pid)),
            "warmup_errors": warm["errors"]}


def run_load(sessions: int, seconds: float, timeout_s: float = 60, think_s: float = 2.0, ramp_s: float = 0.0) -> dict:
    """Latency counts from the key press to the new result on the page; ``think_s`` (mean, uniform
    0.5-1.5x) is the pause between a result and the next move, as a student looks at it; sessions
    open one after another over ``ramp_s`` seconds."""
    with streamlit_server() as (url, proc):
        return asyncio.run(_run(url, proc.pid, sessions, seconds, timeout_s, think_s, ramp_s))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--think", type=float, default=2.0, help="mean pause between moves, seconds")
    parser.add_argument("--ramp", type=float, default=30.0, help="sessions open over this many seconds")
    parser.add_argument("--out", default=None, help="write the report as JSON")
    args = parser.parse_args()
    import datetime as dt
    import os
    import sys
    report = run_load(args.sessions, args.seconds, think_s=args.think, ramp_s=args.ramp)
    report.update(command="python -m tests.load " + " ".join(sys.argv[1:]), machine=f"CPU, {os.cpu_count()} cores",
                  date=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
    print(json.dumps(report, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
