"""Models, Train and Defences in Chinese (issue 34): each page run with ``?lang=zh`` shows its headings, labels
and tables in Chinese and no English sentence (no run of three or more English words outside model ids,
acronyms, citations, paper titles and commands); the English pages keep their words. What cards and training
jobs store in English (sanity flags, a caveat, why a run failed) is read back in the reader's language
(``advcore.ui.model_table_notes``)."""

import json

import pytest

from advcore import defences, i18n, train_runner
from advcore.ui import model_table, model_table_notes

from .conftest import APP, ROOT, TIMEOUT
from .english_text import CJK, english_runs

STANDARD_COLUMNS = ["Model", "Data set", "Training", "Clean accuracy", "Budget ε (L∞)", "Robust accuracy (PGD)",
                    "Worst case"]
STANDARD_COLUMNS_ZH = ["模型", "数据集", "训练方式", "干净准确率", "预算 ε（L∞）", "鲁棒准确率（PGD）", "最坏情况"]


def test_english_runs_finds_sentences_and_passes_ids_acronyms_and_papers():
    assert english_runs("the model did not learn") == ["the model did not learn"]
    assert english_runs("模型 mnist-standard 在 PGD-40 攻击下为 0.0%（BPDA + EOT）") == []
    assert english_runs("（Wong et al. 2020；*Obfuscated Gradients Give a False Sense of Security*）") == []
    assert english_runs(f"位深度降低 — {defences.DEFENCES['bits'].paper}") == []
    assert english_runs("用 `python -m advcore train` 训练") == [] and english_runs("Data set") == []


def shown_texts(at) -> list[str]:
    """Every text of the page's main area a person reads: headings, prose, messages, expander and widget labels
    and help, metrics, table headers and cells (the sidebar is the navigation's, tested with it)."""
    main = at.main
    texts = [e.value for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning",
                                  "error", "success") for e in getattr(main, kind)]
    texts += [e.label for e in main.expander] + [m.label for m in main.get("metric")]
    for kind in ("selectbox", "multiselect", "slider", "select_slider", "number_input", "text_input", "checkbox",
                 "button", "file_uploader"):
        for widget in main.get(kind):
            texts += [widget.label] + ([widget.help] if getattr(widget, "help", None) else [])
    for table in [*main.table, *main.dataframe]:
        frame = table.value
        texts += [str(c) for c in [frame.index.name, *frame.columns] if c]
        texts += [str(cell) for cell in frame.to_numpy().ravel()]
    return [t for t in texts if t]


def chart_texts(at, lang: str) -> set[str]:
    """What ``advcore.ui.a11y`` writes under each chart, its label included (the Explore area's words, tested
    with them)."""
    with i18n.use_language(lang):
        label = i18n.gettext("The chart as text")
    return {text for e in at.main.expander if e.label == label for text in [e.label, *(c.value for c in e.caption)]}


def assert_no_english(at, lang: str = "zh") -> None:
    shared = chart_texts(at, lang)
    found = {text[:80]: runs for text in shown_texts(at) if text not in shared and (runs := english_runs(text))}
    assert not found, found


def open_page(page: str, lang: str | None):
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    if lang:
        at.query_params["lang"] = lang
    at.switch_page(page)
    return run(at, lang)


def run(at, lang: str | None):
    """Run (or rerun) ``at``. AppTest formats the options of a widget with ``format_func`` in the test's own
    thread, so that thread must be in the page's language for a select's value to travel back."""
    with i18n.use_language(lang or i18n.DEFAULT_LANGUAGE):
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def table_columns(at) -> list[list[str]]:
    return [[frame.value.index.name, *frame.value.columns] for frame in at.main.table]


def test_models_page_in_chinese():
    at = open_page("pages/models/models.py", "zh")
    assert at.title[0].value == "模型"
    assert [h.value for h in at.header] == ["你的模型", "迁移矩阵", "标准模型上的防御"]
    assert [h.value for h in at.subheader][-1] == "平滑后标准模型的认证准确率"
    assert STANDARD_COLUMNS_ZH in table_columns(at)
    assert all(CJK.search(e.label) for e in at.main.expander)
    flags = [m.value for m in [*at.main.success, *at.main.error]]
    assert flags and all(CJK.search(flag) for flag in flags)  # the cards' sanity flags, stored in English
    assert {b.label for b in at.main.button} >= {"计算", "认证"}
    assert_no_english(at)


