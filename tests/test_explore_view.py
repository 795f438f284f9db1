"""Explore and Compare keep one view (issue 31): every widget is seeded from it on every run, so a widget the
browser has not drawn yet (a closed popover) or no longer draws (another page, another attack) opens with the
view's value, and moving to another attack, norm or page keeps what still applies."""

import pytest

from .conftest import set_eps, start

pytestmark = pytest.mark.needs_data  # shipped mnist-standard and the MNIST test set


def url(at) -> dict:
    return {k: (v[0] if isinstance(v, list) else v) for k, v in at.query_params.items()}


def sent_to_the_browser(widget):
    """The value a widget's element carries to the browser: the value it mounts with when the Settings popover
    opens for the first time (the proto's ``default`` is only the widget's own, e.g. a number input's minimum)."""
    assert widget.proto.set_value, f"{widget.key} is not seeded from the view"
    return widget.proto.value


def test_a_links_settings_survive_eps_moves_before_the_popover_opens():
    """The bug: a link with steps=20, eps moved twice, Settings opened for the first time showed steps 1, auto
    step size off, random start off, and touching one wrote steps=1 into the link."""
    at = start({"attack": "pgd", "steps": "20", "restarts": "2", "eps": "0.3"})
    set_eps(at, 0.2)
    set_eps(at, 0.25)
    assert sent_to_the_browser(at.number_input(key="explore_pgd_steps")) == 20
    assert sent_to_the_browser(at.number_input(key="explore_pgd_restarts")) == 2
    assert sent_to_the_browser(at.checkbox(key="explore_pgd_step_size_auto")) is True
    assert sent_to_the_browser(at.checkbox(key="explore_pgd_random_start")) is True
    at.number_input(key="explore_pgd_seed").set_value(5).run()  # touching one setting keeps the others
    assert url(at)["steps"] == "20" and url(at)["restarts"] == "2" and url(at)["seed"] == "5"
    assert "step_size" not in url(at) and "random_start" not in url(at)
    assert at.number_input(key="explore_pgd_steps").value == 20


def test_attack_switches_keep_the_linf_eps():
    at = start({"eps": "0.2"})
    for attack in ("deepfool", "square", "pgd"):
        at.selectbox(key="attack").set_value(attack).run()
        assert not at.exception, [e.value for e in at.exception]
        assert at.select_slider(key="eps_linf").value == pytest.approx(0.2), attack
        assert url(at)["eps"] == "0.2000"
    assert at.radio(key="explore_pgd_norm").value == "linf"


def test_norm_switches_come_back_to_each_norms_eps():
    at = start({"eps": "0.2"})
    at.radio(key="explore_pgd_norm").set_value("l2").run()
    assert at.select_slider(key="eps_l2").value == pytest.approx(2.0)  # MNIST's default L2 budget
    at.select_slider(key="eps_l2").set_value(1.5).run()
    at.radio(key="explore_pgd_norm").set_value("linf").run()
    assert at.select_slider(key="eps_linf").value == pytest.approx(0.2)
    at.radio(key="explore_pgd_norm").set_value("l2").run()
    assert at.select_slider(key="eps_l2").value == pytest.approx(1.5) and url(at)["norm"] == "l2"


def test_compare_from_the_sidebar_keeps_image_eps_and_settings_and_back():
    at = start({"image": "3", "eps": "0.2", "steps": "30"})
    at.switch_page("pages/explore/compare.py").run()  # the sidebar's link carries no query string
    assert not at.exception, [e.value for e in at.exception]
    assert at.number_input(key="image_index").value == 3
    assert at.select_slider(key="compare_eps_linf").value == pytest.approx(0.2)
    assert at.number_input(key="compare_pgd_steps").value == 30
    at.select_slider(key="compare_eps_linf").set_value(round(60 / 255, 6)).run()
    at.switch_page("pages/explore/explore.py").run()
    assert at.select_slider(key="eps_linf").value == pytest.approx(round(60 / 255, 6))
    assert at.number_input(key="explore_pgd_steps").value == 30 and at.number_input(key="image_index").value == 3


def test_a_defence_and_its_parameter_stay_across_pages():
    at = start({"defence": "jpeg:60", "adaptive": "true", "steps": "10", "eps": "0.3"})
    at.switch_page("pages/explore/compare.py").run()
    assert "defence" not in url(at)  # Compare attacks the bare models
    at.switch_page("pages/explore/explore.py").run()
    assert at.selectbox(key="explore_defence").value == "jpeg"
    assert at.number_input(key="explore_def_jpeg_quality").value == 60
    assert url(at)["defence"] == "jpeg:60" and url(at)["adaptive"] == "true"


@pytest.mark.browser
def test_in_the_browser_settings_opened_after_eps_moves_show_the_links_steps():
    """The bug as a lecturer met it: open a link with steps=20, move eps twice, open Settings for the first time."""
    from bench.browser import browser_page, chromium_available, metric_value, settle, streamlit_server, wait_for_change
    if not chromium_available():
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    with streamlit_server() as (url, _), browser_page() as page:
        page.goto(f"{url}/?attack=pgd&steps=20&restarts=3&eps=0.3")
        page.wait_for_selector('[data-testid="stMetric"]:has-text("adversarial prediction")', timeout=120_000)
        settle(page, 120_000)
        page.locator('[data-testid="stSlider"] input[type="range"]').first.focus()
        for _ in range(2):
            old = metric_value(page, "L∞ of the change")
            page.keyboard.press("ArrowLeft")
            wait_for_change(page, "L∞ of the change", old)
        settle(page, 120_000)  # the second move's run over
        page.locator('[data-testid="stPopover"] button', has_text="Settings").first.click()
        steps = page.get_by_label("steps", exact=True)
        steps.wait_for(timeout=30_000)
        assert steps.input_value() == "20"
        assert page.get_by_label("restarts", exact=True).input_value() == "3"
        assert page.get_by_role("checkbox", name="random start").is_checked()
        assert page.get_by_role("checkbox", name="auto step size (2.5·eps/steps)").is_checked()
        page.get_by_label("seed", exact=True).fill("4")
        page.keyboard.press("Enter")  # touching a setting writes the view, not the widgets' own defaults
        page.wait_for_function("() => location.search.includes('seed=4')", timeout=30_000)
        query = page.evaluate("() => location.search")
    assert "steps=20" in query and "restarts=3" in query and "step_size" not in query and "random_start" not in query
