"""advcore.view without data or Streamlit: the one Explore view, its query string both ways, and what a move to
another data set, attack or norm keeps."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from advcore import attacks, data, defences, links
from advcore.view import SETTING_KEYS, ExploreView, setting_names

SHIPPED = ("mnist", "fashion", "cifar10")


def _setting_value(p):
    if p.kind == "bool":
        return st.booleans()
    if p.kind == "choice":
        return st.sampled_from(p.choices)
    if p.kind == "model":
        return st.sampled_from(["mnist-pgd", "mnist-standard", "other-1"])
    if p.kind == "int":
        return st.integers(int(p.low), min(int(p.high), 10**6))
    return st.floats(float(p.low), float(p.high), allow_nan=False).map(lambda v: round(v, 4))


@st.composite
def views(draw):
    dataset = draw(st.sampled_from(SHIPPED))
    attack = draw(st.sampled_from(list(attacks.ATTACKS)))
    spec = attacks.get(attack)
    norm = draw(st.one_of(st.none(), st.sampled_from(spec.norms)))
    effective = ExploreView(attack=attack, norm=norm).effective_norm
    grid = data.info(dataset).eps_range(effective).grid()
    params = {p.name: p for p in spec.params if p.name in setting_names(attack)}
    chosen = draw(st.lists(st.sampled_from(sorted(params)), unique=True)) if params else []
    settings_ = tuple(sorted((name, draw(_setting_value(params[name]))) for name in chosen))
    defence = draw(st.one_of(st.none(), st.sampled_from(["jpeg:60", "bits:2", "median:3", "resize-pad",
                                                          "smooth:0.12:16"])))
    classes = len(data.info(dataset).class_names)
    model_id = st.from_regex(r"[a-z0-9][a-z0-9-]{0,20}", fullmatch=True)
    return ExploreView(
        dataset=dataset, model=draw(st.one_of(st.none(), model_id)),
        image=draw(st.one_of(st.none(), st.integers(0, 10**5))),
        kept=draw(st.one_of(st.none(), st.from_regex(r"[a-zA-Z0-9]{1,16}", fullmatch=True))),
        attack=attack, eps=draw(st.one_of(st.none(), st.sampled_from(grid))), norm=norm,
        target=draw(st.one_of(st.none(), st.integers(0, classes - 1))) if spec.targeted else None,
        settings=settings_, defence=str(defences.parse(defence)) if defence else None,
        adaptive=draw(st.booleans()) if defence else False, model_b=draw(st.one_of(st.none(), model_id)))


@settings(max_examples=300, deadline=None)
@given(views())
def test_a_view_survives_its_query_string(view):
    back, messages = ExploreView.from_query(view.to_query())
    assert messages == []
    assert back == view


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["dataset", "model", "image", "kept", "attack", "eps", "norm", "target",
                                        "model_b", "defence", "adaptive", *SETTING_KEYS, "other"]),
                       st.one_of(st.text(max_size=30), st.sampled_from(["nan", "inf", "-1", "1e9", "0.3", "l2",
                                                                         "true", "pgd", "jpeg:500", "99"]))))
def test_any_query_gives_a_view_and_messages_never_an_exception(query):
    view, messages = ExploreView.from_query(query)
    assert isinstance(view, ExploreView) and all(isinstance(m, str) for m in messages)
    again, more = ExploreView.from_query(view.to_query())  # what was kept is itself a valid view
    assert again == view and more == []


# Hostile or mistaken links and what each is told (Explore shows the same messages: tests/test_app.py).
HOSTILE_QUERIES = [
    ({"dataset": "../../etc/passwd"}, "unknown data set"),
    ({"model": "../../etc/passwd"}, "not available"),
    ({"eps": "nan"}, "not a number"),
    ({"eps": "1e9"}, "outside"),
    ({"image": "-5"}, "outside"),
    ({"image": "<script>alert(1)</script>"}, "not a number"),
    ({"attack": "rm -rf"}, "unknown attack"),
    ({"norm": "l3"}, "not linf or l2"),
    ({"attack": "square", "norm": "l2"}, "does not do the l2 norm"),
    ({"target": "10"}, "not a class"),
    ({"attack": "deepfool", "target": "3"}, "no targeted mode"),
    ({"steps": "many"}, "steps is refused"),
    ({"defence": "jpeg:500"}, "defence is refused"),
    ({"defence": "jpeg:60+bits:2"}, "applies one defence"),
    ({"kept": "../x"}, "not valid"),
]


@pytest.mark.parametrize("query,expected", HOSTILE_QUERIES)
def test_bad_queries_give_messages(query, expected):
    view, messages = ExploreView.from_query(query)
    assert any(expected in m for m in messages), messages


def test_only_offered_models_are_taken():
    view, messages = ExploreView.from_query({"model": "mnist-pgd", "model_b": "nope"},
                                            model_ids=lambda dataset: ["mnist-standard", "mnist-pgd"])
    assert view.model == "mnist-pgd" and view.model_b is None and "not available" in messages[0]


def test_eps_is_read_onto_the_data_sets_grid():
    view, _ = ExploreView.from_query({"dataset": "cifar10", "eps": "0.0314"})
    assert view.eps == pytest.approx(8 / 255, abs=1e-6)
    assert ExploreView(dataset="cifar10").effective_eps == pytest.approx(8 / 255)
    assert ExploreView(attack="deepfool").effective_norm == "l2" and ExploreView().effective_norm == "linf"


def test_attack_switches_keep_the_norm_and_eps_that_still_apply():
    view = ExploreView(eps=0.2, settings=(("steps", 30),))
    deepfool = view.with_attack("deepfool")
    assert deepfool.effective_norm == "linf" and deepfool.eps == 0.2  # DeepFool's own default norm is l2
    assert deepfool.setting("steps") == 30
    square = deepfool.with_attack("square")
    assert square.effective_norm == "linf" and square.eps == 0.2 and square.setting("steps") is None
    cw = square.with_attack("cw-l2", eps_for=lambda norm: 1.5)
    assert cw.effective_norm == "l2" and cw.eps == 1.5
    assert view.replace(target=3).with_attack("deepfool").target is None
    assert view.replace(target=3).with_attack("fgsm").target == 3


def test_norm_and_data_set_moves():
    view = ExploreView(model="mnist-pgd", image=4, eps=0.2, settings=(("steps", 30),), defence="jpeg:60")
    l2 = view.with_norm("l2")
    assert l2.effective_norm == "l2" and l2.eps is None and l2.setting("steps") == 30
    with pytest.raises(ValueError):
        view.with_attack("square").with_norm("l2")
    cifar = view.with_dataset("cifar10")
    assert (cifar.model, cifar.image, cifar.eps, cifar.defence, cifar.setting("steps")) == \
        (None, None, None, "jpeg:60", 30)


def test_a_setting_at_its_default_is_not_written():
    view = ExploreView().with_setting("steps", 20).with_setting("restarts", 2)
    assert view.settings == (("restarts", 2),)
    assert view.with_setting("step_size", None).settings == (("restarts", 2),)
    assert "steps" not in view.to_query() and view.to_query()["restarts"] == "2"


def test_links_write_the_view():
    link = links.explore_link(dataset="mnist", model="mnist-standard", image=3, attack="pgd", eps=0.15,
                              defence="jpeg:50", adaptive=True, steps=20)
    view, messages = ExploreView.from_query(links.parse_link(link))
    assert not messages and view.defence == "jpeg:50" and view.adaptive and view.setting("steps") == 20