@pytest.mark.needs_data
def test_models_page_computes_its_defence_table_and_certificates_in_chinese():
    at = open_page("pages/models/models.py", "zh")
    at.multiselect(key="models_def_specs").set_value(["bits:3"])
    at.slider(key="models_def_n").set_value(20)
    at.number_input(key="models_def_steps").set_value(10)
    next(b for b in at.button if b.label == "计算" and "models_def" in str(b.form_id)).click()
    run(at, "zh")
    rows = next(t.value for t in at.main.table if t.value.index.name == "模型" and "朴素 PGD" in t.value.columns)
    assert list(rows.columns) == ["防御", "干净准确率", "朴素 PGD", "自适应 PGD", "自适应攻击", "梯度被隐藏？"]
    assert list(rows["梯度被隐藏？"]) == ["否", "是"] and list(rows["自适应攻击"]) == ["没有需要适应的防御", "BPDA"]
    at.multiselect(key="models_sigmas").set_value([0.25])
    at.slider(key="models_cert_images").set_value(10)
    at.select_slider(key="models_cert_n").set_value(100)
    next(b for b in at.button if b.label == "认证").click()
    run(at, "zh")
    figure = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert figure["layout"]["xaxis"]["title"]["text"] == "L2 半径（像素单位）"
    assert any(c.value.startswith("mnist-standard, σ = 0.25：准确率") for c in at.caption)
    assert_no_english(at)


def test_models_page_in_english_keeps_its_words():
    at = open_page("pages/models/models.py", None)
    assert at.title[0].value == "Models"
    assert [h.value for h in at.header] == ["Your models", "Transfer matrix", "Defences on the standard models"]
    assert STANDARD_COLUMNS in table_columns(at)
    assert any(e.label.startswith("Details: mnist-standard — standard") for e in at.main.expander)
    assert not any(CJK.search(text) for text in shown_texts(at))


@pytest.mark.needs_data
def test_defences_page_in_chinese_with_its_outcome_and_certificate():
    at = open_page("pages/defences/defences.py", "zh")
    assert at.title[0].value == "防御：真正的鲁棒性，还是隐藏的梯度？"
    assert at.header[0].value == "一种认证：随机平滑"
    assert at.multiselect[0].label == "防御（按此顺序应用）"
    at.button[0].click()  # "攻击": bits:3 by default, BPDA recommended
    run(at, "zh")
    assert at.subheader[0].value.startswith("mnist-standard 加防御 bits:3，PGD 攻击")
    assert [m.label for m in at.main.get("metric")][:4] == ["干净准确率，无防御", "干净准确率，有防御", "朴素攻击",
                                                         "自适应攻击（bpda）"]
    assert any(e.value.startswith("**朴素攻击对比自适应攻击**：朴素攻击后准确率仍为") for e in at.error)
    at.button[1].click()  # "认证"
    run(at, "zh")
    assert any(m.label in ("平滑后的预测", "认证 L2 半径") for m in at.main.get("metric")) or at.warning
    assert_no_english(at)


@pytest.mark.needs_data
def test_defences_page_in_english_keeps_its_words():
    at = open_page("pages/defences/defences.py", None)
    at.button[0].click()
    run(at, None)
    assert at.subheader[0].value.startswith("mnist-standard behind bits:3, PGD at eps")
    assert [m.label for m in at.main.get("metric")][:4] == ["Clean, no defence", "Clean, defended", "Naive attack",
                                                         "Adaptive attack (bpda)"]
    assert any(e.value.startswith("**Naive against adaptive:** the naive attack leaves") for e in at.error)
    assert not any(CJK.search(text) for text in shown_texts(at))


