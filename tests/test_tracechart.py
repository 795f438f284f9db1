"""The attack trace as HTML: both lines on their own axes, ticks that cover the values, a hover per step."""

import base64
import re

import numpy as np
import pytest

from advcore import tracechart


def _svg(chart: str) -> str:
    return base64.b64decode(re.search(r'src="data:image/svg\+xml;base64,([^"]+)"', chart).group(1)).decode()


def _lines(chart: str) -> list[list[tuple[float, float]]]:
    return [[tuple(map(float, p.split(","))) for p in points.split()]
            for points in re.findall(r'<polyline points="([^"]*)"', _svg(chart))]


def test_loss_and_probability_are_drawn_on_their_own_axes():
    loss, prob = np.array([0.1, 0.5, 2.0]), np.array([0.9, 0.5, 0.1])
    chart = tracechart.attack_trace(loss, prob)
    loss_line, prob_line = _lines(chart)
    start, step = tracechart.nice_axis(0.0, 2.0)
    assert (start, step) == (0.0, 0.5)  # the loss axis runs 0 to 2 nats
    assert [x for x, _ in loss_line] == [0, 1, 2]
    assert [y for _, y in loss_line] == pytest.approx(1 - loss / 2.0, abs=1e-4)  # SVG y grows downwards
    assert [y for _, y in prob_line] == pytest.approx(1 - prob, abs=1e-4)  # probability: 0 to 1
    assert re.search(r'viewBox="-0.0200 -0.0\d+ 2.0400 1.0\d+"', _svg(chart))  # steps 0-2, values 0-1, a margin
    for label in ("cross-entropy (nats)", "probability", "step", "true-class cross-entropy (nats)",
                  "true-class probability"):
        assert label in chart


@pytest.mark.parametrize("low, high", [(0, 1.7), (0, 0.03), (0, 12.3), (-2.1, 0.4), (0, 0), (0, 250)])
def test_the_loss_axis_covers_the_values_in_four_round_steps(low, high):
    start, step = tracechart.nice_axis(low, high)
    assert start <= low and start + tracechart.TICKS * step >= high
    assert round(step / 10 ** np.floor(np.log10(step)), 6) in (1, 2, 2.5, 5)
    if high > low:  # no more than about twice the room the values need (round steps grow by 2x at most)
        assert tracechart.TICKS * step <= 2 * (high - start) + step


def test_each_step_has_a_hover_with_both_values():
    chart = tracechart.attack_trace([2.3, 1.0], [0.1, 0.75], prob_name="target-class probability")
    assert 'title="step 1: cross-entropy 1.000 nats, target-class probability 75.0%"' in chart
    assert chart.count('title="step ') == 2


def test_step_ticks_stay_few_and_whole():
    assert tracechart._step_ticks(20) == [0, 5, 10, 15, 20]
    assert tracechart._step_ticks(100) == [0, 20, 40, 60, 80, 100]
    assert tracechart._step_ticks(1) == [0, 1]


def test_non_finite_losses_are_left_out_and_names_escaped():
    chart = tracechart.attack_trace([np.nan, 1.0, np.inf, 0.5], [1, 0.5, 0.2, 0.1], prob_name="<b>p</b>")
    loss_line = _lines(chart)[0]
    assert [x for x, _ in loss_line] == [1, 3]
    assert "<b>p</b>" not in chart and "&lt;b&gt;p&lt;/b&gt;" in chart


def test_font_size_is_readable_from_the_back():
    assert 'font-size:14px' in tracechart.attack_trace([1, 0], [0, 1])
    assert 'font-size:18px' in tracechart.attack_trace([1, 0], [0, 1], font_size=18)
