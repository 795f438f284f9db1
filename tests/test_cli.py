"""The command line: good runs, JSON keys, and one clear line (exit 2) for bad input."""

import json
import os
import subprocess
import sys

import pytest

from advcore import cli, zoo

from .conftest import ROOT


@pytest.fixture
def models_env(tiny_zoo, monkeypatch):
    monkeypatch.setenv(zoo.MODELS_DIR_ENV, str(tiny_zoo))
    zoo.forget()
    yield tiny_zoo
    zoo.forget()


def run_main(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_evaluate_json_keys_and_pgd_beats_fgsm(models_env, capsys):
    common = ["evaluate", "--dataset", "mnist", "--model", "tiny-mnist", "--eps", "0.3", "--n", "300", "--json"]
    code, out, _ = run_main(capsys, *common, "--attack", "pgd", "--steps", "40")
    assert code == 0
    pgd = json.loads(out)
    for key in ("clean_accuracy", "robust_accuracy", "attack_success_rate", "max_linf", "mean_l2", "n", "seconds"):
        assert key in pgd
    assert pgd["n"] == 300 and pgd["robust_accuracy"] < 0.02 and pgd["max_linf"] <= 0.3 + 1e-6
    at_01 = [a if a != "0.3" else "0.1" for a in common]
    _, out, _ = run_main(capsys, *at_01, "--attack", "fgsm")
    _, out_pgd, _ = run_main(capsys, *at_01, "--attack", "pgd", "--steps", "40")
    assert json.loads(out)["robust_accuracy"] > json.loads(out_pgd)["robust_accuracy"] + 0.02


@pytest.mark.needs_data
def test_evaluate_flags_the_distilled_models_vanishing_gradient(capsys):
    """Naive PGD leaves the shipped distilled model near 100%; the JSON's gradient flag says why."""
    code, out, _ = run_main(capsys, "evaluate", "--dataset", "mnist", "--model", "mnist-distilled", "--attack", "pgd",
                            "--eps", "0.3", "--steps", "10", "--n", "100", "--json")
    report = json.loads(out)
    assert code == 0 and report["robust_accuracy"] > 0.8
    assert [f["ok"] for f in report["flags"] if f["check"] == "gradients"] == [False]


def test_attack_one_image_writes_png(models_env, capsys, tmp_path):
    out_png = tmp_path / "adv.png"
    code, out, _ = run_main(capsys, "attack", "--dataset", "mnist", "--model", "tiny-mnist", "--index", "3",
                            "--attack", "pgd", "--eps", "0.2", "--target", "5", "--out", str(out_png), "--json")
    result = json.loads(out)
    assert code == 0 and out_png.stat().st_size > 0
    assert result["linf"] <= 0.2 + 1e-6 and result["label"] == 0


def test_sweep_writes_csv(models_env, capsys, tmp_path):
    csv = tmp_path / "sweep.csv"
    code, out, _ = run_main(capsys, "sweep", "--dataset", "mnist", "--models", "tiny-mnist", "--attack", "fgsm",
                            "--eps", "0,0.1,0.2", "--n", "100", "--csv", str(csv), "--quiet")
    assert code == 0 and len(csv.read_text().splitlines()) == 4


def test_zoo_lists_cards(models_env, capsys):
    code, out, _ = run_main(capsys, "zoo", "--json")
    assert code == 0 and json.loads(out)[0]["id"] == "tiny-mnist"


BAD = [
    (["evaluate", "--model", "tiny-mnist", "--attack", "pgd", "--eps", "-0.1"], "eps"),
    (["evaluate", "--model", "tiny-mnist", "--attack", "pgd", "--eps", "nan"], "finite"),
    (["evaluate", "--model", "tiny-mnist", "--attack", "pgd", "--eps", "inf"], "finite"),
    (["evaluate", "--model", "tiny-mnist", "--attack", "pgd", "--eps", "1.5"], "eps"),
    (["evaluate", "--model", "tiny-mnist", "--attack", "pgd", "--eps", "0.1", "--steps", "0"], "steps"),
    (["evaluate", "--model", "tiny-mnist", "--attack", "pgd", "--eps", "0.1", "--steps", "1000000000"], "steps"),
    (["evaluate", "--model", "nope", "--attack", "pgd", "--eps", "0.1"], "unknown model"),
    (["evaluate", "--model", "../../etc/passwd", "--attack", "pgd", "--eps", "0.1"], "invalid model id"),
    (["evaluate", "--model", "tiny-mnist", "--attack", "pgd", "--eps", "0.1", "--n", "lots"], "--n: must"),
    (["attack", "--model", "tiny-mnist", "--attack", "pgd", "--eps", "0.1", "--index", "99999"], "index"),
    (["attack", "--model", "tiny-mnist", "--attack", "pgd", "--eps", "0.1", "--index", "x"], "index"),
    (["attack", "--model", "tiny-mnist", "--attack", "pgd", "--eps", "0.1", "--index", "0", "--target", "7"],
     "different from the true class"),
    (["attack", "--model", "tiny-mnist", "--attack", "pgd", "--eps", "0.1", "--index", "0", "--target", "12"],
     "target"),
    (["attack", "--model", "tiny-mnist", "--attack", "noise", "--eps", "0.1", "--index", "0", "--target", "1"],
     "no targeted mode"),
]


@pytest.mark.parametrize("argv,message", BAD)
def test_bad_input_one_line_exit_2(models_env, capsys, argv, message):
    argv = [argv[0], "--dataset", "mnist", *argv[1:]]
    code, out, err = run_main(capsys, *argv)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in err


def test_real_process_help_and_bad_dataset(models_env):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    ok = subprocess.run([sys.executable, "-m", "advcore", "evaluate", "--help"], capture_output=True, text=True,
                        cwd=ROOT, env=env, timeout=120)
    assert ok.returncode == 0 and "--eps" in ok.stdout and "--restarts" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "advcore", "evaluate", "--dataset", "mnist", "--model", "tiny-mnist",
                          "--attack", "pgd", "--eps", "-1", "--json"], capture_output=True, text=True, cwd=ROOT,
                         env=env, timeout=120)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and bad.stderr.strip().startswith("error:")


