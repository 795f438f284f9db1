"""Limits on heavy work (issue 30, item 8): a budget in image-attack-steps, one computation per identical
request, a bounded number at once with a line, progress, Cancel and cancel when the last viewer leaves;
user models never in the default lists. Tiny fake computations: no data set, seconds."""

import json
import threading
import time

import pytest

from advcore import attacks, heavy, zoo

WAIT = 10  # seconds any test waits for a thread at most


def batches(count: int, calls: list, gate: threading.Event | None = None, pause: float = 0.0):
    """A fake computation: ``count`` batches of one unit each, waiting for ``gate`` first; returns 'result'."""
    def compute(progress):
        calls.append(threading.current_thread().name)
        if gate is not None:
            assert gate.wait(WAIT)
        for _ in range(count):
            time.sleep(pause)
            progress(1)
        return "result"
    return compute


def finished(job) -> heavy.Job:
    assert job.finished.wait(WAIT), job
    return job


def test_units_of_the_cost():
    assert heavy.attack_steps("fgsm", {}) == 1 and heavy.attack_steps("noise", {}) == 1
    assert heavy.attack_steps("pgd", {"steps": 40, "restarts": 3}) == 120
    assert heavy.attack_steps("square", {}) == 1000  # its queries
    assert heavy.attack_steps("cw-l2", {"steps": 100}) == 500  # x 5 binary search steps
    assert heavy.passes("bits:3", "bpda", 8) == 1 and heavy.passes("resize-pad", "eot", 8) == 8
    assert heavy.passes("smooth:0.25", "bpda+eot", 4) == 32 * 4  # votes x EOT draws
    # naive and BPDA behind bits:3; median needs no adaptive attack, so only naive
    assert heavy.defended_cost(10, {"pgd": {"steps": 5}}, 2, 3, ["bits:3", "median:2"], 8) == 3 * 10 * 2 * 3 * 5
    assert heavy.transfer_cost(10, "pgd", {"steps": 20}, 3) == 3 * 10 * 20 + 10 * 9
    assert heavy.certify_cost(10, 600, 2, 3) == 36_000


def test_two_identical_requests_in_two_threads_run_once_and_share_the_result():
    registry, calls, gate = heavy.Registry(), [], threading.Event()
    jobs = [None, None]

    def ask(i):
        jobs[i] = registry.submit("same", batches(3, calls, gate), 3, 10, f"viewer-{i}")

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT)
    assert jobs[0] is jobs[1] and set(jobs[0].viewers) == {"viewer-0", "viewer-1"}
    gate.set()
    assert finished(jobs[0]).state == "done" and jobs[0].result == "result"
    assert len(calls) == 1
    stored = []
    again = registry.submit("same", batches(1, calls), 1, 10, "viewer-2", on_done=stored.append)
    assert again is not jobs[0] and finished(again).result == "result" and stored == ["result"]  # a new run


def test_one_at_a_time_the_second_request_waits_with_its_place_then_runs():
    registry, calls, gate = heavy.Registry(max_running=1), [], threading.Event()
    first = registry.submit("a", batches(2, calls, gate), 2, 10, "viewer-a")
    second = registry.submit("b", batches(2, calls), 2, 10, "viewer-b")
    third = registry.submit("c", batches(2, calls), 2, 10, "viewer-c")
    assert first.state == "running" and second.state == "queued" and third.state == "queued"
    assert registry.place(second) == (1, 2) and registry.place(third) == (2, 2) and registry.place(first) == (0, 2)
    assert registry.running() == 1 and len(calls) <= 1
    gate.set()
    assert finished(second).state == "done" and finished(third).state == "done"
    assert first.state == "done" and len(calls) == 3 and registry.running() == 0


def test_cancel_stops_a_running_computation_between_batches_and_frees_the_slot():
    registry, calls = heavy.Registry(max_running=1), []
    seen = []

    def compute(progress):
        calls.append(1)
        for _ in range(1000):
            time.sleep(0.01)
            seen.append(_)
            progress(1)
        return "never"

    job = registry.submit("long", compute, 1000, 10, "viewer")
    waiting = registry.submit("next", batches(1, calls), 1, 10, "viewer")
    while len(seen) < 3:
        time.sleep(0.01)
    registry.cancel(job)
    assert finished(job).state == "cancelled" and job.result is None and 3 <= len(seen) < 1000
    assert finished(waiting).state == "done"  # the freed slot went to the next in line
    assert registry.running() == 0


