"""The Models page for students: readable rows from the cards (advcore.ui.model_table), "Your models" and the
browser upload (off unless ADVLAB_ALLOW_MODEL_UPLOAD=1), and the table of defences on the standard models.

The model_table tests use made-up cards; the page tests run the real page (AppTest) over the shipped cards
with a private user-models folder."""

import json
import time

import numpy as np
import pandas as pd
import pytest

from advcore import byo, zoo
from advcore.ui import model_table
from tests.conftest import APP, ROOT, TIMEOUT

CARD = {"id": "toy-pgd", "dataset": "mnist", "architecture": "cnn-tiny", "parameters": 1234, "shipped": True,
        "recipe": {"recipe": "pgd-at", "eps": 0.3, "training_attack": "PGD-10 linf, random start"},
        "results": {"clean_accuracy": 0.98, "clean": {"n": 500},
                    "robust": [{"attack": "pgd", "eps": 0.3, "steps": 40, "restarts": 1, "n": 500,
                                "robust_accuracy": 0.9},
                               {"attack": "fgsm", "eps": 0.3, "steps": None, "restarts": None, "n": 100,
                                "robust_accuracy": 0.95},
                               {"attack": "apgd-ce,apgd-dlr,square", "eps": 0.3, "steps": 100, "n": 100,
                                "robust_accuracy": 0.85}]}}
STANDARD = {"id": "toy-standard", "dataset": "cifar10", "recipe": {"recipe": "standard", "eps": 0.0},
            "results": {"clean_accuracy": 0.8, "robust": [
                {"attack": "pgd", "eps": 2 / 255, "steps": 40, "restarts": 1, "n": 200, "robust_accuracy": 0.2},
                {"attack": "pgd", "eps": 8 / 255, "steps": 40, "restarts": 1, "n": 200, "robust_accuracy": 0.0}]}}


def no_none(rows):
    return all(cell is not None and str(cell) not in ("None", "nan", "") for row in rows for cell in row.values())


def test_rows_are_text_from_the_card_with_no_none():
    rows = model_table.student_table([CARD, STANDARD, {"id": "bare"}])
    assert no_none(rows)
    pgd, standard, bare = rows
    assert pgd["Training"] == "adversarial training (PGD, Madry et al. 2018)"
    assert (pgd["Clean accuracy"], pgd["Robust accuracy (PGD)"], pgd["Worst case"]) == ("98.0%", "90.0%", "85.0%")
    assert pgd["Budget ε (L∞)"] == "76.5/255"
    # a standard model is judged at its data set's largest budget (CIFAR-10: 8/255), not the smaller one
    assert standard["Budget ε (L∞)"].startswith("8/255") and standard["Robust accuracy (PGD)"] == "0.0%"
    assert standard["Worst case"] == model_table.MISSING
    assert bare["Training"] == "not recorded on the card" and bare["Clean accuracy"] == model_table.MISSING
    assert no_none(model_table.results_rows(CARD)) and model_table.results_rows(CARD)[1]["Attack"] == "FGSM"


@pytest.mark.parametrize("recipe, words", [
    ("standard", "standard"), ("fgsm-rs", "fast adversarial training (FGSM + random start, Wong et al. 2020)"),
    ("trades", "TRADES (Zhang et al. 2019)"), ("user", "brought by a user (training not recorded)"),
    ("mixup-at", "recipe 'mixup-at' (see the card's details)")])
def test_training_in_plain_words(recipe, words):
    assert model_table.training_words({"recipe": {"recipe": recipe}}) == words


def test_card_fields_are_readable():
    fields = dict(model_table.card_fields(CARD))
    assert fields["Training attack"] == "PGD-10 linf, random start" and fields["Trained at ε"] == "76.5/255 (0.3)"
    assert fields["Worst case"].startswith("85.0% (worst of APGD-CE, APGD-DLR, SQUARE")
    assert fields["Clean accuracy"] == "98.0% on 500 test images"
    standard = dict(model_table.card_fields(STANDARD))
    assert standard["Worst case"] == "not measured" and "on 200 test images" in standard["Clean accuracy"]


