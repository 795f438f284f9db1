"""Sweeps shipped beside the cards (models/<id>.sweep.json): reproducible, and ignored when stale."""

import json

import numpy as np
import pytest

from advcore import data, evaluate, shipped_sweeps, zoo

SWEEP_FILES = sorted(zoo.models_dir().glob("*.sweep.json"))
# One file per data set, the cheaper models (a CIFAR-10 airbench file alone takes a minute to recompute).
RECHECKED = [p for p in SWEEP_FILES if p.name in ("mnist-pgd.sweep.json", "fashion-standard.sweep.json",
                                                   "cifar10-small.sweep.json")]


@pytest.mark.needs_data
@pytest.mark.parametrize("path", RECHECKED, ids=lambda p: p.name)
def test_a_shipped_sweep_reproduces_within_one_point(path):
    content = json.loads(path.read_text())
    wanted = content["request"]
    split = data.load(wanted["dataset"], "test")
    assert shipped_sweeps.shipped_rows(content["model"], wanted) is not None, "stale or mismatched file"
    assert split.source == wanted["test_set"]
    model = zoo.load(content["model"])
    rows = [r for r in content["rows"] if r["attack"] == "pgd" and 0 < r["eps"] < max(wanted["eps"])]
    for row in (rows[0], rows[len(rows) // 2]):
        summary = evaluate.evaluate(model, split, "pgd", {"eps": row["eps"], "norm": wanted["norm"],
                                                          "steps": wanted["steps"]}, wanted["n"])
        assert abs(summary["robust_accuracy"] - row["robust_accuracy"]) <= 0.01, (row["eps"], summary)


def test_every_shipped_model_has_a_current_sweep_file():
    for card in zoo.list_cards():
        if card["shipped"]:
            content = json.loads(shipped_sweeps.path_of(card["id"]).read_text())
            assert content["weights_sha256"] == card["weights_sha256"], card["id"]


def _fake_shipped(tmp_path, monkeypatch, sha="abc"):
    monkeypatch.setenv(zoo.MODELS_DIR_ENV, str(tmp_path))
    split = data.Split("mnist", "test", np.zeros((10_000, 1, 1, 1), np.float32), np.zeros(10_000, np.int64),
                       tuple("0123456789"), "test source", True)
    wanted = shipped_sweeps.request(split, ["pgd"], "linf", 20, [0.0, 0.1], 500)
    (tmp_path / "m1.json").write_text(json.dumps({"id": "m1", "dataset": "mnist", "weights_sha256": sha}))
    rows = [{"model": "m1", "attack": "pgd", "eps": 0.0, "robust_accuracy": 0.9}]
    (tmp_path / "m1.sweep.json").write_text(json.dumps({"model": "m1", "weights_sha256": "abc", "request": wanted,
                                                        "rows": rows}))
    return split, wanted


def test_a_matching_file_is_served_without_loading_the_model(tmp_path, monkeypatch):
    split, wanted = _fake_shipped(tmp_path, monkeypatch)
    table, served, skipped = shipped_sweeps.sweep(["m1"], lambda i: pytest.fail("model loaded"), split, ["pgd"],
                                                  "linf", 20, [0.0, 0.1], 500)
    assert served == ["m1"] and not skipped and table["robust_accuracy"].tolist() == [0.9]


def test_a_file_for_other_weights_or_another_request_is_ignored(tmp_path, monkeypatch):
    split, wanted = _fake_shipped(tmp_path, monkeypatch, sha="retrained")
    assert shipped_sweeps.shipped_rows("m1", wanted) is None
    split, wanted = _fake_shipped(tmp_path, monkeypatch)
    assert shipped_sweeps.shipped_rows("m1", dict(wanted, steps=40)) is None
    assert shipped_sweeps.shipped_rows("m1", dict(wanted, test_set="shipped sample")) is None
