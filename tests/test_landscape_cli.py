"""`python -m advcore landscape`: the main CLI's subcommand (JSON grids, default radius, the gradient-sign first
direction, the PNG/HTML picture, one-line errors). Data-free: an untrained cnn-tiny stands in for a zoo model and
the images come from whatever test set `advcore.data` finds (the shipped sample without the data sets)."""

import json

import numpy as np
import pytest

from advcore import cli, data, landscape, zoo


@pytest.fixture
def tiny(monkeypatch, untrained_model):
    """`zoo.load` answers every id with the untrained cnn-tiny (MNIST-shaped)."""
    monkeypatch.setattr(zoo, "load", lambda model_id: untrained_model)
    return untrained_model


def run(capsys, *argv):
    code = cli.main(["landscape", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_json_has_nxn_loss_and_pred_at_the_default_radius(capsys, tiny):
    code, out, _ = run(capsys, "--dataset", "mnist", "--model", "tiny", "--index", "2", "--size", "9", "--json")
    assert code == 0
    result = json.loads(out)
    loss, pred = np.asarray(result["loss"]), np.asarray(result["pred"])
    assert loss.shape == (9, 9) and pred.shape == (9, 9)
    assert np.isfinite(loss).all() and pred.min() >= 0 and pred.max() <= 9
    assert result["radius"] == pytest.approx(data.info("mnist").budget) == pytest.approx(0.3)
    assert result["coords"][0] == pytest.approx(-0.3) and result["coords"][-1] == pytest.approx(0.3)
    assert result["index"] == 2 and result["model"] == "tiny"


def test_first_direction_is_the_sign_of_the_models_own_gradient(capsys, tiny):
    """The JSON grid equals a grid built by hand over (sign of the gradient at the image, random sign)."""
    split = data.load("mnist", "test")
    x, y = split.x[5], int(split.y[5])
    code, out, _ = run(capsys, "--dataset", "mnist", "--model", "tiny", "--index", "5", "--size", "7",
                       "--radius", "0.2", "--seed", "3", "--json")
    assert code == 0
    d1 = np.sign(landscape.input_gradient(tiny, x[None], [y]))[0]
    by_hand = landscape.grid(tiny, x, y, d1, landscape.random_direction(x.shape, 3), 0.2, 7)
    np.testing.assert_allclose(json.loads(out)["loss"], by_hand.loss, rtol=1e-4, atol=1e-5)
    flipped = landscape.grid(tiny, x, y, -d1, landscape.random_direction(x.shape, 3), 0.2, 7)
    assert not np.allclose(flipped.loss, by_hand.loss)  # the sign of the direction matters: the test can fail


def test_png_and_html_pictures(capsys, tiny, tmp_path):
    from PIL import Image
    png = tmp_path / "fig.png"
    code, out, _ = run(capsys, "--dataset", "mnist", "--model", "tiny", "--size", "11", "--out", str(png))
    assert code == 0 and "max loss" in out
    image = Image.open(png)
    assert image.format == "PNG" and image.size == (11 * 8 * 2 + 16, 11 * 8)
    html = tmp_path / "fig.html"
    assert run(capsys, "--dataset", "mnist", "--model", "tiny", "--size", "5", "--out", str(html))[0] == 0
    assert "plotly" in html.read_text()[:20000].lower()


@pytest.mark.parametrize("argv", [["--radius", "5"], ["--radius", "0"], ["--size", "1"], ["--index", "-1"],
                                  ["--out", "fig.svg"], ["--dataset", "cifar10"], ["--size", "x"]])
def test_bad_input_is_one_line_and_exit_2(capsys, tiny, argv):
    base = ["--dataset", "mnist", "--model", "tiny"]
    code, out, err = run(capsys, *base, *argv)
    assert code == 2 and not out
    assert err.startswith("error: ") and err.count("\n") == 1


def test_help_lists_the_subcommand(capsys):
    assert cli.main(["--help"]) == 0
    assert "landscape" in capsys.readouterr().out
