"""Figure builders: the right traces on the right axes, the flip marked."""

import numpy as np
import pandas as pd

from advcore import viz


def test_two_axis_charts_put_accuracy_on_the_right_axis():
    fig = viz.training_curves([{"step": 1, "loss": 2.0, "train_accuracy": 0.3}])
    assert fig.data[-1].yaxis == "y2" and fig.layout.yaxis2.overlaying == "y"
    assert tuple(fig.layout.yaxis2.range) == (0, 1.02)
    assert len(viz.training_curves([]).data) == 0


def test_eps_curve_marks_the_flip_only_when_there_is_one():
    eps = np.linspace(0, 0.3, 4)
    flipped = viz.eps_curve(eps, [1, 0.8, 0.3, 0.1], [0, 0.2, 0.7, 0.9], 0.15)
    assert flipped.layout.shapes[0].x0 == 0.15 and "0.150" in flipped.layout.annotations[0].text
    assert not viz.eps_curve(eps, [1] * 4, [0] * 4, None).layout.shapes


def test_sweep_chart_one_sorted_line_per_model_and_attack():
    table = pd.DataFrame({"model": ["m", "m", "m"], "attack": ["pgd", "pgd", "fgsm"], "eps": [0.2, 0.0, 0.1],
                          "eps_255": [51.0, 0.0, 25.5], "robust_accuracy": [0.1, 0.99, 0.5],
                          "mean_l2": [2.0, 0.0, 1.0]})
    fig = viz.sweep_chart(table)
    assert [t.name for t in fig.data] == ["m · pgd", "m · fgsm"]
    assert list(fig.data[0].x) == [0.0, 0.2] and fig.data[1].line.dash == "dashdot"  # dashed: a naive defence line
    assert tuple(fig.layout.yaxis.range) == (0, 1.02)
    assert viz.sweep_chart(table, "mean_l2", "L2").layout.yaxis.range is None


def test_transfer_heatmap():
    matrix = pd.DataFrame([[0.9, 0.5], [0.4, 0.8]], index=["s1", "s2"], columns=["t1", "t2"])
    heat = viz.transfer_heatmap(matrix)
    assert heat.data[0].z.shape == (2, 2) and list(heat.data[0].y) == ["s1", "s2"]


def test_chart_text_is_readable_from_the_back():
    curve = viz.eps_curve([0, 0.1], [1, 0], [0, 1], 0.1)
    assert curve.layout.font.size >= 14
    assert curve.layout.xaxis.tickfont.size == curve.layout.yaxis.tickfont.size == curve.layout.legend.font.size == 14
    training = viz.training_curves([{"step": 1, "loss": 2.0, "train_accuracy": 0.3}])
    assert training.layout.yaxis2.tickfont.size == 14


def test_the_live_eps_curve_keeps_its_legend_in_fixed_margins():
    """A chart on Explore must not auto-expand its margins (Plotly then draws it twice)."""
    assert viz.eps_curve([0, 0.1], [1, 0], [0, 1], 0.1).layout.margin.autoexpand is False


def test_eps_curve_names_its_second_line():
    fig = viz.eps_curve([0, 0.1], [1, 0.2], [0, 0.7], 0.1, other_name="target 3: cat", flip_text="flips at 0.100")
    assert fig.data[1].name == "target 3: cat" and fig.layout.annotations[0].text == "flips at 0.100"


def test_eps_curve_ticks_in_grey_levels_for_linf():
    fig = viz.eps_curve(np.linspace(0, 32 / 255, 16), np.ones(16), np.zeros(16), None, ticks_255=True)
    assert list(fig.layout.xaxis.ticktext) == ["0/255", "4/255", "8/255", "12/255", "16/255", "20/255", "24/255",
                                               "28/255", "32/255"]