def test_progress_goes_from_0_to_1():
    registry, gate, fractions = heavy.Registry(), threading.Event(), []

    def compute(progress):
        assert gate.wait(WAIT)
        for _ in range(4):
            progress(25)
            fractions.append(progress.fraction)
        return 4

    job = registry.submit("progress", compute, 100, 10, "viewer")
    assert job.fraction == 0.0
    gate.set()
    assert finished(job).fraction == 1.0 and fractions == [0.25, 0.5, 0.75, 1.0]


def test_the_last_viewer_leaving_cancels_and_a_silent_viewer_has_left():
    registry, gate = heavy.Registry(), threading.Event()
    job = registry.submit("shared", batches(100, [], gate), 100, 10, "alice")
    registry.submit("shared", batches(100, [], gate), 100, 10, "bob")
    assert not registry.leave(job, "alice") and not job.cancelled.is_set()
    assert registry.leave(job, "bob") and job.cancelled.is_set()
    gate.set()
    assert finished(job).state == "cancelled"

    now = [0.0]
    registry = heavy.Registry(max_running=1, viewer_timeout=5, clock=lambda: now[0])
    gate = threading.Event()
    job = registry.submit("tab", batches(100, [], gate, pause=0.01), 100, 10, "closed-tab")
    queued = registry.submit("later", batches(1, []), 1, 10, "closed-too")
    registry.watch(job, "closed-tab")
    now[0] = 6.0  # no heartbeat for 6 s: both tabs were closed
    gate.set()
    assert finished(job).state == "cancelled" and job.done <= 1
    assert finished(queued).state == "cancelled"  # never started: nobody waits for it

    now[0], gate = 0.0, threading.Event()
    job = registry.submit("stale", batches(1, [], gate), 1, 10, "gone")
    now[0] = 10.0
    assert registry.submit("stale", batches(1, [], gate), 1, 10, "here") is job
    assert registry.leave(job, "here") and job.cancelled.is_set()  # the silent one counts for nothing
    gate.set()


def test_a_failure_reaches_the_viewers():
    registry = heavy.Registry()

    def broken(progress):
        raise heavy.AdvcoreError("bad input")

    job = finished(registry.submit("broken", broken, 1, 10, "viewer"))
    assert job.state == "failed" and str(job.error) == "bad input" and registry.running() == 0


@pytest.fixture
def user_model(tmp_path, monkeypatch):
    """A student-trained MNIST model's card (18% clean) in a private user folder."""
    folder = tmp_path / "user-models"
    folder.mkdir()
    card = json.loads((zoo.models_dir() / "mnist-standard.json").read_text())
    card.update(id="user-weak", results={**card.get("results", {}), "clean_accuracy": 0.18})
    (folder / "user-weak.json").write_text(json.dumps(card))
    monkeypatch.setenv(zoo.USER_MODELS_ENV, str(folder))
    zoo.forget()
    from advcore.ui import resources
    resources.model_cards.clear()
    yield "user-weak"
    zoo.forget()
    resources.model_cards.clear()


def test_user_models_are_apart_from_the_shipped_defaults(user_model):
    cards = zoo.list_cards("mnist")
    shipped, yours = zoo.by_origin(cards)
    assert user_model in [c["id"] for c in cards]
    assert yours == [user_model] and user_model not in shipped and "mnist-standard" in shipped


def test_the_sweep_page_defaults_to_shipped_models_and_offers_yours_apart(user_model):
    from streamlit.testing.v1 import AppTest

    from tests.conftest import ROOT, TIMEOUT
    at = AppTest.from_file(str(ROOT / "pages" / "explore" / "sweep.py"), default_timeout=TIMEOUT).run()
    assert not at.exception, [e.value for e in at.exception]
    models = at.multiselect(key="sweep_models_mnist")
    assert user_model not in models.options and user_model not in models.value and "mnist-standard" in models.value
    yours = at.multiselect(key="sweep_yours_mnist")
    assert yours.label == "Your models" and yours.options == [user_model] and yours.value == []