def test_train_page_in_chinese(fresh_store):
    at = open_page("pages/models/train.py", "zh")
    assert at.title[0].value == "训练模型"
    assert all(CJK.search(w.label) for kind in ("selectbox", "slider", "select_slider", "number_input",
                                                "text_input", "button") for w in at.main.get(kind))
    assert at.main.info[0].value == "本会话中还没有排队的训练。"
    assert_no_english(at)


CONFIG = {"model_id": "user-weak", "dataset": "mnist", "architecture": "cnn-tiny", "recipe": "pgd-at", "eps": 0.3,
          "epochs": 2, "n_train": 5000, "lr": 0.001}


@pytest.mark.parametrize("status, fields, shown", [
    ("failed", {"message": train_runner.near_chance_advice(0.1, 10, CONFIG)}, "训练 user-weak 失败：模型没有学会"),
    ("done", {"clean_accuracy": 0.3, "message": "stopped by request in epoch 2"},
     "user-weak 很弱：干净准确率只有 30.0%")], ids=["failed", "weak"])
def test_train_page_shows_a_finished_job_in_chinese(fresh_store, status, fields, shown):
    """A worker stores the job's message in English; the Chinese page shows it in Chinese."""
    from advcore.classroom import queue
    job_id = queue.enqueue(fresh_store, None, "guest", CONFIG["model_id"], CONFIG)
    fresh_store.update_job(job_id, status=status, **fields)
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["lang"], at.session_state["train_job"] = "zh", job_id
    at.switch_page("pages/models/train.py")
    run(at, "zh")
    messages = [m.value for m in [*at.main.error, *at.main.warning]]
    assert any(m.startswith(shown) for m in messages), messages
    assert_no_english(at)


def test_train_page_in_english_keeps_its_words(fresh_store):
    at = open_page("pages/models/train.py", None)
    assert at.title[0].value == "Train a model"
    assert not any(CJK.search(text) for text in shown_texts(at))


# --- what cards and jobs store in English -------------------------------------------------------------

def stored_sentences() -> list[str]:
    """The English sentences the shipped cards hold: sanity flags, caveats, training attacks."""
    out = []
    for path in sorted((ROOT / "models").glob("*.json")):
        card = json.loads(path.read_text())
        if "results" not in card:  # a sweep file, not a card
            continue
        out += [flag["message"] for flag in card["results"].get("sanity", {}).get("flags", [])]
        out += [text for text in (card.get("caveat"), card.get("recipe", {}).get("training_attack")) if text]
    return out


def test_stored_sentences_read_back_unchanged_in_english_and_in_chinese():
    sentences = stored_sentences()
    assert len(sentences) > 50 and set(map(model_table_notes.note, sentences)) == set(sentences)
    with i18n.use_language("zh"):
        shown = {sentence: model_table_notes.note(sentence) for sentence in sentences}
    assert all(CJK.search(text) and not english_runs(text) for text in shown.values()), shown
    assert model_table_notes.note("a sentence of no known shape") == "a sentence of no known shape"


@pytest.mark.parametrize("config", [
    {"epochs": 2, "n_train": 5000, "recipe": "pgd-at", "eps": 0.3, "lr": 0.001},
    {"epochs": 10**6, "n_train": 10**9, "recipe": "standard", "lr": 0.003, "architecture": "cnn-tiny"}])
def test_advice_a_worker_stores_reads_as_the_page_would_write_it(config):
    """A worker thread writes the near-chance advice in English (no session language); a Chinese page shows
    the same words as ``near_chance_advice`` gives in Chinese, every clause of its advice included."""
    stored = train_runner.near_chance_advice(0.1, 10, config)
    assert model_table_notes.note(stored) == stored
    with i18n.use_language("zh"):
        assert model_table_notes.note(stored) == train_runner.near_chance_advice(0.1, 10, config)
        assert not english_runs(model_table_notes.note(stored))


def test_user_models_are_marked_in_the_reader_s_language():
    card = {"id": "user-ann-first", "shipped": False}
    assert model_table.display_id(card) == "user-ann-first (user model)"
    with i18n.use_language("zh"):
        assert model_table.display_id(card) == "user-ann-first（用户模型）"