def test_defence_table_naive_and_adaptive_on_an_untrained_model(untrained_model, random_batch):
    """bits:3 stops TensorFlow's gradient: the naive PGD (only its random start moves the image) leaves most
    images, BPDA and the undefended model's PGD do not."""
    x, y = random_batch
    y = untrained_model(x).numpy().argmax(1)  # every image "correct" for the untrained model
    plan = model_table.defence_plan(["bits:3", "median:2"])
    assert plan == [("none", "none"), ("bits:3", "bpda"), ("median:2", "none")]
    assert model_table.defence_cost(2, plan, 10) == 2 * (10 + 20 + 10)
    seen = []
    rows = model_table.defence_table({"tiny": untrained_model}, x[:16], y[:16], ["bits:3"],
                                     {"eps": 0.3, "steps": 5}, progress=seen.append)
    assert [r["defence"] for r in rows] == ["none", "bits:3"] and sum(seen) == 16 * 3
    bits = rows[1]
    assert bits["naive"] >= 0.5 and bits["adaptive"] < bits["naive"] and rows[0]["naive"] < bits["naive"]
    assert bits["masked"] == (bits["naive"] - bits["adaptive"] > 0.2) and not rows[0]["masked"]
    text = model_table.defence_rows(rows, 4)
    assert no_none(text) and text[1]["Adaptive attack"] == "BPDA"


# --- the page -----------------------------------------------------------------------------------

@pytest.fixture
def user_folder(tmp_path, monkeypatch):
    monkeypatch.setenv(zoo.USER_MODELS_ENV, str(tmp_path / "user-models"))
    monkeypatch.delenv(byo.UPLOAD_ENV, raising=False)
    zoo.forget()
    yield tmp_path / "user-models"
    zoo.forget()
    from advcore.ui import resources
    resources.model_cards.clear()  # the page's 10 s card cache must not list this test's user models later


