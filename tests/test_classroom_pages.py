"""Classroom pages in Streamlit's AppTest: a teacher creates a room and presents a view, a student
joins and follows it, answers a quiz and a smallest-eps challenge, the teacher sees the leaderboard.
Two AppTest sessions share one process, so they share the store, as two browsers on one server do."""

import pytest
from streamlit.testing.v1 import AppTest

from advcore.classroom import challenges, rooms
from advcore.ui import widgets
from tests.conftest import APP, TIMEOUT

pytestmark = pytest.mark.needs_data  # shipped models


def run(at):
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def page(path, query=None):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update(query or {})
    run(at)
    at.switch_page(path)
    return run(at)


def teacher_with_room():
    at = page("pages/classroom/teach.py")
    at.button[0].click()  # the form's "Create a room"
    run(at)
    return at, at.session_state.teach_room, at.session_state.teach_key


def test_classroom_teacher_creates_room_and_student_follows(fresh_store):
    teacher, code, key = teacher_with_room()
    assert any(key in c.value for c in teacher.code), "the teacher key is shown once"
    assert any(f"/join?room={code}" in c.value for c in teacher.code)
    assert fresh_store.view_version(code) == 1  # the presenter's first view is presented at once
    student = page("pages/classroom/join.py", {"room": code})
    student.text_input(key="class_nick_input").input("ada")
    student.button[0].click()
    run(student)
    assert student.session_state.class_nick == "ada"
    assert "room" in student.query_params and not {"nick", "token"} & set(student.query_params)  # no token in links
    assert any("adversarial prediction" in h.value for h in student.html), "the presented view is shown"  # pushed
    before = fresh_store.get_view(code)[1]["eps"]
    slider = teacher.select_slider(key="teach_eps_linf")
    grid = widgets.eps_grid("linf")
    moved = grid[grid.index(widgets.nearest(grid, slider.value)) + 2]  # two slider positions up
    slider.set_value(moved)
    run(teacher)
    assert fresh_store.view_version(code) == 2
    run(student)  # the follow fragment's next tick
    assert student.session_state.class_view["eps"] == pytest.approx(moved) and moved > before
    assert rooms.presence(fresh_store, code)["following"] == 1


def test_classroom_pages_challenges_and_leaderboard(fresh_store):
    teacher, code, key = teacher_with_room()
    student = page("pages/classroom/join.py", {"room": code})
    student.text_input(key="class_nick_input").input("ben")
    student.button[0].click()
    run(student)
    qid = challenges.start(fresh_store, code, "quiz", question="Which holds at 0.3?", choices=["a", "b"], answer=1)
    run(student)
    student.radio(key=f"quiz_{qid}_choice").set_value(1)
    run(student)
    student.button(key=f"quiz_{qid}_submit").click()
    run(student)
    assert fresh_store.submissions(code, qid)[0]["correct"]
    view = fresh_store.get_view(code)[1]
    teacher.selectbox(key="teach_ch_kind").set_value("min-eps")
    run(teacher)
    next(n for n in teacher.number_input if n.key.startswith("teach_ch_eps_linf")).set_value(0.3)
    teacher.button(key="teach_ch_start").click()
    run(teacher)
    cid = next(c["id"] for c in fresh_store.challenges(code) if c["kind"] == "min-eps")
    assert fresh_store.get_challenge(code, cid)["model"] == view["model"]
    run(student)
    student.select_slider(key=f"ans_{cid}_eps_linf").set_value(round(76 / 255, 6))  # PGD at 76/255
    run(student)
    student.button(key=f"ans_{cid}_submit").click()
    run(student)
    assert any("Accepted" in s.value for s in student.success), [e.value for e in student.error]
    run(teacher)
    boards = [t.value for t in teacher.table]
    assert any("ben" in list(b["nickname"]) for b in boards if "nickname" in b)
    csv_text = challenges.results_csv(fresh_store, code)
    assert "ben" in csv_text and cid in csv_text


def test_classroom_wrong_teacher_key_and_wrong_code_refused(fresh_store):
    _, code, _ = teacher_with_room()
    at = page("pages/classroom/teach.py")
    at.text_input(key="teach_enter_code").input(code)
    at.text_input(key="teach_enter_key").input("not-the-key")
    at.button[1].click()
    run(at)
    assert any("No open room has this code and teacher key" in e.value for e in at.error)
    student = page("pages/classroom/join.py", {"room": "ZZZZZZ"})
    student.text_input(key="class_nick_input").input("cat")
    student.button[0].click()
    run(student)
    assert any("No open room" in e.value for e in student.error)


