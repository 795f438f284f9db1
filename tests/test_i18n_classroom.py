"""The classroom in Chinese (issue 34): Teach and Join run with ``?lang=zh`` show their headings, labels, messages
and leaderboards in Chinese and no English sentence (no run of three or more English words outside ids, acronyms
and paper titles); a room's join link carries the teacher's language; a ClassroomError is raised in the current
language; a student of a Chinese room reads the verdicts on their answers in Chinese. The followers' frames in
two languages at once are tests/test_follow_stream.py's."""

import re

import pytest

from advcore import i18n
from advcore.classroom import challenges, rooms
from advcore.classroom.rooms import ClassroomError
from advcore.ui import room_session

from .conftest import APP, TIMEOUT
from .english_text import CJK, english_runs
from .test_i18n_models import open_page, run, shown_texts

TAGS = re.compile(r"<em>.*?</em>|<style>.*?</style>|<script>.*?</script>|<[^>]+>", re.S)  # a paper's title: <em>


def assert_chinese(at) -> None:
    """Every text of the page's main area (the follow element's HTML too) has no English sentence."""
    texts = shown_texts(at) + [TAGS.sub(" ", h.value) for h in at.main.get("html")]
    found = {text[:80]: runs for text in texts if (runs := english_runs(text))}
    assert not found, found


# --- without pages ---------------------------------------------------------------------------------------

def test_the_join_link_carries_the_teachers_language():
    with i18n.use_language("zh"):
        assert room_session.join_link("ABCDEF") == "/join?room=ABCDEF&lang=zh"
    assert room_session.join_link("ABCDEF") == "/join?room=ABCDEF"  # English: the link as it was
    assert room_session.join_link("ABCDEF", "zh").endswith("&lang=zh")


def test_a_classroom_error_is_raised_in_the_current_language(fresh_store):
    with i18n.use_language("zh"), pytest.raises(ClassroomError) as chinese:
        rooms.check_nickname("!!")
    assert str(chinese.value) == "昵称须有 3 到 24 个字符。" or CJK.search(str(chinese.value))
    with i18n.use_language("zh"), pytest.raises(ClassroomError, match="没有开放的房间使用代码 'ZZZZZZ'"):
        rooms.join(fresh_store, "ZZZZZZ", "ada")
    with pytest.raises(ClassroomError, match="No open room has the code 'ZZZZZZ'"):  # English stays English
        rooms.join(fresh_store, "ZZZZZZ", "ada")
    code, _key = rooms.create_room(fresh_store, "t")
    qid = challenges.start(fresh_store, code, "quiz", question="q?", choices=["a", "b"], answer=0)
    rooms.join(fresh_store, code, "ada")
    challenges.set_status(fresh_store, code, qid, "closed")
    with i18n.use_language("zh"), pytest.raises(ClassroomError, match="^这个挑战已结束$"):
        challenges.submit(fresh_store, code, qid, "ada", choice=0)


def test_challenge_templates_and_statuses_in_chinese():
    targeted = {"kind": "targeted", "model": "fashion-standard", "norm": "linf", "eps": 0.1,
                "target_name": "T-shirt/top", "status": "open"}
    with i18n.use_language("zh"):
        text = challenges.describe(targeted)
        assert [challenges.title(k) for k in challenges.TEMPLATES] == ["最小 eps", "定向攻击", "击败鲁棒模型", "小测验"]
        assert challenges.status_name("revealed") == "已公布答案"
        assert i18n.class_name("T-shirt/top") in text and "fashion-standard" in text and not english_runs(text)
    assert challenges.describe(targeted).startswith("Make this image read as class T-shirt/top")


def test_the_teach_start_page_in_chinese(fresh_store):
    at = open_page("pages/classroom/teach.py", "zh")
    assert at.title[0].value == "授课：全班加入的房间"
    assert [h.value for h in at.main.subheader] == ["新房间", "重新控制房间"]
    assert {b.label for b in at.main.button} >= {"创建房间", "控制这个房间"}
    assert_chinese(at)
    with pytest.raises(AssertionError, match="students join it"):  # the check reads the page: English fails it
        assert_chinese(open_page("pages/classroom/teach.py", None))
    at.text_input(key="teach_enter_code").input("ZZZZZZ")
    at.text_input(key="teach_enter_key").input("wrong")
    at.button[1].click()
    run(at, "zh")
    assert at.error and at.error[0].value.startswith("没有哪个开放的房间")


def test_the_join_page_before_joining_in_chinese(fresh_store):
    at = open_page("pages/classroom/join.py", "zh")
    assert at.title[0].value == "加入课堂"
    assert at.text_input(key="class_nick_input").label.startswith("昵称")
    assert_chinese(at)


# --- a room in Chinese: the teacher presents, a student follows and answers -------------------------------

