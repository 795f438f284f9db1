"""Picture panels: the right images in the right order, the perturbation's colours signed and amplified, its
colour bar in true units, and text escaped."""

import base64
import io
import re

import numpy as np
import pytest
from PIL import Image

from advcore import pictures


def _images(markup: str) -> list[np.ndarray]:
    uris = re.findall(r'src="data:image/png;base64,([^"]+)"', markup)
    return [np.asarray(Image.open(io.BytesIO(base64.b64decode(u)))) for u in uris]


def _titles(markup: str) -> list[str]:
    return re.findall(r"<figcaption[^>]*>(.*?)</figcaption>", markup)


def test_triptych_shows_original_amplified_perturbation_and_adversarial():
    x = np.zeros((28, 28, 1), np.float32)
    x_adv = x.copy()
    x_adv[3, 4, 0] = 0.25
    markup = pictures.triptych(x, x_adv)
    assert _titles(markup) == ["original", "perturbation (x4.0)", "adversarial"]  # 0.25 amplified x4
    original, change, adversarial = _images(markup)
    assert original.shape == (28, 28) and adversarial[3, 4] == 64 and original[3, 4] == 0
    assert tuple(change[3, 4]) == tuple(pictures.DIVERGING[-1])  # the largest brightening: the reddest colour
    assert tuple(change[0, 0]) == (247, 247, 247)  # unchanged: white


def test_the_diverging_scale_is_blue_for_darker_and_red_for_brighter():
    blue, white, red = pictures.diverging_rgb(np.array([-1.0, 0.0, 1.0]))
    assert blue[2] > blue[0] and red[0] > red[2] and tuple(white) == (247, 247, 247)
    assert tuple(pictures.diverging_rgb(np.array([5.0]))[0]) == tuple(red)  # clipped to the scale


def test_perturbation_has_a_signed_colour_bar_in_true_units():
    x = np.full((8, 8, 1), 0.5, np.float32)
    x_adv = x.copy()
    x_adv[0, 0, 0], x_adv[1, 1, 0] = 0.6, 0.45  # +0.1 and -0.05
    panel = pictures.perturbation_panel(x, x_adv, "perturbation")
    assert panel.colour_bar == ("+0.100", "+0.050", "0", "−0.050", "−0.100")  # top (red) to bottom (blue)
    assert panel.title == ("perturbation (x10.0)",)
    markup = pictures.picture_row([panel])
    assert "linear-gradient(rgb(103,0,31)" in markup and markup.count("<span>") == 5


def test_unchanged_image_is_not_amplified():
    x = np.full((4, 4, 3), 0.5, np.float32)
    assert pictures.amplification(x - x) == 1.0
    assert pictures.perturbation_panel(x, x, "perturbation").colour_bar[0] == "0"
    assert _titles(pictures.triptych(x, x))[1] == "perturbation (x1.0)"


def test_triptych_without_the_original_and_two_line_titles():
    x = np.zeros((4, 4, 1), np.float32)
    markup = pictures.triptych(x, x + 0.1, (("",), ("perturbation",), ("adversarial", "3 (90.0%)")),
                               with_original=False)
    assert _titles(markup) == ["perturbation (x10.0)", "adversarial<br>3 (90.0%)"]
    assert len(_images(markup)) == 2


def test_colour_images_stay_colour_and_sizes_and_fonts_are_as_asked():
    x = np.zeros((32, 32, 3), np.float32)
    x[..., 0] = 1.0
    markup = pictures.triptych(x, x, size=300, font_size=18)
    assert _images(markup)[0].shape == (32, 32, 3) and tuple(_images(markup)[0][0, 0]) == (255, 0, 0)
    assert markup.count("width:300px") == 3 and "font-size:20px" in markup  # titles 2 px above the chart font
    assert "image-rendering:pixelated" in markup and markup.count('width="32" height="32"') == 3


@pytest.mark.parametrize("name", ['<script>alert(1)</script>', 'cat "quoted" & <b>bold</b>'])
def test_titles_from_user_class_names_are_escaped(name):
    markup = pictures.picture_row([pictures.image_panel(np.zeros((2, 2, 1)), "adversarial", name)])
    assert "<script>" not in markup and "<b>" not in markup
    assert 'alt="adversarial ' in markup and "&lt;" in markup