def test_classroom_teacher_presents_an_uploaded_image(fresh_store):
    import io

    import numpy as np
    from PIL import Image
    teacher, code, _ = teacher_with_room()
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (60, 40), np.uint8)).save(buffer, format="PNG")
    teacher.radio(key="teach_source").set_value("Upload")
    run(teacher)
    teacher.file_uploader(key="teach_upload").set_value(("digit.png", buffer.getvalue(), "image/png"))
    run(teacher)
    view = fresh_store.get_view(code)[1]
    assert "image_id" in view and fresh_store.get_image(view["image_id"]).shape == (1, 28, 28, 1)
    student = page("pages/classroom/join.py", {"room": code})
    student.text_input(key="class_nick_input").input("dan")
    student.button[0].click()
    run(student)
    assert student.session_state.class_view["image_id"] == view["image_id"]
    assert any("teacher’s own image" in h.value for h in student.html)  # the follow element (follow_stream)


# --- issue 31: the presenter is bound to a view like Explore -------------------------------------

def test_teach_a_targeted_attack_on_cifar10(fresh_store):
    """Ticking a target in the presenter's attack settings crashed Teach (StreamlitDuplicateElementKey:
    teach_target), and the presenter's eps slider used MNIST's grid (opening at 0.100, up to 128/255)."""
    teacher, code, _ = teacher_with_room()
    teacher.selectbox(key="teach_dataset").set_value("cifar10")
    run(teacher)
    slider = teacher.select_slider(key="teach_eps_linf")
    assert slider.value == pytest.approx(8 / 255, abs=1e-6) and slider.options[-1].endswith("(32/255)")
    target = teacher.selectbox(key="teach_target")
    choice = next(c for c in target.options if c != "untargeted")
    target.set_value(int(choice.split(":")[0]))  # "1: automobile": the classes but the image's own
    run(teacher)
    _, view = fresh_store.get_view(code)
    assert view["dataset"] == "cifar10" and view["eps"] == pytest.approx(8 / 255, abs=1e-6)
    assert view["params"]["target"] == teacher.selectbox(key="teach_target").value is not None
    assert not [w for w in teacher.checkbox if w.key.endswith("_targeted")]  # one target widget, no checkbox


def test_a_teacher_reentering_keeps_the_presented_view(fresh_store):
    teacher, code, key = teacher_with_room()
    teacher.number_input(key="teach_image_mnist").set_value(5)
    run(teacher)
    teacher.selectbox(key="teach_attack").set_value("fgsm")
    run(teacher)
    teacher.select_slider(key="teach_eps_linf").set_value(round(51 / 255, 6))
    run(teacher)
    presented = fresh_store.get_view(code)
    assert presented[1]["eps"] == pytest.approx(0.2) and presented[1]["image"] == 5
    again = page("pages/classroom/teach.py")  # a reload: a new session enters the room with its key
    again.text_input(key="teach_enter_code").input(code)
    again.text_input(key="teach_enter_key").input(key)
    again.button[1].click()
    run(again)
    assert again.select_slider(key="teach_eps_linf").value == pytest.approx(0.2)
    assert again.number_input(key="teach_image_mnist").value == 5
    assert again.selectbox(key="teach_attack").value == "fgsm"
    assert fresh_store.get_view(code) == presented  # nothing presented again: the students' screens stay


def test_a_teacher_back_from_presenting_on_explore_keeps_that_view(fresh_store):
    teacher, code, _ = teacher_with_room()
    teacher.switch_page("pages/explore/explore.py")
    run(teacher)
    teacher.select_slider(key="eps_linf").set_value(round(77 / 255, 6))
    run(teacher)
    teacher.button(key="explore_present").click()
    run(teacher)
    presented = fresh_store.get_view(code)
    assert presented[1]["eps"] == pytest.approx(77 / 255, abs=1e-6)
    teacher.switch_page("pages/classroom/teach.py")
    run(teacher)
    assert teacher.select_slider(key="teach_eps_linf").value == pytest.approx(77 / 255, abs=1e-6)
    assert fresh_store.get_view(code)[1] == presented[1]
