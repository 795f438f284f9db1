"""The "panda" recipe of docs/models.md, every step, offline: a random-weight MobileNetV2 (224x224x3, 1,000
classes, softmax output, input scaling as a layer), an image set of generated photos with 1,000
class names, add-dataset, add-model --strip-softmax, an attack from the CLI, and the Explore page.
Pretrained weights cannot be fetched here; the architecture, sizes and steps are the recipe's."""

import json
import os

import keras
import numpy as np
import pytest
from keras import layers
from PIL import Image

from advcore import cli, data, imagesets, zoo
from bench.browser import browser_page, chromium_available, metric_value, settle, streamlit_server, wait_for_change

from . import conftest

# Minutes of CPU (a 224x224 MobileNetV2): kept out of the quick tier like the tests that need data.
pytestmark = pytest.mark.needs_data


@pytest.fixture(scope="module")
def recipe(tmp_path_factory):
    root = tmp_path_factory.mktemp("panda")
    env = pytest.MonkeyPatch()
    env.setenv(zoo.USER_MODELS_ENV, str(root / "user-models"))
    env.setenv(imagesets.USER_DATA_ENV, str(root / "user-data"))
    data.refresh_user_datasets()
    # step 1 (docs/models.md): the model, its [-1, 1] input scaling carried as a layer so eps stays in pixel units
    keras.utils.set_random_seed(0)
    base = keras.applications.MobileNetV2(weights=None, classes=1000)  # the recipe uses weights="imagenet"
    inputs = keras.Input((224, 224, 3))
    keras.Model(inputs, base(layers.Rescaling(2.0, offset=-1.0)(inputs))).save(root / "mobilenetv2.keras")
    # step 2: 1,000 class names, one per line, and a folder with one sub-folder per class
    (root / "imagenet_classes.txt").write_text("\n".join(f"class_{i}" for i in range(388)) + "\ngiant_panda\n"
                                               + "\n".join(f"class_{i}" for i in range(389, 1000)) + "\n")
    rng = np.random.default_rng(0)
    for folder, sizes in (("giant_panda", [(300, 400), (256, 256)]), ("class_7", [(500, 375)])):
        (root / "photos" / folder).mkdir(parents=True)
        for i, (h, w) in enumerate(sizes):
            Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(root / "photos" / folder / f"{i}.jpg")
    yield root
    env.undo()
    data.refresh_user_datasets()
    zoo.forget()


def test_the_panda_recipe_runs_step_by_step(recipe, capsys):
    assert cli.main(["add-dataset", "--name", "photos", "--images", str(recipe / "photos"),
                     "--classes", str(recipe / "imagenet_classes.txt"), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["shape"] == [224, 224, 3] and summary["classes"] == 1000 and summary["n_test"] == 3
    assert sorted(data.load("photos").y.tolist()) == [7, 388, 388]
    args = ["add-model", "--file", str(recipe / "mobilenetv2.keras"), "--dataset", "photos", "--id", "mobilenetv2",
            "--eval-n", "3", "--quiet"]
    assert cli.main(args) == 2
    assert "--strip-softmax" in capsys.readouterr().err
    assert cli.main(args + ["--strip-softmax", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["id"] == "mobilenetv2" and row["shipped"] is False
    assert any(k.startswith("pgd-20x1 @0.0157") for k in row)  # 4/255, the usual ImageNet budget
    assert cli.main(["attack", "--dataset", "photos", "--model", "mobilenetv2", "--index", "0", "--attack", "pgd",
                     "--eps", str(4 / 255), "--steps", "5", "--json"]) == 0
    attacked = json.loads(capsys.readouterr().out)
    assert attacked["linf_255"] <= 4 + 1e-3 and attacked["clean_label"] in data.info("photos").class_names


# What the first run of Explore drew: exceptions shown, the model picker's text (its shown value), the number of
# images in each picture row of st.html, and how many st.html elements hold the probability bars and the trace.
EXPLORE_VIEW = """() => {
  const htmls = [...document.querySelectorAll('[data-testid="stHtml"]')].map(h => h.innerHTML);
  const picker = document.querySelector('.st-key-model_photos');
  return {
    exceptions: [...document.querySelectorAll('[data-testid="stException"]')].map(e => e.innerText.slice(0, 300)),
    picker: picker ? picker.innerText + ' ' + [...picker.querySelectorAll('input')].map(i => i.value).join(' ') : '',
    pictures: htmls.filter(h => h.includes('advlab-pictures')).map(h => (h.match(/<img/g) || []).length),
    bars: htmls.filter(h => h.includes('advlab-bars')).length,
    trace: htmls.filter(h => h.includes('advlab-trace')).length,
  };
}"""


@pytest.mark.browser
@pytest.mark.needs_data  # slow tier: a real server compiling attacks for MobileNetV2
def test_the_user_model_runs_live_in_the_browser(recipe):
    """Explore opens on the user model at 224x224 (its picker, pictures, bars and trace, no exception) and its
    eps slider moves the attack: the one page load that compiles PGD for MobileNetV2, in the real server."""
    if not chromium_available():
        if os.environ.get("ADVCORE_REQUIRE_BROWSER") == "1":
            raise RuntimeError("ADVCORE_REQUIRE_BROWSER=1 but Chromium is not installed (apt-get install chromium)")
        pytest.skip("Chromium is not installed")
    if "mobilenetv2" not in [c["id"] for c in zoo.list_cards("photos")]:
        pytest.skip("needs the recipe test first")
    artifacts = conftest.ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    env = {zoo.USER_MODELS_ENV: str(recipe / "user-models"), imagesets.USER_DATA_ENV: str(recipe / "user-data")}
    with streamlit_server(env, timeout=300) as (url, _), browser_page() as page:
        page.set_viewport_size({"width": 1280, "height": 720})
        page.goto(f"{url}/?dataset=photos&model=mobilenetv2&eps=0.0157")
        page.wait_for_selector('[data-testid="stMetric"]:has-text("adversarial prediction")', timeout=900_000)
        settle(page, 300_000)  # the whole first run drawn: pictures, bars, trace, the eps curve
        page.screenshot(path=str(artifacts / "byo-224-explore.png"))
        view = page.evaluate(EXPLORE_VIEW)
        assert view["exceptions"] == [], view["exceptions"]
        assert "mobilenetv2 (user model)" in view["picker"], view["picker"]  # the picker holds the user model
        assert view["pictures"] == [3, 2]  # images, noise
        assert view["bars"] == 1  # the class probabilities
        assert view["trace"] == 1  # the attack trace
        page.locator('[data-testid="stSlider"] input[type="range"]').first.focus()
        latencies = []
        for _ in range(4):  # one grey level more per key press; wait for the new attack each time
            old = metric_value(page, "L∞ of the change")
            page.keyboard.press("ArrowRight")
            new, waited = wait_for_change(page, "L∞ of the change", old, timeout_s=300)
            latencies.append(round(waited * 1000))
        page.screenshot(path=str(artifacts / "byo-224-explore-moved.png"), full_page=True)
    (artifacts / "byo-224-timing.json").write_text(json.dumps({"eps_move_ms": latencies}) + "\n")
    assert float(new) == pytest.approx(8 / 255, abs=1e-3)  # 4/255 plus four grey levels
