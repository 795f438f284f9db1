"""Explore, Compare and Sweep in Chinese (issue 34): each page run with ``?lang=zh`` shows its headings, labels,
metrics, captions, chart texts and tables in Chinese and no English sentence (no run of three or more English
words outside model ids, attack names, acronyms, citations and paper titles); the English pages keep their
words. The parameter widgets' labels come from ``advcore.ui.param_labels``."""

import html
import re

import pytest

from advcore import attacks, defences, i18n
from advcore.ui import param_labels, widgets

from .english_text import CJK, english_runs
from .test_i18n_models import open_page, run, shown_texts

TAG = re.compile(r"<[^>]+>")
PAGES = {"explore": "pages/explore/explore.py", "compare": "pages/explore/compare.py",
         "sweep": "pages/explore/sweep.py"}


def test_english_runs_finds_sentences_and_passes_attack_names_and_papers():
    assert english_runs("the model answers 7") == ["the model answers"]
    assert english_runs("Transfer from another model") == ["Transfer from another model"]
    assert english_runs("Carlini & Wagner L2（最小扰动）：优化求出翻转类别的最小 L2 改变") == []
    assert english_runs(f"PGD：从随机起点迭代多步。*{attacks.ATTACKS['pgd'].paper}*") == []


def html_texts(at) -> list[str]:
    """The words of the page's HTML blocks (pictures, probability bars, attack trace): their visible text, and
    each ``alt`` and ``title`` attribute (the text alternatives)."""
    out = []
    for block in at.main.get("html"):
        source = block.proto.body
        out += [html.unescape(v) for v in re.findall(r'(?:alt|title)="([^"]*)"', source)]
        out += [html.unescape(t).strip() for t in TAG.split(source) if t.strip()]
    return out


def page_texts(at) -> list[str]:
    """Every text of the page a person reads: the main area's (``shown_texts``), the HTML blocks', the charts'
    text alternatives and Plotly titles, axes and legends, the widgets' options and the sidebar's server facts."""
    texts = shown_texts(at) + html_texts(at)
    for chart in at.main.get("plotly_chart"):
        texts.append(chart.proto.spec)  # the figure as JSON: titles, axis titles, trace names
    for kind in ("selectbox", "multiselect", "radio", "select_slider"):
        texts += [str(o) for w in at.main.get(kind) for o in w.options]
    texts += [e.label for e in at.sidebar.expander] + [c.value for e in at.sidebar.expander for c in e.caption]
    return [t for t in texts if t]


def assert_no_english(at) -> None:
    found = {text[:80]: runs for text in page_texts(at) if (runs := english_runs(_plotly_words(text)))}
    assert not found, found


def _plotly_words(text: str) -> str:
    """A Plotly figure's JSON reduced to its words (titles, trace names, annotation and hover texts)."""
    if not text.startswith("{"):
        return text
    return " · ".join(re.findall(r'"(?:text|name|hovertemplate)":\s*"((?:[^"\\]|\\.)*)"', text))


def chart_alternatives(at) -> list:
    label = i18n.gettext("The chart as text")
    return [e for e in at.main.expander if e.label == label]


@pytest.fixture(scope="module")
def zh_pages():
    return {name: open_page(path, "zh") for name, path in PAGES.items()}


def test_explore_in_chinese(zh_pages):
    at = zh_pages["explore"]
    assert at.title[0].value == "探索：一张图像，一种攻击"
    labels = {w.label for kind in ("selectbox", "radio", "select_slider") for w in at.main.get(kind)}
    assert {"数据集", "模型", "防御", "图像", "攻击", "目标", "epsilon（扰动预算）"} <= labels
    metrics = [m.label for m in at.main.get("metric")]
    assert metrics[:4] == ["原始预测", "对抗预测", "真实类别概率", "扰动的 L∞"] and all(CJK.search(m) for m in metrics)
    assert all(CJK.search(m.help) for m in at.main.get("metric"))  # the metrics' explanations
    assert any(c.value.startswith("**左：** 原图") for c in at.main.caption)
    with i18n.use_language("zh"):
        assert len(chart_alternatives(at)) == 1  # the eps curve's text alternative
    assert any("原图: " in t for t in html_texts(at)) and any("对抗预测" in t for t in html_texts(at))
    with i18n.use_language("zh"):
        assert_no_english(at)


def test_compare_in_chinese(zh_pages):
    at = zh_pages["compare"]
    assert at.title[0].value == "对比两个模型"
    assert {"模型 A", "模型 B"} <= {w.label for w in at.main.selectbox}
    assert [m.label for m in at.main.get("metric")][:2] == ["原始预测", "对抗预测"]
    assert any(c.value.startswith("两个模型拿到同一张图像") for c in at.main.caption)
    with i18n.use_language("zh"):
        assert_no_english(at)


