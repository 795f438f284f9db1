"""Sweep: flags that name their model and attack (the FGSM-PGD gap only a note on standard models),
defended sweeps as extra lines (naive dashed, adaptive solid), the CLI's --defence/--adaptive, the page."""

import json

import pandas as pd
import pytest

from advcore import evaluate, shipped_sweeps, viz


def table(rows):
    return pd.DataFrame([{"model": m, "attack": a, "eps": e, "eps_255": e * 255, "robust_accuracy": acc}
                         for m, a, e, acc in rows])


GAP_ROWS = [("plain", "pgd", 0.0, .99), ("plain", "pgd", .1, .05), ("plain", "fgsm", 0.0, .99),
            ("plain", "fgsm", .1, .6),
            ("robust", "pgd", 0.0, .98), ("robust", "pgd", .1, .10), ("robust", "fgsm", 0.0, .98),
            ("robust", "fgsm", .1, .9)]


def test_fgsm_gap_is_a_note_on_a_standard_model_and_a_warning_on_a_trained_one():
    flags = evaluate.sanity_checks(table(GAP_ROWS), standard_models=["plain"])
    gap = {f.check: f for f in flags if "gap" in f.check}
    warning, note = gap["pgd-vs-fgsm-gap"], gap["pgd-vs-fgsm-gap:standard"]
    assert not warning.ok and warning.severity == "warning" and warning.model == "robust"
    assert "model robust" in warning.message and "plain" not in warning.message and "PGD" in warning.message
    assert note.ok and note.severity == "info" and note.model == "plain" and "model plain" in note.message
    assert note.as_dict()["severity"] == "info"


def test_fgsm_gap_on_standard_models_only_raises_no_warning():
    rows = [r for r in GAP_ROWS if r[0] == "plain"]
    flags = evaluate.sanity_checks(table(rows), standard_models=["plain"])
    assert all(f.severity != "warning" for f in flags)
    assert [f.severity for f in flags if f.check == "pgd-vs-fgsm-gap:standard"] == ["info"]
    # unknown training: the gap still warns
    assert not {f.check: f for f in evaluate.sanity_checks(table(rows))}["pgd-vs-fgsm-gap"].ok


def test_a_defended_standard_model_is_no_standard_model():
    rows = table(GAP_ROWS).assign(defence=["none"] * 4 + ["jpeg:75"] * 4)
    rows["model"] = "plain"
    flags = {f.check: f for f in evaluate.sanity_checks(rows.iloc[4:].reset_index(drop=True),
                                                        standard_models=["plain"])}
    assert not flags["pgd-vs-fgsm-gap"].ok


def test_every_flag_names_its_model_and_attack():
    rows = [("m1", "pgd", 0, .99), ("m1", "pgd", .1, .7), ("m1", "pgd", .2, .8), ("m1", "noise", .2, .5)]
    flags = evaluate.sanity_checks(table(rows), large_eps=.2)
    for f in flags:
        assert "m1" in f.message, f
    monotone = next(f for f in flags if f.check == "monotone:m1:pgd")
    assert not monotone.ok and monotone.model == "m1" and monotone.attack == "pgd"
    assert monotone.message.startswith("m1 under PGD")


class Split:
    def __init__(self, x, y):
        self.x, self.y, self.name = x, y, "mnist"

    def __len__(self):
        return len(self.x)


def test_defended_sweep_draws_naive_dashed_and_adaptive_solid(untrained_model, random_batch):
    x, y = random_batch
    defended, skipped = shipped_sweeps.defended_sweep(
        ["net"], lambda _: untrained_model, Split(x[:16], y[:16]), ["fgsm", "pgd"], "linf", 3, [0.0, 0.3], 16,
        ["bits:3"])
    assert not skipped
    assert list(dict.fromkeys(defended["model"])) == ["net + bits:3 (naive)", "net + bits:3 (bpda)"]
    assert set(defended["attack"]) == {"pgd"} and set(defended["base_model"]) == {"net"}  # iterative only
    assert set(defended["defence"]) == {"bits:3"} and len(defended) == 4
    plain = table([("net", "pgd", 0.0, .1), ("net", "pgd", 0.3, 0.0)])
    fig = viz.sweep_chart(pd.concat([plain, defended], ignore_index=True)).to_dict()
    lines = {t["name"]: t for t in fig["data"]}
    assert lines["net + bits:3 (naive) · pgd"]["line"]["dash"] == "dash"
    adaptive = lines["net + bits:3 (bpda) · pgd"]
    assert adaptive["line"]["dash"] == "solid" and adaptive["fill"] == "tonexty"
    assert adaptive["line"]["color"] == lines["net + bits:3 (naive) · pgd"]["line"]["color"]
    assert "fill" not in lines["net · pgd"]
    flags = shipped_sweeps.defence_flags(defended)
    assert len(flags) == 1 and flags[0].model == "net" and "bits:3" in flags[0].message


