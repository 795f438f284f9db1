"""Where the first model of a data set is too slow for a live eps slider on this server, Explore opens on a
faster model of the same recipe and says so (``advcore.live.quicker_default``, ``advcore.ui.startup``)."""

import threading

import pytest

from advcore import live
from advcore.ui import startup

from .conftest import start


def warm_in_a_thread() -> None:
    """Run the warm-up in its own thread, as the server does: it lowers the priority of the thread it runs in, which
    on the test's main thread would pass to every process the test run starts later."""
    warm = threading.Thread(target=startup.warm_default_models)
    warm.start()
    warm.join()


def test_a_quicker_default_only_when_the_first_model_misses_the_target():
    assert live.quicker_default("big", {"big": 0.12, "small": 0.05}) is None  # meets the target: kept
    assert live.quicker_default("big", {"big": 0.29}) is None  # nothing else timed
    assert live.quicker_default("big", {"big": 0.29, "other": 0.31}) is None  # nothing faster
    choice = live.quicker_default("big", {"big": 0.29, "small": 0.088, "mid": 0.2})
    assert (choice.model_id, choice.instead_of) == ("small", "big")
    words = choice.sentence()
    assert "**small**" in words and "88 ms" in words and "290 ms on big" in words and "150 ms" in words


def test_the_warm_up_picks_the_fastest_shipped_model_of_the_same_recipe(monkeypatch):
    timed = []

    def fake_warm_and_time(dataset, model_id):
        timed.append(model_id)
        return {"cifar10-standard": 0.29, "cifar10-small": 0.088, "mnist-standard": 0.02}[model_id]

    monkeypatch.setattr(startup, "_warm_and_time", fake_warm_and_time)
    monkeypatch.setattr(startup, "QUICKER_DEFAULTS", {})
    monkeypatch.setattr(startup, "default_models", lambda: [("mnist", "mnist-standard"),
                                                            ("cifar10", "cifar10-standard")])
    warm_in_a_thread()
    assert timed == ["mnist-standard", "cifar10-standard", "cifar10-small"]  # not cifar10-fast: another recipe
    assert startup.explore_opens_on("mnist") is None
    assert startup.explore_opens_on("cifar10").model_id == "cifar10-small"


def test_a_model_that_fails_to_warm_is_never_chosen(monkeypatch):
    monkeypatch.setattr(startup, "_warm_and_time", lambda d, m: None if m == "cifar10-small" else 0.29)
    monkeypatch.setattr(startup, "QUICKER_DEFAULTS", {})
    monkeypatch.setattr(startup, "default_models", lambda: [("cifar10", "cifar10-standard")])
    warm_in_a_thread()
    assert startup.explore_opens_on("cifar10") is None


@pytest.mark.needs_data
def test_explore_opens_on_the_quicker_model_unless_a_link_names_one(monkeypatch):
    choice = live.QuickerDefault("cifar10-small", 0.088, "cifar10-standard", 0.29)
    monkeypatch.setattr(startup, "QUICKER_DEFAULTS", {"cifar10": choice})
    at = start({"dataset": "cifar10"})
    assert at.selectbox(key="model_cifar10").value == "cifar10-small"
    assert any(choice.sentence() == c.value for c in at.caption)
    at.toggle(key="presenter").set_value(True).run()  # presenting: the line gives its room to the pictures
    assert not any(choice.sentence() == c.value for c in at.caption)
    at.toggle(key="presenter").set_value(False).run()
    at.selectbox(key="model_cifar10").set_value("cifar10-standard").run()  # one click away, and it stays
    assert not at.exception and at.selectbox(key="model_cifar10").value == "cifar10-standard"
    assert not any(choice.sentence() == c.value for c in at.caption)
    linked = start({"dataset": "cifar10", "model": "cifar10-standard"})  # a teacher's link is never changed
    assert linked.selectbox(key="model_cifar10").value == "cifar10-standard"
    assert not [w.value for w in linked.warning]
