"""The Defences page (AppTest) and the CLI's --defence / --adaptive / certify on the shipped MNIST model."""

import json

import pytest

from tests.conftest import ROOT, TIMEOUT, metric

pytestmark = pytest.mark.needs_data


def test_defences_page_shows_naive_against_adaptive_and_a_certificate():
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(str(ROOT / "pages" / "defences" / "defences.py"), default_timeout=TIMEOUT).run()
    assert not at.exception, [e.value for e in at.exception]
    at.slider(key="def_n").set_value(20)
    at.number_input(key="def_steps").set_value(10)
    at.button[0].click().run()  # the "Attack" form button (bits:3 by default, BPDA recommended)
    assert not at.exception, [e.value for e in at.exception]
    naive = float(metric(at, "Naive attack").rstrip("%"))
    adaptive = float(metric(at, "Adaptive attack (bpda)").rstrip("%"))
    assert naive >= 80 and adaptive <= naive - 30
    assert any("obfuscated" in e.value for e in at.error)
    at.select_slider(key="cert_n").set_value(100)
    at.button[1].click().run()
    assert not at.exception, [e.value for e in at.exception]
    from advcore import data
    assert metric(at, "Smoothed prediction") == data.info("mnist").class_names[7]  # test image 0 is a 7
    assert float(metric(at, "Certified L2 radius")) > 0


def run_cli(capsys, *argv):
    from advcore import cli
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_evaluate_naive_and_bpda(capsys):
    common = ["evaluate", "--dataset", "mnist", "--model", "mnist-standard", "--attack", "pgd", "--eps", "0.3",
              "--steps", "20", "--n", "40", "--defence", "bits:3", "--json"]
    code, out, _ = run_cli(capsys, *common)
    naive = json.loads(out)
    code2, out2, _ = run_cli(capsys, *common, "--adaptive", "bpda")
    bpda = json.loads(out2)
    assert code == code2 == 0
    assert naive["defence"] == bpda["defence"] == "bits:3" and naive["adaptive"] == "none"
    assert bpda["adaptive"] == "bpda" and naive["robust_accuracy"] >= bpda["robust_accuracy"] + 0.3
    assert not naive["flags"][0]["ok"] and bpda["flags"][0]["ok"]


def test_cli_refuses_bad_defences(capsys):
    code, _, err = run_cli(capsys, "evaluate", "--dataset", "mnist", "--model", "mnist-standard", "--attack", "pgd",
                           "--eps", "0.3", "--n", "10", "--defence", "jpeg:101")
    assert code == 2 and "quality must be in [1, 100]" in err and "Traceback" not in err


def test_cli_certify(capsys):
    code, out, _ = run_cli(capsys, "certify", "--dataset", "mnist", "--model", "mnist-standard", "--sigma", "0.25",
                           "--n", "200", "--n0", "50", "--images", "10", "--json")
    report = json.loads(out)
    assert code == 0 and report["images"] == 10 and len(report["radius"]["per_image"]) == 10
    curve = report["certified_accuracy"]
    assert curve["0"] >= curve["0.5"] >= curve["1"] and curve["0"] == pytest.approx(report["clean_accuracy"])
    assert report["clean_accuracy"] + report["abstain_rate"] <= 1 + 1e-9 and report["clean_accuracy"] >= 0.8


def test_cli_sweep_behind_a_defence(capsys):
    common = ["sweep", "--dataset", "mnist", "--models", "mnist-standard", "--attack", "pgd", "--eps", "0,0.3",
              "--steps", "10", "--n", "20", "--defence", "jpeg:75", "--json"]
    rows = {}
    for mode in ("none", "bpda"):
        code, out, _ = run_cli(capsys, *common, "--adaptive", mode)
        assert code == 0
        rows[mode] = {r["eps"]: r for r in json.loads(out)["rows"]}
        assert all(r["defence"] == "jpeg:75" and r["adaptive"] == mode for r in rows[mode].values())
    assert rows["none"][0.3]["robust_accuracy"] >= rows["bpda"][0.3]["robust_accuracy"] + 0.3