@pytest.mark.needs_data
def test_cli_sweep_accepts_defence_and_adaptive(capsys):
    from advcore import cli
    args = ["sweep", "--dataset", "mnist", "--models", "mnist-standard", "--attack", "pgd", "--steps", "10",
            "--eps", "0,0.3", "--n", "40", "--defence", "bits:3", "--json"]
    assert cli.main(args) == 0
    naive = json.loads(capsys.readouterr().out)
    assert cli.main(args + ["--adaptive", "bpda"]) == 0
    bpda = json.loads(capsys.readouterr().out)
    assert {r["defence"] for r in naive["rows"]} == {"bits:3"} and {r["adaptive"] for r in bpda["rows"]} == {"bpda"}
    at = {r["adaptive"]: r["robust_accuracy"] for r in naive["rows"] + bpda["rows"] if r["eps"] == 0.3}
    assert at["none"] > at["bpda"] + 0.3  # the false sense of security, measured
    assert all("severity" in f and "model" in f for f in naive["flags"])


@pytest.mark.needs_data
def test_sweep_page_defence_lines_and_material_icons():
    from .conftest import start
    at = start()
    at.switch_page("pages/explore/sweep.py").run()
    at.multiselect(key="sweep_models_mnist").set_value(["mnist-standard"])
    at.multiselect(key="sweep_attacks").set_value(["fgsm", "pgd"])
    at.multiselect(key="sweep_defences").set_value(["bits"])
    at.number_input(key="sweep_steps").set_value(5)
    at.slider(key="sweep_n").set_value(30)
    at.slider(key="sweep_points").set_value(2)
    at.button[0].click().run(timeout=300)
    assert not at.exception, [e.value for e in at.exception]
    chart = json.loads(at.get("plotly_chart")[0].proto.spec)
    dashes = {t["name"]: t["line"]["dash"] for t in chart["data"]}
    assert dashes["mnist-standard + bits:3 (naive) · pgd"] == "dash"
    assert dashes["mnist-standard + bits:3 (bpda) · pgd"] == "solid"
    boxes = list(at.warning) + list(at.info) + list(at.success)
    assert boxes and all(b.icon.startswith(":material/") for b in boxes)
    assert not at.error  # a sanity flag is a warning (yellow), not an error box (issue 32)
    # mnist-standard is a standard model: its FGSM-PGD gap is no flag
    assert not any("resists FGSM" in e.value and "bits" not in e.value for e in at.warning)
    assert any("bits:3" in e.value for e in at.warning)  # the naive line is flagged


@pytest.mark.needs_data
def test_sweep_opens_with_the_shipped_default_drawn():
    """Issue 32: the default sweep (read from the shipped sweep files) is drawn on opening, without pressing
    Run; the accuracy chart is large, with its legend beside it (one line a row)."""
    from .conftest import start
    at = start()
    at.switch_page("pages/explore/sweep.py").run(timeout=300)
    assert not at.exception, [e.value for e in at.exception]
    charts = at.get("plotly_chart")
    assert charts, [i.value for i in at.info]
    accuracy = json.loads(charts[0].proto.spec)
    assert accuracy["layout"]["height"] >= 500 and accuracy["layout"]["legend"]["orientation"] == "v"
    assert len(accuracy["data"]) >= 2


# Whether the first chart's first line (the training loss) has at least ``n`` points.
CURVE_POINTS = """(n) => { const line = document.querySelector(
    '[data-testid="stPlotlyChart"] .scatterlayer .trace path.js-line');
  return !!line && (line.getAttribute('d') || '').split(/[ML]/).filter(Boolean).length >= n; }"""


