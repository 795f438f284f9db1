"""The CLI and the library's messages in Chinese (issue 34): the locale decides the language of every message for
people (help, errors, summaries); flags, subcommands and JSON keys stay English; library errors are translated
where they are raised, in the current language."""

import json
import os
import re
import subprocess
import sys

import pytest

from advcore import cli, i18n, zoo
from advcore.attacks.base import check_eps
from advcore.errors import AdvcoreError
from advcore.settings import SettingsError, settings

from .conftest import ROOT

CHINESE = re.compile(r"[\u4e00-\u9fff]")
LOCALE_VARS = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")


@pytest.fixture
def locale(monkeypatch):
    """``locale("zh_CN.UTF-8")`` makes that the process's only locale variable (as a shell's ``LANG=...``)."""
    def use(value):
        for var in LOCALE_VARS:
            monkeypatch.delenv(var, raising=False)
        monkeypatch.setenv("LANG", value)
    return use


def run_main(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_real_process_help_follows_lang_and_keeps_flags_english():
    env = {k: v for k, v in os.environ.items() if k not in LOCALE_VARS}
    env.update(TF_CPP_MIN_LOG_LEVEL="3", LANG="zh_CN.UTF-8")
    zh = subprocess.run([sys.executable, "-m", "advcore", "evaluate", "--help"], capture_output=True, text=True,
                        cwd=ROOT, env=env, timeout=180)
    assert zh.returncode == 0, zh.stderr
    assert zh.stdout.startswith("用法：python -m advcore evaluate")
    assert "显示此帮助信息并退出" in zh.stdout
    assert "测试图像数（前 N 张）" in zh.stdout  # --n's help
    for flag in ("--dataset", "--model", "--attack", "--eps", "--restarts", "--defence", "--json", "--quiet"):
        assert flag in zh.stdout, flag
    assert "usage:" not in zh.stdout and "show this help" not in zh.stdout


@pytest.mark.parametrize("lang, expected, absent", [
    ("zh_CN.UTF-8", ["用法：", "选项", "显示此帮助信息并退出", "对抗攻击与鲁棒性。", "攻击一张测试图像"], ["usage:"]),
    ("C", ["usage: python -m advcore", "options:", "show this help message and exit",
           "Adversarial attacks and robustness.", "attack one test image"], ["用法"]),
])
def test_help_in_the_locales_language(capsys, locale, lang, expected, absent):
    locale(lang)
    code, out, _ = run_main(capsys, "--help")
    assert code == 0
    for text in expected:
        assert text in out, text
    for text in absent:
        assert text not in out, text
    assert "{zoo,attack,evaluate" in out  # subcommand names stay English


def test_subcommand_help_translates_registry_parameters(capsys, locale):
    locale("zh_CN.UTF-8")
    code, out, _ = run_main(capsys, "sweep", "--help")
    assert code == 0
    assert "--random-start" in out and "从 eps 球内均匀随机的一点出发" in out
    assert "逗号分隔的 eps 值" in out  # sweep's own --eps help


BAD = [  # (argv after the dataset, Chinese fragment, English fragment): library and CLI errors, one line each
    (["evaluate", "--model", "nope", "--attack", "pgd", "--eps", "0.1"],
     "未知的模型 'nope'", "unknown model 'nope'; `python -m advcore zoo` lists the models"),
    (["evaluate", "--model", "../x", "--attack", "pgd", "--eps", "0.1"],
     "无效的模型 id '../x'", "invalid model id '../x'"),
    (["evaluate", "--model", "nope", "--attack", "pgd", "--eps", "1.5"],
     "eps 必须是 [0, 1] 内的数", "eps must be a number in [0, 1] for linf (pixel units), got 1.5"),
    (["evaluate", "--model", "nope", "--attack", "pgd", "--eps", "0.1", "--steps", "0"],
     "steps 必须在 [1, 1000] 内", "steps must be in [1, 1000] iterations, got 0"),
    (["evaluate", "--model", "nope", "--attack", "pgd,nope", "--eps", "0.1"],
     "未知的攻击 'nope'", "unknown attack 'nope'; choose one of: "),
    (["evaluate", "--model", "nope", "--attack", "pgd", "--eps", "0.1", "--n", "lots"],
     "必须是整数，收到的是 'lots'", "must be a whole number, got 'lots'"),
]


@pytest.mark.parametrize("argv, chinese, english", BAD)
def test_an_error_is_one_line_in_the_locales_language(capsys, locale, argv, chinese, english):
    argv = [argv[0], "--dataset", "mnist", *argv[1:]]
    locale("zh_CN.UTF-8")
    code, _, err = run_main(capsys, *argv)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert err.startswith("错误：") and chinese in err, err
    locale("C")
    code, _, err = run_main(capsys, *argv)
    assert code == 2 and err.startswith("error: ") and english in err and not CHINESE.search(err), err


def test_main_leaves_the_callers_language_alone(capsys, locale):
    locale("zh_CN.UTF-8")
    run_main(capsys, "--help")
    assert i18n.current_language() == "en"


def test_zoo_json_is_the_same_in_both_languages(capsys, locale):
    outputs = {}
    for lang in ("zh_CN.UTF-8", "C"):
        locale(lang)
        code, out, _ = run_main(capsys, "zoo", "--json")
        assert code == 0
        outputs[lang] = json.loads(out)
    assert outputs["zh_CN.UTF-8"] == outputs["C"] and outputs["C"]


def _keys(value):
    """Every key path of a JSON value (list items share their paths)."""
    if isinstance(value, dict):
        return {(k, *p) for k, v in value.items() for p in _keys(v) | {()}}
    if isinstance(value, list):
        return set().union(*map(_keys, value)) if value else set()
    return set()


@pytest.fixture
def tiny_models(tiny_zoo, monkeypatch):
    monkeypatch.setenv(zoo.MODELS_DIR_ENV, str(tiny_zoo))
    zoo.forget()
    yield tiny_zoo
    zoo.forget()


def test_evaluate_json_keys_are_english_in_both_languages(tiny_models, capsys, locale):
    argv = ["evaluate", "--dataset", "mnist", "--model", "tiny-mnist", "--attack", "fgsm", "--eps", "0.1", "--n", "20",
            "--json"]
    reports = {}
    for lang in ("zh_CN.UTF-8", "C"):
        locale(lang)
        code, out, err = run_main(capsys, *argv)
        assert code == 0, err
        reports[lang] = json.loads(out)
    assert _keys(reports["zh_CN.UTF-8"]) == _keys(reports["C"])
    assert {"clean_accuracy", "robust_accuracy", "flags"} <= set(reports["C"])
    assert reports["zh_CN.UTF-8"]["robust_accuracy"] == reports["C"]["robust_accuracy"]


def test_sweep_table_headings_follow_the_locale_and_the_csv_stays_english(tiny_models, capsys, locale, tmp_path):
    locale("zh_CN.UTF-8")
    csv = tmp_path / "sweep.csv"
    code, out, err = run_main(capsys, "sweep", "--dataset", "mnist", "--models", "tiny-mnist", "--attack", "fgsm",
                              "--eps", "0,0.1", "--n", "50", "--csv", str(csv), "--quiet")
    assert code == 0, err
    heading = out.splitlines()[0].split()
    assert heading[:2] == ["模型", "攻击"] and "干净准确率" in heading and "鲁棒准确率" in heading
    assert csv.read_text().splitlines()[0].startswith("model,attack,") and "tiny-mnist" in out
    code, out, err = run_main(capsys, "evaluate", "--dataset", "mnist", "--model", "tiny-mnist", "--attack", "fgsm",
                              "--eps", "0.1", "--n", "50", "--quiet")
    assert code == 0, err
    assert out.startswith("tiny-mnist 受 fgsm {'eps': 0.1}：干净准确率 ") and "鲁棒准确率" in out


def test_library_errors_are_raised_in_the_current_language(monkeypatch):
    with i18n.use_language("zh"):
        with pytest.raises(AdvcoreError, match=r"^对 linf，eps 必须是 \[0, 1\] 内的数（像素单位），收到的是 2\.0$"):
            check_eps(2.0)
        with pytest.raises(AdvcoreError, match="未知的模型 'nope'"):
            zoo.card("nope")
        monkeypatch.setenv("ADVLAB_MAX_STEPS", "5000")
        with pytest.raises(SettingsError, match=r"^ADVLAB_MAX_STEPS：必须是1 到 1,000 之间的整数（收到的是 '5000'）$"):
            settings()
    with pytest.raises(AdvcoreError, match=r"^eps must be a number in \[0, 1\] for linf \(pixel units\), got 2\.0$"):
        check_eps(2.0)
    with pytest.raises(SettingsError, match=r"^ADVLAB_MAX_STEPS: must be an integer from 1 to 1,000 \(got '5000'\)$"):
        settings()


def test_real_process_settings_error_follows_lang():
    """``python -m advcore`` checks the settings before the CLI starts: that line follows the locale too."""
    env = {k: v for k, v in os.environ.items() if k not in LOCALE_VARS}
    for lang, line in (("zh_CN.UTF-8", "错误：ADVLAB_WARM：必须是0 或 1（收到的是 'maybe'）"),
                       ("C", "error: ADVLAB_WARM: must be 0 or 1 (got 'maybe')")):
        done = subprocess.run([sys.executable, "-m", "advcore", "zoo", "--json"], capture_output=True, text=True,
                              cwd=ROOT, env=dict(env, LANG=lang, ADVLAB_WARM="maybe"), timeout=120)
        assert (done.returncode, done.stdout, done.stderr.strip()) == (2, "", line)
