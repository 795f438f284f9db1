"""Languages (advcore.i18n, docs/i18n.md): the catalogs against the code, the translation API, the language
from the environment, views and links carrying ``lang``, and pages drawn in Chinese (``?lang=zh``)."""

import importlib.util
import re

import pytest

from advcore import data, i18n, links
from advcore.errors import AdvcoreError
from advcore.i18n import _, ngettext
from advcore.lessons import GLOSSARY_LESSON, LESSONS, glossary, papers
from advcore.ui import navigation
from advcore.view import VIEW_KEYS, ExploreView

from .conftest import APP, ROOT, TIMEOUT

CJK = re.compile(r"[\u4e00-\u9fff]")
OTHER_LANGUAGES = [lang for lang in i18n.LANGUAGES if lang != i18n.DEFAULT_LANGUAGE]


def _tool():
    """scripts/i18n.py (extraction and the catalog checks), loaded as a module."""
    spec = importlib.util.spec_from_file_location("i18n_tool", ROOT / "scripts" / "i18n.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TOOL = _tool()


@pytest.fixture(scope="module")
def template():
    return TOOL.extract()


# --- the catalogs against the code -------------------------------------------------------------------

def test_extraction_finds_the_marked_messages(template):
    ids = {m.id if isinstance(m.id, str) else m.id[0] for m in template if m.id}
    assert "Check my answer" in ids and LESSONS[0].source[0] in ids and "Explore" in ids  # _(), N_() in lists
    assert glossary.TERMS["PGD"] in ids  # N_() as a dict value
    assert "Show the transfer matrix ({n} model)" in ids  # ngettext


@pytest.mark.parametrize("lang", OTHER_LANGUAGES)
def test_every_marked_message_is_in_a_catalog(lang, template):
    assert TOOL.missing(lang, template) == []


@pytest.mark.parametrize("lang", OTHER_LANGUAGES)
def test_every_catalog_entry_is_translated_and_not_fuzzy(lang):
    assert i18n.catalog_files(lang), f"no catalogs for {lang}"
    assert TOOL.untranslated(lang) == []


@pytest.mark.parametrize("lang", OTHER_LANGUAGES)
def test_placeholders_match_between_msgid_and_translation(lang):
    assert TOOL.placeholder_faults(lang) == []


@pytest.mark.parametrize("lang", OTHER_LANGUAGES)
def test_plural_entries_have_every_form_and_areas_agree(lang):
    assert TOOL.plural_faults(lang) == []
    assert TOOL.conflicts(lang) == []


def test_the_checks_catch_faults(tmp_path, monkeypatch):
    """The checks above can fail: a catalog with one fault of each kind is reported."""
    (tmp_path / "xx" / "LC_MESSAGES").mkdir(parents=True)
    (tmp_path / "xx" / "LC_MESSAGES" / "common.po").write_text(
        'msgid ""\nmsgstr ""\n"Language: xx\\n"\n"Plural-Forms: nplurals=2; plural=(n != 1);\\n"\n\n'
        'msgid "Flip {model}"\nmsgstr "Kippe {modell}"\n\n'
        '#, fuzzy\nmsgid "Try it"\nmsgstr "Probier"\n\n'
        'msgid "Check my answer"\nmsgstr ""\n\n'
        'msgid "{n} step"\nmsgid_plural "{n} steps"\nmsgstr[0] "{n} Schritt"\n', encoding="utf-8")
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    monkeypatch.setattr(TOOL.i18n, "LOCALE_DIR", tmp_path)
    assert len(TOOL.placeholder_faults("xx")) == 1
    assert {f.split(": ")[1] for f in TOOL.untranslated("xx")} == {"fuzzy", "empty"}
    assert len(TOOL.plural_faults("xx")) == 1
    assert TOOL.placeholders("{eps:.3f} of {{literal}} {n}") == {"eps", "n"}


@pytest.mark.parametrize("lang", OTHER_LANGUAGES)
def test_class_names_of_every_data_set_are_translated(lang):
    catalog = i18n.read_catalog(lang)
    for info in data.DATASETS.values():
        for name in info.class_names:
            if not name.isdigit():
                assert catalog.get(name, "class name") is not None, (info.name, name)


def test_lesson_texts_are_chinese_and_keep_their_citations():
    with i18n.use_language("zh"):
        for lesson in [*LESSONS, GLOSSARY_LESSON]:
            assert CJK.search(lesson.heading), lesson.slug
            for english, shown in zip(lesson.source, lesson.paragraphs):
                assert CJK.search(shown), shown[:60]
                for key in re.findall(r"\{([a-z0-9]+)\}", english):  # the same papers, cited as in English
                    assert papers.short(key) in shown, (lesson.slug, key)
        terms = glossary.entries()
        assert "对抗样本 (adversarial example)" in [t for t, _text, _keys in terms]
        assert all(CJK.search(text) for _term, text, _keys in terms)


# --- the API ----------------------------------------------------------------------------------------

def test_gettext_follows_the_current_language_and_fills_named_placeholders():
    assert _("Try it") == "Try it"
    with i18n.use_language("zh"):
        assert i18n.current_language() == "zh"
        assert _("Try it") == "动手试试"
        assert _("Model: {model}. True class: {name}.", model="m", name="7") == "模型：m。真实类别：7。"
        assert _("not in any catalog {x}", x=1) == "not in any catalog 1"  # unknown: the English, filled
        assert _("no values, {braces} stay") == "no values, {braces} stay"
        assert i18n.class_name("Ankle boot") == "短靴" and i18n.class_name("3") == "3"
    assert i18n.current_language() == "en" and _("Try it") == "Try it"  # the scope restored it


def test_ngettext_takes_the_plural_forms_of_the_catalog():
    args = ("Show the transfer matrix ({n} model)", "Show the transfer matrix ({n} models)")
    assert ngettext(*args, 1) == "Show the transfer matrix (1 model)"
    assert ngettext(*args, 3) == "Show the transfer matrix (3 models)"
    with i18n.use_language("zh"):  # Chinese has one form (Plural-Forms: nplurals=1)
        assert ngettext(*args, 1) == "显示迁移矩阵（1 个模型）" and ngettext(*args, 3) == "显示迁移矩阵（3 个模型）"
    assert i18n.translations("zh").plural(5) == 0


def test_unsupported_language_is_refused():
    with pytest.raises(AdvcoreError):
        i18n.use_language("fr")
    assert i18n.normalize("zh_CN.UTF-8") == "zh" and i18n.normalize("zh-Hans") == "zh"
    assert i18n.normalize("EN") == "en" and i18n.normalize("C") is None and i18n.normalize(None) is None


@pytest.mark.parametrize("env, lang", [
    ({}, "en"),
    ({"LANG": "zh_CN.UTF-8"}, "zh"),
    ({"LANG": "en_GB.UTF-8"}, "en"),
    ({"LC_MESSAGES": "zh_CN", "LANG": "en_US"}, "zh"),
    ({"LC_ALL": "C", "LANG": "zh_CN"}, "en"),  # LC_ALL wins over LANG
    ({"LANGUAGE": "fr:zh_CN", "LANG": "en_US"}, "zh"),  # the first supported preference of LANGUAGE
    ({"LANGUAGE": "fr", "LANG": "zh_CN.UTF-8"}, "zh"),  # none supported in LANGUAGE: the locale decides
])
def test_language_from_env(env, lang):
    assert i18n.language_from_env(env) == lang


def test_every_language_has_a_picker_label_and_an_html_tag():
    for code, label in i18n.LANGUAGES.items():
        assert label and i18n.html_lang(code)
    assert i18n.LANGUAGES["zh"] == "简体中文" and i18n.html_lang("zh") == "zh-Hans"


# --- views and links ---------------------------------------------------------------------------------

def test_a_view_round_trips_its_language():
    view = ExploreView(attack="fgsm", eps=0.1, lang="zh")
    assert view.to_query()["lang"] == "zh"
    back, messages = ExploreView.from_query(view.to_query())
    assert back == view and messages == []
    assert "lang" not in ExploreView().to_query() and "lang" not in VIEW_KEYS
    refused, messages = ExploreView.from_query({"lang": "<script>"})
    assert refused.lang is None and messages and "language" in messages[0]
    with i18n.use_language("zh"):  # what a link refused is said in the reader's language
        assert ExploreView.from_query({"dataset": "imagenet"})[1] == ["链接中的数据集未知（'imagenet'）；显示 MNIST。"]


def test_links_carry_the_current_language():
    link = links.explore_link(dataset="mnist", model="mnist-standard", attack="fgsm", eps=0.1)
    assert "lang" not in links.parse_link(link)  # English, the default: links stay as they were
    assert links.parse_link(links.explore_link(dataset="mnist", model="m", attack="fgsm", eps=0.1, lang="en"))[
        "lang"] == "en"
    with i18n.use_language("zh"):
        link = links.explore_link(dataset="mnist", model="mnist-standard", attack="fgsm", eps=0.1)
        assert links.parse_link(link)["lang"] == "zh"
        assert links.parse_link(links.view_link(ExploreView(lang="en")))["lang"] == "en"  # the view's own wins
    assert links.parse_link(links.view_link(ExploreView(), lang="zh"))["lang"] == "zh"


# --- pages in Chinese ----------------------------------------------------------------------------------

def _open(page: str, lang: str | None):
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    if lang:
        at.query_params["lang"] = lang
    at.switch_page(page)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_glossary_page_in_chinese_and_back_to_english_with_the_picker():
    at = _open("pages/learn/learn_glossary.py", "zh")
    assert at.title[0].value == "术语表"
    assert any(md.value.startswith("**对抗样本 (adversarial example)**") for md in at.markdown)
    assert at.session_state[navigation.LANG_STATE] == "zh" and at.query_params["lang"] in ("zh", ["zh"])
    assert at.selectbox(key=navigation.LANG_PICKER).value == "zh"
    assert any(link.label == "术语表" for link in at.get("page_link"))
    at.selectbox(key=navigation.LANG_PICKER).set_value("en").run()
    assert at.title[0].value == "Glossary" and at.query_params["lang"] in ("en", ["en"])  # the link named one
    assert any(link.label == "Glossary" for link in at.get("page_link"))
    at.run()  # a rerun keeps the choice
    assert at.title[0].value == "Glossary"


@pytest.mark.needs_data
def test_lesson_one_in_chinese_with_its_verdict():
    at = _open("pages/learn/learn_what.py", "zh")
    lesson = LESSONS[0]
    with i18n.use_language("zh"):
        heading, paragraphs = lesson.heading, lesson.paragraphs
    assert at.title[0].value == heading and CJK.search(heading)
    shown = [md.value for md in at.markdown]
    assert all(p in shown for p in paragraphs)
    at.select_slider(key="what_eps").set_value(round(40 / 255, 6)).run()
    at.button(key="what_check").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.success and at.success[0].value.startswith("完成：")
    assert at.button(key="what_check").label == "检查我的答案"
    explore = [b for b in at.get("link_button") if "探索" in b.proto.label]
    assert explore and "lang=zh" in explore[0].proto.url


def test_an_english_session_keeps_its_urls():
    at = _open("pages/learn/learn_glossary.py", None)
    assert at.title[0].value == "Glossary" and "lang" not in at.query_params


@pytest.mark.needs_data
@pytest.mark.parametrize("spec", navigation.SECTIONS["Learn"], ids=lambda spec: spec.url_path)
def test_every_lesson_page_runs_in_chinese(spec):
    at = _open(f"pages/{spec.path}", "zh")
    assert CJK.search(at.title[0].value)
    assert not at.error, [e.value for e in at.error]
    if spec.url_path != GLOSSARY_LESSON.slug:  # every lesson ends with its task
        assert [h.value for h in at.subheader] == ["动手试试"]
