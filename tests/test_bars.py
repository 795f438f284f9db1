"""Class-probability bars (HTML): every class with its three bars at the right heights, the true class and the
target named, one arrow per prediction (one when they coincide), user class names escaped."""

import re

import numpy as np

from advcore import bars


def _labels(markup: str) -> list[str]:
    row = markup.rsplit('<div style="display:flex;gap:4px;margin:6px 0 0 56px">', 1)[1]
    return re.findall(r'line-height:1.2">(.*?)</(?:div|span)>', row)


def _heights(markup: str) -> list[float]:
    return [float(h) for h in re.findall(r'flex:0 1 12px;height:([0-9.]+)%', markup)]


def _marks(markup: str) -> list[str]:
    return re.findall(r'white-space:nowrap">([^<]*)</span><span style="align-self:center">▼', markup)


def test_bars_mark_the_true_class_and_show_the_noise_control():
    markup = bars.probability_bars(["a", "b", "c"], [0.8, 0.1, 0.1], [0.1, 0.7, 0.2], 0, [0.6, 0.2, 0.2])
    assert _labels(markup) == ["<b>a</b> (true)", "b", "c"]
    assert _heights(markup) == [80, 10, 60, 10, 70, 20, 10, 20, 20]  # per class: clean, adversarial, noise
    assert ">random noise, same budget</span>" in markup and ">adversarial</span>" in markup
    assert _marks(markup) == ["clean pred", "adv pred"]
    assert "align-items:flex-start" in markup and "align-items:center" in markup  # the first class's label inwards
    assert 'title="a: clean 80.0%, adversarial 10.0%, random noise, same budget 60.0%"' in markup


def test_one_arrow_when_clean_and_adversarial_predictions_coincide():
    markup = bars.probability_bars(["a", "b", "c"], [0.8, 0.1, 0.1], [0.6, 0.3, 0.1], 0)
    assert _marks(markup) == ["clean &amp; adv pred"]
    assert "bottom:calc(80.00% + 2px)" in markup  # above the taller of the two bars
    assert len(_heights(markup)) == 6  # no noise series


def test_bars_name_the_target_and_classes_that_look_like_numbers():
    markup = bars.probability_bars(["a", "b", "c"], [0.8, 0.1, 0.1], [0.1, 0.2, 0.7], 0, target=2)
    assert _labels(markup)[2] == "<i>c</i> (target)"
    digits = bars.probability_bars([str(i) for i in range(10)], np.eye(10)[7], np.eye(10)[3], 7)
    assert _labels(digits)[7] == "<b>7</b> (true)" and len(_labels(digits)) == 10


def test_probabilities_outside_0_1_are_clipped_and_text_is_large_enough():
    markup = bars.probability_bars(["a", "b"], [1.2, -0.1], [0.5, 0.5], 0, font_size=18, height=340)
    assert _heights(markup)[:2] == [100, 50] and "font-size:18px" in markup


def test_user_class_names_are_escaped():
    markup = bars.probability_bars(["<script>x</script>", 'a "b" & c'], [0.9, 0.1], [0.1, 0.9], 0)
    assert "<script>" not in markup and "&lt;script&gt;" in markup and "a &quot;b&quot; &amp; c" in markup


def test_long_class_names_are_slanted_not_broken_inside_words():
    short = bars.probability_bars([str(i) for i in range(10)], np.eye(10)[7], np.eye(10)[3], 7)
    assert "rotate(-35deg)" not in short  # digits stay level
    fashion = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
    markup = bars.probability_bars(fashion, np.eye(10)[9], np.eye(10)[5], 9, height=340, font_size=18)
    assert markup.count("rotate(-35deg)") == 10 and _labels(markup)[9] == "<b>Ankle boot</b> (true)"
    room = int(re.search(r'position:relative;height:(\d+)px"><span', markup).group(1))
    assert room >= 0.57 * 0.5 * 18 * len("Ankle boot (true)")  # the slanted names fit under the axis
    assert int(re.findall(r"position:relative;height:(\d+)px", markup)[0]) >= 80  # the axis keeps its room