@pytest.mark.needs_data
def test_lesson_8_chart_shows_shipped_models_only(user_model):
    from streamlit.testing.v1 import AppTest

    from tests.conftest import APP, TIMEOUT
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page("pages/learn/learn_training.py").run()
    assert not at.exception, [e.value for e in at.exception]
    chart = next(c for c in at.get("plotly_chart") if "training_tradeoff" in c.proto.id)
    names = [trace["name"] for trace in json.loads(chart.proto.spec)["data"]]
    assert "mnist-standard" in names and user_model not in names


@pytest.mark.needs_data
def test_the_sweep_page_refuses_an_over_budget_request_with_a_clear_message():
    from streamlit.testing.v1 import AppTest

    from tests.conftest import ROOT, TIMEOUT
    at = AppTest.from_file(str(ROOT / "pages" / "explore" / "sweep.py"), default_timeout=TIMEOUT).run()
    at.multiselect(key="sweep_attacks").set_value(list(attacks.ATTACKS))
    at.number_input(key="sweep_steps").set_value(200)
    at.slider(key="sweep_points").set_value(12)
    at.slider(key="sweep_n").set_value(2000)
    started = time.perf_counter()
    at.button[0].click().run()
    assert time.perf_counter() - started < 60  # refused, not computed
    assert not at.exception, [e.value for e in at.exception]
    refusals = [e.value for e in at.error if "image-attack-steps" in e.value]
    assert len(refusals) == 1 and "ADVLAB_MAX_WORK" in refusals[0] and "Traceback" not in refusals[0]
    assert not at.get("plotly_chart")


def view_script():
    """A page over heavy_view.show: a fake computation of 4 batches, its cost from the session state."""
    import time

    import streamlit as st

    from advcore.ui import heavy_view

    calls = st.session_state.setdefault("calls", [])

    def compute(progress):
        calls.append(1)  # in the worker thread: the list, not st.session_state
        for _ in range(4):
            time.sleep(0.05)
            progress(1)
        return "forty-two"

    work = heavy_view.Work(compute, 4, st.session_state.get("cost", 10), "counting") if st.button("Go") else None
    result = heavy_view.show("fake", f"fake-request-{st.session_state.get('cost', 10)}", work)
    st.write(f"result: {result}, computed {len(calls)} time(s)")


def test_the_view_refuses_over_budget_then_shows_the_result_once_computed():
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_function(view_script, default_timeout=30)
    at.session_state["cost"] = heavy.DEFAULT_MAX_WORK + 1
    at.run()
    at.button[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.error) == 1 and "ADVLAB_MAX_WORK" in at.error[0].value and f"{heavy.DEFAULT_MAX_WORK:,}" in \
        at.error[0].value
    assert "result: None, computed 0 time(s)" in at.markdown[-1].value
    at.session_state["cost"] = 10
    at.button[0].click().run()
    assert not at.exception and not at.error and not at.get("progress")  # the bar is gone once done
    assert "result: forty-two, computed 1 time(s)" in at.markdown[-1].value
    at.button[0].click().run()  # the same request again: from the store
    assert "result: forty-two, computed 1 time(s)" in at.markdown[-1].value


@pytest.mark.needs_data
def test_the_default_sweep_opens_at_once_while_another_computation_holds_the_slot():
    """Served from the shipped sweep files, it costs nothing and waits in no line."""
    from streamlit.testing.v1 import AppTest

    from advcore.ui import heavy_view
    from tests.conftest import ROOT, TIMEOUT
    gate = threading.Event()
    registry = heavy_view.registry()
    busy = registry.submit("busy", batches(1, [], gate), 1, 10, "someone")
    try:
        assert registry.running() == registry.max_running == 1
        at = AppTest.from_file(str(ROOT / "pages" / "explore" / "sweep.py"), default_timeout=TIMEOUT).run()
        started = time.perf_counter()
        at.button[0].click().run()
        assert not at.exception, [e.value for e in at.exception]
        assert time.perf_counter() - started < 30 and len(at.get("plotly_chart")) == 3
        assert busy.state == "running"
    finally:
        gate.set()
        finished(busy)