@pytest.mark.needs_data
def test_sweep_in_chinese_with_its_charts_text_alternatives(zh_pages):
    at = zh_pages["sweep"]  # the default request is answered by the shipped sweep files: drawn at once
    assert at.title[0].value == "扫描：攻击强度与防御效果"
    assert at.subheader[0].value == "合理性检查"
    assert len(at.get("plotly_chart")) == 3
    with i18n.use_language("zh"):
        assert len(chart_alternatives(at)) == 3  # issue 32: every chart has one
    columns = list(at.main.dataframe[-1].value.columns)
    assert {"模型", "攻击", "鲁棒准确率", "攻击成功率"} <= set(columns)
    flags = [b.value for b in [*at.main.success, *at.main.warning, *at.main.info]]
    assert flags and all(CJK.search(f) for f in flags)
    with i18n.use_language("zh"):
        assert_no_english(at)


def test_english_pages_keep_their_words():
    at = open_page(PAGES["explore"], None)
    assert at.title[0].value == "Explore: one image, one attack"
    assert [m.label for m in at.main.get("metric")][:4] == ["clean prediction", "adversarial prediction",
                                                           "true-class probability", "L∞ of the change"]
    assert any(re.match(r"\*\*Left:\*\* the image \(test image 0 \((\d)\), true class \1\)\. \*\*Middle:\*\* what "
                        r"the attack changed", c.value) for c in at.main.caption)  # the digit: the data set's image 0
    assert {"Data set", "Model", "Defence", "Image", "Attack", "Target"} <= {
        w.label for kind in ("selectbox", "radio") for w in at.main.get(kind)}
    assert any(english_runs(text) for text in page_texts(at))  # the check the Chinese pages pass can fail
    at.switch_page(PAGES["compare"])
    run(at, None)
    assert at.title[0].value == "Compare two models" and {"Model A", "Model B"} <= {w.label for w in at.selectbox}
    at.switch_page(PAGES["sweep"])
    run(at, None)
    assert at.title[0].value == "Sweep: attack strength vs. defence effect"
    assert len(chart_alternatives(at)) == len(at.get("plotly_chart"))
    assert not any(CJK.search(t) for t in page_texts(at))


def test_every_parameter_widget_has_a_label_for_translation():
    params = {p for spec in (*attacks.ATTACKS.values(), *defences.DEFENCES.values()) for p in spec.params}
    for p in params:
        english = p.name.replace("_", " ") if p.kind == "bool" else p.name
        assert param_labels.LABELS.get(p.name) == english or p.name == "step_size", p.name
        with i18n.use_language("zh"):
            assert CJK.search(param_labels.label(p)) or p.name in ("eps", "sigma"), p.name


def test_attack_titles_keep_acronyms_and_translate_words():
    """Menus show ``widgets.attack_title``: the glossary's "PGD" (a method's name in prose) does not reach them,
    and a title in words ("Square Attack (black-box)") is in the reader's language."""
    with i18n.use_language("zh"):
        shown = {spec.title: widgets.attack_title(spec) for spec in attacks.ATTACKS.values()}
    assert shown["PGD"] == "PGD" and shown["FGSM / FGM"] == "FGSM / FGM"
    worded = {title: text for title, text in shown.items() if re.search(r"\b[a-z]{3,}", title)}
    assert worded and all(CJK.search(text) for text in worded.values()), worded
    assert all(widgets.attack_title(spec) == spec.title for spec in attacks.ATTACKS.values())  # English: as is


def test_explore_behind_a_defence_with_a_target_in_chinese():
    """The defence row, the defended metrics and their note, the targeted lines and the eps search's sentence."""
    at = open_page(PAGES["explore"], "zh")
    at.selectbox(key="explore_defence").set_value("bits")
    run(at, "zh")
    at.selectbox(key="explore_target").set_value(3)
    run(at, "zh")
    metrics = [m.label for m in at.main.get("metric")]
    assert metrics[0].startswith("原始预测 · 防御 bits") and "攻击" in metrics[1]
    assert any(m.value.startswith("有目标攻击：推向 **3**") for m in at.main.markdown)
    assert any("朴素" in c.value and "梯度掩蔽" in c.value for c in at.main.caption)  # the naive attack's warning
    with i18n.use_language("zh"):
        assert_no_english(at)


def test_a_minimal_attack_and_its_settings_in_chinese():
    """DeepFool's norm it needed, its settings' labels and help (from the registry's parameters), no eps curve."""
    at = open_page(PAGES["explore"], "zh")
    at.selectbox(key="attack").set_value("deepfool")
    run(at, "zh")
    assert any(box.value.startswith("DeepFool（最小扰动） 需要") or "DeepFool（最小扰动） 所需" in box.value
               for box in at.main.info)
    settings = {w.label: w.help for w in at.main.number_input if w.help}  # the attack's: they explain themselves
    assert set(settings) == {"步数", "越界量 (overshoot)"} and all(CJK.search(h) for h in settings.values())
    with i18n.use_language("zh"):
        assert_no_english(at)