@pytest.mark.needs_data
def test_teach_and_join_in_chinese_with_a_follower_and_challenges(fresh_store):
    teacher = open_page("pages/classroom/teach.py", "zh")
    teacher.button[0].click()  # the form's "Create a room"
    run(teacher, "zh")
    code = teacher.session_state.teach_room
    assert any(c.value.endswith(f"/join?room={code}&lang=zh") for c in teacher.code), "the join link carries zh"
    assert [m.label for m in teacher.main.get("metric")][:3] == ["已加入", "已连接", "正在跟随你"]
    assert "对抗预测" in [m.label for m in teacher.main.get("metric")]  # the presented view
    assert_chinese(teacher)

    student = join_page({"room": code, "lang": "zh"})  # opened from the join link
    student.text_input(key="class_nick_input").input("ada")
    student.button[0].click()
    run(student, "zh")
    follow = " ".join(h.value for h in student.main.get("html"))
    assert "正在跟随老师" in follow and "对抗预测" in follow and "lang=zh" in follow
    assert f'"/_advlab/follow/{code}/events?lang=zh"' in follow  # the stream sends this page's language
    assert_chinese(student)

    qid = challenges.start(fresh_store, code, "quiz", question="哪个模型？", choices=["a", "b"], answer=1)
    teacher.selectbox(key="teach_ch_kind").set_value("min-eps")
    run(teacher, "zh")
    teacher.button(key="teach_ch_start").click()
    run(teacher, "zh")
    assert teacher.success and CJK.search(teacher.success[0].value)
    run(student, "zh")
    assert student.main.header[0].value == "挑战"
    assert all(CJK.search(e.label) for e in student.main.expander if e.label[:2] in ("c1", "c2"))
    student.radio(key=f"quiz_{qid}_choice").set_value(1)
    run(student, "zh")
    student.button(key=f"quiz_{qid}_submit").click()
    run(student, "zh")
    assert "你的回答：**b**。" in [m.value for m in student.main.markdown]
    cid = next(c["id"] for c in fresh_store.challenges(code) if c["kind"] == "min-eps")
    student.button(key=f"ans_{cid}_submit").click()
    run(student, "zh")
    verdicts = [m.value for m in [*student.main.success, *student.main.error]]
    assert verdicts and all(v.startswith(("已接受：", "未被接受：")) for v in verdicts), verdicts
    challenges.set_status(fresh_store, code, qid, "revealed")
    run(student, "zh")
    assert "答案：**b**" in [m.value for m in student.main.markdown]
    assert [list(t.value.columns) for t in student.main.table][0][:2] == ["名次", "昵称"]  # the quiz's leaderboard
    assert_chinese(student)
    run(teacher, "zh")
    assert_chinese(teacher)


def join_page(query: dict):
    """The Join page opened with ``query`` (a join link's room and language)."""
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update(query)
    at.switch_page("pages/classroom/join.py")
    return run(at, query.get("lang"))


# --- in a real browser ---------------------------------------------------------------------------------------

@pytest.mark.browser
@pytest.mark.needs_data
def test_teach_and_join_in_chinese_in_the_browser(tmp_path):
    """A teacher opens Teach with ``?lang=zh`` and creates a room; a student opens its join link (which carries
    ``lang=zh``), joins and follows, then answers a quiz; every tab of Teach and the student's Join page show no
    English sentence and cut nothing off, at 1280x720 (screenshots in test-artifacts/i18n/)."""
    from bench.browser import CHROMIUM_ARGS, chromium_available, settle, streamlit_server
    if not chromium_available():
        pytest.skip("Chromium is not installed; browser tests skipped")
    from playwright.sync_api import sync_playwright

    from advcore.classroom.store import open_store

    from .test_browser import CUT_CONTROLS_JS
    from .test_i18n_tour import ARTIFACTS, VISIBLE_TEXT_JS
    from .test_learn_browser import CUT_TEXT_JS

    def check(page, name: str) -> dict:
        settle(page)  # no run going (the pages' own fragments rerun every 2 s), every picture drawn, layout still
        page.screenshot(path=str(ARTIFACTS / f"classroom-{name}-zh-1280x720.png"))
        text = page.evaluate(VISIBLE_TEXT_JS)
        problems = {"English": english_runs(text, at_least=4, rendered=True)[:8], "cut off": (page.evaluate(CUT_TEXT_JS)
                                                                          + page.evaluate(CUT_CONTROLS_JS))[:8]}
        return {f"{name}: {k}": v for k, v in problems.items() if v}

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    env = {"ADVLAB_STATE_DIR": str(tmp_path), "ADVLAB_STORE": "", "ADVLAB_WARM": "0"}
    with streamlit_server(env) as (url, _p), sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        teacher, student = (browser.new_context(viewport={"width": 1280, "height": 720}).new_page() for _ in "ts")
        for page in (teacher, student):
            page.set_default_timeout(180_000)  # a loaded 2-core machine
        teacher.goto(f"{url}/teach?lang=zh")
        teacher.get_by_role("button", name="创建房间").click()
        teacher.get_by_role("button", name="我已记下密钥").click()
        link = teacher.locator("code", has_text="/join?room=").first.inner_text().strip()
        code = re.search(r"room=(\w+)", link).group(1)
        assert link.endswith(f"/join?room={code}&lang=zh")
        student.goto(link)
        student.get_by_label("昵称", exact=False).fill("小明")
        student.get_by_role("button", name="加入").click()
        student.wait_for_selector('[data-testid="stMetric"]:has-text("扰动的 L∞")')  # the pushed view, in Chinese
        assert student.evaluate("document.documentElement.lang") == "zh-Hans"
        s = open_store(f"sqlite:///{tmp_path / 'classroom.sqlite3'}")
        challenges.start(s, code, "quiz", question="哪个模型在 eps 0.3 下仍然正确？",
                         choices=["mnist-standard", "mnist-pgd"], answer=1)
        student.get_by_role("heading", name="挑战").wait_for()  # the stream reran the page
        student.get_by_text("mnist-pgd").first.click()
        student.get_by_role("button", name="回答").click()
        student.get_by_text("你的回答：").first.wait_for()
        teacher.get_by_text("正在跟随你").first.wait_for()  # the presence fragment's own rerun, in Chinese
        problems = check(student, "join")
        for i, tab in enumerate(["展示", "挑战", "结果与房间"]):
            teacher.get_by_role("tab", name=tab).click()
            problems |= check(teacher, f"teach-{i + 1}")
        browser.close()
    assert not problems, problems