def set_slider(page, label: str, presses: int, key: str = "ArrowLeft") -> None:
    """Move a Streamlit slider by keyboard (one step a press)."""
    thumb = page.get_by_role("slider", name=label)
    thumb.focus()
    for _ in range(presses):
        thumb.press(key)


@pytest.mark.browser
@pytest.mark.needs_data
def test_sweep_and_train_pages_in_the_browser_at_1280x720(tmp_path):
    """One server: the Sweep page with a defence (naive dashed, adaptive solid, flags with material icons), and
    the Train page with two students' sessions (one training, one told its place in the queue), both then
    cancelled. Screenshots in test-artifacts/sweep-*.png and train-*.png."""
    from bench.browser import browser_page, chromium_available, settle, streamlit_server
    from tests.conftest import ROOT
    if not chromium_available():
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    env = {"ADVLAB_STATE_DIR": str(tmp_path / "state"), "ADVCORE_USER_MODELS": str(tmp_path / "user-models")}
    with streamlit_server(env) as (url, _), browser_page() as page:
        page.set_viewport_size({"width": 1280, "height": 720})
        page.goto(f"{url}/sweep", timeout=180_000)
        form = page.locator('[data-testid="stForm"]').first
        form.wait_for(timeout=180_000)
        models = form.locator('[data-testid="stMultiSelect"]').first
        models.get_by_role("button", name="Clear all").click()  # then pick one model
        models.click()
        page.get_by_role("option", name="mnist-standard", exact=True).click()
        form.locator('[data-testid="stMultiSelect"]').nth(2).click()
        page.get_by_role("option", name="Bit-depth reduction", exact=False).click()
        page.keyboard.press("Escape")
        set_slider(page, "Eps values", 7)
        set_slider(page, "Test images", 45)
        settle(page)
        page.screenshot(path=str(artifacts / "sweep-form-1280x720.png"))
        form.get_by_role("button", name="Run sweep").click()
        chart = page.locator('[data-testid="stPlotlyChart"]').first  # the default sweep is drawn on opening:
        page.wait_for_function(  # wait for the defended run's lines, not any chart
            """() => document.querySelector('[data-testid="stMain"]').innerText.includes('bits:3 (bpda)')""",
            timeout=400_000)
        settle(page, 400_000)
        chart.scroll_into_view_if_needed()
        settle(page)
        page.screenshot(path=str(artifacts / "sweep-defence-1280x720.png"))
        text = page.locator('[data-testid="stMain"]').inner_text()
        assert "bits:3 (naive)" in text and "bits:3 (bpda)" in text, text[:2000]
        assert page.locator('[data-testid="stAlertDynamicIcon"]').count() > 0
        assert page.locator('[data-testid="stAlert"] [data-testid="stIconEmoji"]').count() == 0
        page.locator('[data-testid="stExpander"]').last.scroll_into_view_if_needed()
        settle(page)
        page.screenshot(path=str(artifacts / "sweep-flags-1280x720.png"))

        tabs = [page, page.context.browser.new_page()]
        for tab, name in zip(tabs, ("first", "second")):
            tab.set_viewport_size({"width": 1280, "height": 720})
            tab.goto(f"{url}/train", timeout=180_000)
            name_box = tab.get_by_label("Name")
            name_box.wait_for(timeout=180_000)
            name_box.fill(name)
            tab.get_by_role("button", name="Queue training").click()
        tabs[1].locator('[data-testid="stAlert"]', has_text="in line").wait_for(timeout=120_000)
        settle(tabs[1], 120_000)
        tabs[1].screenshot(path=str(artifacts / "train-queued-1280x720.png"))
        tabs[0].locator('[data-testid="stProgress"]').wait_for(timeout=120_000)
        tabs[0].locator('[data-testid="stPlotlyChart"]').first.wait_for(timeout=300_000)  # the first batches
        tabs[0].wait_for_function(CURVE_POINTS, arg=10, polling=200, timeout=300_000)  # a curve, not a dot
        settle(tabs[0], 120_000)
        tabs[0].screenshot(path=str(artifacts / "train-running-1280x720.png"))
        for tab in reversed(tabs):
            tab.get_by_role("button", name="Cancel").click()
            tab.locator('[data-testid="stAlert"]', has_text="cancelled").wait_for(timeout=120_000)
