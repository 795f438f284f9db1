"""Explore behind a defence: the defence picker, the naive / adaptive switch, and the URL that holds both."""

import pytest

from advcore import links

from . import conftest
from .conftest import start

pytestmark = pytest.mark.needs_data  # shipped mnist-standard and the MNIST test set

# MNIST test image 0 (a 7) behind JPEG quality 60, PGD-10 at eps 0.3: the naive attack gets a zero gradient
# through the JPEG and leaves the 7; BPDA goes through it (docs/defences.md, jpeg:75:
# 99.5% naive, 0% BPDA on 200 images).
VIEW = dict(dataset="mnist", model="mnist-standard", image=0, attack="pgd", eps=0.3, steps=10, defence="jpeg:60")


@pytest.fixture(autouse=True)
def patient(monkeypatch):
    """A defended model's first run compiles its own attack loop: minutes on a busy 2-core CPU."""
    monkeypatch.setattr(conftest, "TIMEOUT", 900)


def tile(at, start_of_label):
    found = [m for m in at.metric if m.label.startswith(start_of_label)]
    assert found, [m.label for m in at.metric]
    return found[0]


def url(at) -> dict:
    return {k: (v[0] if isinstance(v, list) else v) for k, v in at.query_params.items()}


def test_jpeg_naive_pgd_holds_and_the_adaptive_switch_fools():
    at = start(links.explore_query(**VIEW, adaptive=False))
    assert not at.warning, [w.value for w in at.warning]
    assert at.selectbox(key="explore_defence").value == "jpeg"
    assert at.number_input(key="explore_def_jpeg_quality").value == 60
    clean, adv = tile(at, "clean prediction"), tile(at, "adversarial prediction")
    assert clean.label == "clean prediction · behind jpeg:60" and clean.value.startswith("7")
    assert adv.label == "adversarial prediction · naive attack"
    assert adv.value.startswith("7"), adv.value
    assert "still right" in str(adv.proto.delta)
    assert any("switch to **adaptive**" in c.value for c in at.caption)
    assert any("Without the defence, mnist-standard reads" in c.value for c in at.caption)

    at.segmented_control(key="explore_adaptive").set_value("adaptive").run()
    assert not at.exception, [e.value for e in at.exception]
    adv = tile(at, "adversarial prediction")
    assert adv.label == "adversarial prediction · adaptive: BPDA attack"
    assert not adv.value.startswith("7"), adv.value
    assert "fooled" in str(adv.proto.delta)
    assert url(at)["defence"] == "jpeg:60" and url(at)["adaptive"] == "true"

    at.selectbox(key="explore_defence").set_value("none").run()
    assert "defence" not in at.query_params and "adaptive" not in at.query_params
    assert tile(at, "clean prediction").label == "clean prediction"


def test_url_round_trip_of_defence_and_switch():
    """A link with a defence, a parameter off its default and the switch opens exactly that view, and the page
    writes the same values back."""
    query = links.explore_query(**VIEW, adaptive=True)
    at = start(query)
    assert at.selectbox(key="explore_defence").value == "jpeg"
    assert at.number_input(key="explore_def_jpeg_quality").value == 60
    assert at.segmented_control(key="explore_adaptive").value == "adaptive"
    assert tile(at, "adversarial prediction").label == "adversarial prediction · adaptive: BPDA attack"
    written = url(at)
    for key in ("defence", "adaptive", "dataset", "model", "image", "attack", "eps", "steps"):
        assert written[key] == query[key], (key, written, query)


def test_a_bad_defence_in_a_link_gives_a_message():
    at = start({"defence": "jpeg:500"})
    assert any("defence is refused" in w.value for w in at.warning), [w.value for w in at.warning]
    assert at.selectbox(key="explore_defence").value == "none"