def models_page():
    """The Models page run straight away (not Explore first: it loads and warms models)."""
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page("pages/models/models.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def frame_or_none(at, column: str) -> pd.DataFrame | None:
    """The first table on the page with this column (AppTest's tables carry no key)."""
    for element in [*at.table, *at.dataframe]:
        value = element.value.reset_index() if element.value.index.name else element.value
        if column in value.columns:
            return value
    return None


def frame(at, column: str) -> pd.DataFrame:
    found = frame_or_none(at, column)
    assert found is not None, f"no table with a column {column!r}"
    return found


def test_the_page_shows_one_readable_row_per_model_and_no_upload_by_default(user_folder):
    at = models_page()
    rows = frame(at, "Training")
    assert list(rows["Model"]) == [c["id"] for c in zoo.list_cards()]
    assert no_none(rows.to_dict("records"))
    assert rows["Training"].str.contains(r"^standard$|adversarial training|TRADES|distillation|user").all()
    assert any("not measured" in c.value for c in at.caption)
    assert any("accuracy of the column model on examples crafted against the row model" in c.value
               for c in at.caption)
    assert not at.get("file_uploader") and any(byo.UPLOAD_ENV in c.value for c in at.caption)
    assert any("No user models" in i.value for i in at.info)


def upload_errors(at) -> list[str]:
    """The upload's messages (the cards' sanity flags are st.error boxes too)."""
    return [e.value for e in at.error if e.value.startswith(("The model was not added", "Choose a .keras"))]


def test_upload_form_with_the_env_var_and_a_bad_file_gives_one_message(user_folder, monkeypatch):
    monkeypatch.setenv(byo.UPLOAD_ENV, "1")
    at = models_page()
    assert len(at.get("file_uploader")) == 1 and not any(byo.UPLOAD_ENV in c.value for c in at.caption)
    at.file_uploader(key="upload_file").set_value(("broken.keras", b"not a zip archive", "application/zip"))
    at.text_input(key="upload_id").set_value("my-upload")
    next(b for b in at.button if b.label == "Check and add").click().run()
    assert not at.exception, [e.value for e in at.exception]
    errors = upload_errors(at)
    assert len(errors) == 1 and "not a readable .keras archive" in errors[0] and "Traceback" not in errors[0]
    assert "the uploaded file" in errors[0] and "/tmp" not in errors[0]  # names the upload, not server paths
    assert not user_folder.exists() or not list(user_folder.glob("*.keras"))


@pytest.mark.needs_data  # measures the model on the test set
def test_an_uploaded_model_is_listed_under_your_models(user_folder, monkeypatch, tmp_path):
    monkeypatch.setenv(byo.UPLOAD_ENV, "1")
    path = tmp_path / "mine.keras"
    zoo.build("cnn-tiny", "mnist", seed=1).save(path)
    at = models_page()
    at.file_uploader(key="upload_file").set_value(("mine.keras", path.read_bytes(), "application/zip"))
    at.text_input(key="upload_id").set_value("my-upload")
    at.number_input(key="upload_n").set_value(20)
    next(b for b in at.button if b.label == "Check and add").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not upload_errors(at) and any("Added my-upload" in s.value for s in at.success)
    assert json.loads((user_folder / "my-upload.json").read_text())["source"]["command"] == "browser upload"
    assert "my-upload (user model)" in [s.value for s in at.subheader]
    assert "my-upload (user model)" in list(frame(at, "Training")["Model"])


@pytest.mark.needs_data
def test_defence_table_on_the_shipped_standard_mnist_model(user_folder):
    at = models_page()
    assert frame_or_none(at, "Naive PGD") is None  # nothing computed on page load
    at.multiselect(key="models_def_specs").set_value(["bits:3"])
    at.slider(key="models_def_n").set_value(20)
    at.number_input(key="models_def_steps").set_value(10)
    next(b for b in at.button if b.label == "Compute" and "models_def" in str(b.form_id)).click().run()
    assert not at.exception, [e.value for e in at.exception]
    rows = frame(at, "Naive PGD").set_index("Defence")
    assert list(rows["Model"]) == ["mnist-standard", "mnist-standard"]
    naive, adaptive = (float(rows.loc["bits:3", c].rstrip("%")) for c in ("Naive PGD", "Adaptive PGD"))
    assert naive >= 80 and adaptive <= naive - 30 and rows.loc["bits:3", "Hidden gradient?"].startswith("yes")
    assert float(rows.loc["none", "Naive PGD"].rstrip("%")) <= 20
    assert not at.get("plotly_chart")  # no certificate computed until asked
    at.multiselect(key="models_sigmas").set_value([0.25])
    at.slider(key="models_cert_images").set_value(10)
    at.select_slider(key="models_cert_n").set_value(100)
    next(b for b in at.button if b.label == "Certify").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.get("plotly_chart")) == 1 and any("mnist-standard, σ = 0.25: accuracy" in c.value
                                                    for c in at.caption)


def test_eps_text():
    assert model_table.eps_text(8 / 255) == "8/255 (0.0314)" and model_table.per_255(np.float32(0.1)) == "25.5/255"