def test_worst_case_over_attacks(models_env, capsys):
    base = ["evaluate", "--dataset", "mnist", "--model", "tiny-mnist", "--eps", "0.05", "--n", "200", "--json"]
    code, out, err = run_main(capsys, *base, "--attack", "fgsm,pgd,square", "--steps", "10", "--queries", "50")
    assert code == 0, err
    result = json.loads(out)
    assert set(result["per_attack"]) == {"fgsm", "pgd", "square"}
    assert result["robust_accuracy"] <= min(result["per_attack"].values())


@pytest.mark.parametrize("argv,message", [
    (["--attack", "pgd,nope"], "unknown attack"),
])
def test_bad_attack_lists(models_env, capsys, argv, message):
    code, _, err = run_main(capsys, "evaluate", "--dataset", "mnist", "--model", "tiny-mnist", "--eps", "0.1", *argv)
    assert code == 2 and message in err


@pytest.mark.parametrize("argv,unused", [
    (["--attack", "fgsm", "--seed", "0", "--steps", "5"], "--seed, --steps"),
    (["--attack", "fgsm,pgd", "--queries", "5"], "--queries"),
])
def test_flags_an_attack_does_not_use_warn_then_run(models_env, capsys, argv, unused):
    code, out, err = run_main(capsys, "evaluate", "--dataset", "mnist", "--model", "tiny-mnist", "--eps", "0.1",
                              "--n", "20", "--json", *argv)
    assert code == 0, err
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert warnings and unused in warnings[0]
    assert json.loads(out)["n"] == 20


def test_train_flags_come_from_trainconfig():
    from dataclasses import MISSING, fields

    from advcore.cli import build_parser
    from advcore.train import TrainConfig
    args = build_parser().parse_args(["train", "--id", "nan", "--dataset", "mnist", "--arch", "cnn-tiny"])
    for f in fields(TrainConfig):
        if f.default is not MISSING:
            assert getattr(args, f"train_{f.name}") == f.default, f.name
    assert args.train_model_id == "nan"  # a name that reads as a number is still a name