@pytest.mark.browser
@pytest.mark.needs_data
def test_models_page_in_the_browser_at_1280x720(tmp_path):
    """The page at 1280x720 in headless Chromium with uploads on: the students' table above the fold with no
    'None', a damaged upload answered by one message, the defence table computed on request (20 images, 10 steps)
    and the certificates at the page's defaults (timed). Screenshots in
    test-artifacts/models-*.png."""
    from bench.browser import browser_page, chromium_available, settle, streamlit_server
    if not chromium_available():
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    bad = tmp_path / "broken.keras"
    bad.write_bytes(b"not a zip archive")
    env = {byo.UPLOAD_ENV: "1", zoo.USER_MODELS_ENV: str(tmp_path / "user-models")}
    with streamlit_server(env) as (url, _), browser_page() as page:
        page.set_viewport_size({"width": 1280, "height": 720})
        page.goto(f"{url}/models", timeout=180_000)
        table = page.locator('[data-testid="stTable"]').first
        table.wait_for(timeout=180_000)
        settle(page)  # the fonts too
        page.screenshot(path=str(artifacts / "models-1280x720.png"))
        box = table.bounding_box()
        assert box["x"] + box["width"] <= 1280 and box["y"] < 400, box  # every column in view, the table up top
        worst = table.get_by_text("Worst case").bounding_box()
        assert worst["x"] + worst["width"] <= 1280 and worst["y"] + worst["height"] <= 720, worst
        assert "None" not in table.inner_text()
        details = page.locator('[data-testid="stExpander"]', has_text="Details: mnist-pgd")
        details.locator("summary").click()
        details.get_by_text("Robust accuracy at 76.5/255").wait_for(timeout=30_000)
        details.scroll_into_view_if_needed()
        settle(page)  # the expander opened
        page.screenshot(path=str(artifacts / "models-details.png"))
        page.get_by_role("heading", name="Your models").scroll_into_view_if_needed()
        settle(page)
        page.screenshot(path=str(artifacts / "models-your-models.png"))
        page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(bad))
        page.get_by_label("Model id", exact=True).fill("my-upload")
        page.get_by_role("button", name="Check and add").click()
        error = page.locator('[data-testid="stAlert"]', has_text="The model was not added")
        error.wait_for(timeout=120_000)
        error.scroll_into_view_if_needed()
        settle(page)
        page.screenshot(path=str(artifacts / "models-upload-error.png"))
        assert "not a readable .keras archive" in error.inner_text() and "Traceback" not in page.content()
        assert "/tmp" not in error.inner_text()  # the message names the upload, not the server's files
        tables = page.locator('[data-testid="stTable"]')
        before = tables.count()
        form = page.locator('[data-testid="stForm"]', has_text="EOT draws")
        # the AppTest above checks the table's numbers at 20 images and 10 steps; here it is drawn in the browser
        # at the same size (the page's default, 100 images of PGD-20, costs a minute of CPU and checks nothing more)
        form.locator('[data-testid="stSlider"]', has_text="Test images").get_by_role("slider").press("Home")
        form.get_by_label("PGD steps").fill("10")
        form.get_by_role("button", name="Compute").click()
        done = tables.nth(before)  # the defence table, the page's next table
        done.wait_for(timeout=400_000)
        done.scroll_into_view_if_needed()
        settle(page)
        page.screenshot(path=str(artifacts / "models-defences.png"))
        assert page.get_by_text("PGD-10 at ε = 76.5/255 (0.3) on the first 20 test images").count() == 1
        started = time.perf_counter()
        page.get_by_role("button", name="Certify").click()  # the defaults: sigma 0.25 and 0.5, 50 images, n 500
        chart = page.locator('[data-testid="stPlotlyChart"]').last
        chart.wait_for(timeout=400_000)
        seconds = time.perf_counter() - started
        chart.scroll_into_view_if_needed()
        settle(page)
        page.screenshot(path=str(artifacts / "models-certified.png"))
        (artifacts / "models-certify-seconds.txt").write_text(f"{seconds:.1f}\n")


def test_certified_curves_of_an_untrained_model(untrained_model, random_batch):
    x, y = random_batch
    seen = []
    curves = model_table.certified_curves({"tiny": untrained_model}, x[:4], y[:4], [0.25], n=50, n0=10,
                                          radii=(0.0, 0.5), progress=seen.append)
    report = curves["tiny, σ = 0.25"]
    assert seen == [1] and set(report["certified_accuracy"]) == {"0", "0.5"}
    assert 0 <= report["certified_accuracy"]["0.5"] <= report["certified_accuracy"]["0"] <= 1
    assert model_table.max_radius(0.25, 1000) == pytest.approx(0.616, abs=1e-3)  # docs/defences.md: 0.616 at sigma 0.25
