"""Learn: lesson texts and citations, the "try it" checks both ways, the Explore link builder, the landscape
functions and the lesson figures. Data-free tests use an untrained tiny model and random images; tests on
the shipped models are ``needs_data``."""

import numpy as np
import pytest

from advcore import landscape, links, viz_learn
from advcore.errors import AdvcoreError
from advcore.lessons import GLOSSARY_LESSON, LESSONS, checks, glossary, papers
from advcore.ui import navigation

from .conftest import APP, TIMEOUT

# --- texts ----------------------------------------------------------------------------------


def test_every_lesson_has_3_to_6_paragraphs_each_citing_a_known_paper():
    assert len(LESSONS) >= 10
    for lesson in LESSONS:
        assert 3 <= len(lesson.source) <= 6, lesson.slug
        for text in lesson.source:
            keys = checks_keys(text)
            assert keys, f"{lesson.slug}: a paragraph cites no paper: {text[:60]}"
            assert all(k in papers.PAPERS for k in keys), keys
        assert lesson.task
        assert all("{" not in p for p in lesson.paragraphs)  # every placeholder rendered
        assert len(lesson.references) == len(lesson.cites)


def checks_keys(text):
    from advcore.lessons.content import _CITE
    return _CITE.findall(text)


def test_short_citations_name_authors_and_year():
    for short, full in papers.PAPERS.values():
        assert short.split()[-1].isdigit() and short.split()[-1] in full


def test_glossary_terms_cite_known_papers():
    entries = glossary.entries()
    assert len(entries) >= 20
    for term, text, keys in entries:
        assert keys and all(k in papers.PAPERS for k in keys), term
        assert "{" not in text


def test_every_lesson_is_a_registered_page_in_order():
    learn = navigation.SECTIONS["Learn"]
    assert [spec.url_path for spec in learn] == [lesson.slug for lesson in [*LESSONS, GLOSSARY_LESSON]]
    stems = [spec.url_path for spec in navigation.all_pages()]
    assert len(stems) == len(set(stems))
    assert all((navigation.PAGES_DIR / spec.path).is_file() for spec in learn)


# --- links -----------------------------------------------------------------------------------

def test_explore_link_round_trips():
    view = dict(dataset="mnist", model="mnist-standard", image=7, attack="pgd", eps=31 / 255, steps=10,
                step_size=0.005, restarts=2, random_start=True, target=3)
    link = links.explore_link(**view)
    assert link.startswith("/?")
    back = links.parse_link(link)
    assert back == links.explore_query(**view)
    assert back["eps"] == "0.1216" and back["image"] == "7" and back["target"] == "3"
    assert back["random_start"] == "true"
    assert "norm" not in back  # None values are left out


def test_explore_link_refuses_settings_the_attack_does_not_take():
    with pytest.raises(AdvcoreError):
        links.explore_link(dataset="mnist", model="m", attack="fgsm", eps=0.1, steps=10)
    with pytest.raises(AdvcoreError):
        links.explore_link(dataset="mnist", model="m", attack="square", eps=0.1, norm="l2")
    with pytest.raises(AdvcoreError):
        links.explore_link(dataset="mnist", model="m", attack="no-such-attack", eps=0.1)


def test_link_keys_are_keys_explore_reads():
    from advcore import attacks, view
    assert links.VIEW_KEYS == view.VIEW_KEYS
    for name in attacks.ATTACKS:
        assert links.setting_keys(name) <= set(view.SETTING_KEYS), name


# --- landscape (data-free) --------------------------------------------------------------------

@pytest.fixture
def tiny(untrained_model):
    return untrained_model


@pytest.fixture
def images(random_batch):
    return random_batch[0][:8], random_batch[1][:8]


def test_landscape_shapes(tiny, images):
    x, y = images
    g = landscape.input_gradient(tiny, x, y)
    assert g.shape == x.shape and g.dtype == np.float32 and np.abs(g).max() > 0
    d = landscape.sign_direction(tiny, x[:1], y[:1])[0]
    assert set(np.unique(d)) <= {-1.0, 0.0, 1.0}
    r = landscape.random_direction(d.shape, 0)
    assert r.shape == d.shape and set(np.unique(r)) == {-1.0, 1.0}
    assert landscape.logits_along(tiny, x[0], d, [0, 0.1, 0.2]).shape == (3, 10)
    grid = landscape.landscape(tiny, x[0], int(y[0]), radius=0.3, size=11)
    assert grid.loss.shape == grid.pred.shape == (11, 11) and grid.coords.shape == (11,)
    assert grid.inside[5, 5] and not grid.inside[0, 0] and grid.inside[5, 0]
    centre = landscape.cross_entropy(landscape.logits_along(tiny, x[0], d, [0.0]), int(y[0]))[0]
    assert grid.loss[5, 5] == pytest.approx(centre, rel=1e-4)  # the image sits at the centre
    out = grid.to_json()
    assert len(out["loss"]) == 11 and len(out["pred"][0]) == 11 and 0 <= out["true_region"] <= 1
    assert landscape.features(tiny, x).shape == (8, 32)
    proj = landscape.feature_projection(tiny, x, y)
    assert proj.points.shape == (8, 2) and proj.place(landscape.features(tiny, x[:2])).shape == (2, 2)
    assert landscape.gradient_on_digit(tiny, x, y).shape == (8,)


def test_loss_rises_faster_along_the_gradient_sign_than_along_random_directions(tiny, images):
    x, y = images
    eps = [0.0, 0.02, 0.05]
    rises_grad, rises_rand = [], []
    for i in range(len(x)):
        d = landscape.sign_direction(tiny, x[i:i + 1], y[i:i + 1])[0]
        along = landscape.loss_along(tiny, x[i], int(y[i]), d, eps, clip=False)
        rises_grad.append(along[-1] - along[0])
        for seed in range(3):
            rand = landscape.loss_along(tiny, x[i], int(y[i]), landscape.random_direction(d.shape, seed), eps,
                                        clip=False)
            rises_rand.append(abs(rand[-1] - rand[0]))
    assert min(rises_grad) > 0
    assert np.mean(rises_grad) > 3 * np.mean(rises_rand)


def test_near_strokes_marks_the_neighbourhood_of_bright_pixels():
    x = np.zeros((1, 5, 5, 1), np.float32)
    x[0, 2, 2, 0] = 1
    near = landscape.near_strokes(x)[0, ..., 0]
    assert near.sum() == 9 and near[1:4, 1:4].all()


def test_landscape_cli_json(capsys, monkeypatch, tiny):
    import json

    from advcore import zoo
    monkeypatch.setattr(zoo, "load", lambda model_id: tiny)
    assert landscape.main(["--dataset", "mnist", "--model", "tiny", "--index", "3", "--size", "9", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert np.asarray(out["loss"]).shape == (9, 9) and np.asarray(out["pred"]).shape == (9, 9)
    assert out["radius"] == 0.3  # MNIST's budget by default
    assert landscape.main(["--dataset", "mnist", "--model", "tiny", "--radius", "5"]) == 2


# --- checks (data-free: the untrained model's own answers decide what counts) --------------------

def pred(model, x):
    from advcore.attacks.base import logits_of
    return int(logits_of(model, x).argmax(1)[0])


def test_fgsm_flip_accepts_a_flip_and_rejects_no_flip_and_over_budget(tiny, images):
    x = images[0][:1]
    y = pred(tiny, x)
    done = checks.fgsm_flip(tiny, x, y, 0.3, budget=0.3)
    assert done.done and done.message.startswith("done:")  # an untrained model flips at 0.3
    zero = checks.fgsm_flip(tiny, x, y, 0.0)
    assert not zero.done and zero.message.startswith("not yet:")
    assert not checks.fgsm_flip(tiny, x, y, 0.3, budget=40 / 255).done
    assert not checks.fgsm_flip(tiny, x, (y + 1) % 10, 0.1).done  # already wrong


def test_direction_check(tiny, images):
    x = images[0][:1]
    y = pred(tiny, x)
    results = [checks.direction(tiny, x, y, e) for e in (0.0, 0.02, 0.05, 0.1, 0.2, 0.4)]
    assert not results[0].done
    assert any(r.done for r in results)
    for r in results:  # done exactly when FGSM flips and noise does not
        n = r.numbers
        assert r.done == (n["fgsm_class"] != y and n["noise_class"] == y)


def test_linearity_check(tiny, images):
    x = images[0][:1]
    y = pred(tiny, x)
    small = landscape.landscape(tiny, x, y, radius=1e-4, size=5)
    large = landscape.landscape(tiny, x, y, radius=0.5, size=11)
    assert large.true_region < 1
    assert checks.linearity(large, small).done  # "standard" leaves the ball, "robust" does not
    assert not checks.linearity(small, small).done
    assert not checks.linearity(large, large).done
    # What was measured is a 2-D slice: no verdict claims the whole ball holds only the true class.
    for verdict in (checks.linearity(large, small), checks.linearity(small, small)):
        assert "2-D slice" in verdict.message and "holds only" not in verdict.message


def test_features_land_check(tiny, images):
    x, _ = images
    y = pred(tiny, x[:1])
    feats = landscape.features(tiny, x)
    labels = np.arange(len(x)) % 10
    means = checks.class_means(feats, labels)
    means[y] = landscape.features(tiny, x[:1])[0]  # class y's mean is the clean image itself
    assert not checks.features_land(tiny, x[:1], y, 0.0, means).done
    moved = checks.features_land(tiny, x[:1], y, 0.3, means)
    assert moved.done == (moved.numbers["nearest_class"] != y)
    assert not checks.features_land(tiny, x[:1], y, 0.5, means, budget=0.3).done


def test_pgd_fails_check(tiny, images):
    x = images[0][:1]
    y = pred(tiny, x)
    assert checks.pgd_fails(tiny, x, y, 0.2, step_size=1e-5).done  # a tiny step cannot leave the start
    assert not checks.pgd_fails(tiny, x, y, 0.2, step_size=0.05).done
    assert not checks.pgd_fails(tiny, x, y, 0.0, step_size=1e-5).done  # nothing flips at eps 0


def test_targeted_check(tiny, images):
    x = images[0][:1]
    y = pred(tiny, x)
    target = (y + 1) % 10
    assert checks.targeted(tiny, x, y, target, 0.5, budget=0.5).done
    assert not checks.targeted(tiny, x, y, target, 0.0).done
    assert not checks.targeted(tiny, x, y, target, 0.3, budget=0.2).done
    assert not checks.targeted(tiny, x, y, y, 0.1).done


def test_square_check(tiny, images):
    x = images[0][:1]
    y = pred(tiny, x)
    v = checks.square(tiny, x, y, 0.2, 500)
    assert v.done == (v.numbers["adv_class"] != y) and v.done  # the untrained model falls at 0.2
    assert not checks.square(tiny, x, y, 0.0, 100).done
    assert not checks.square(tiny, x, y, 0.3, 100).done  # over the eps budget
    assert not checks.square(tiny, x, y, 0.2, 1000).done  # over the query budget


def test_robust_gap_check(tiny, images):
    from advcore import zoo
    x = images[0][:1]
    y = pred(tiny, x)
    # a model that always answers y stands in for a perfectly robust one
    import keras
    always = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                               keras.layers.Dense(10, kernel_initializer="zeros",
                                                  bias_initializer=keras.initializers.Constant(
                                                      np.eye(10)[y] * 10))])
    assert checks.robust_gap(tiny, always, x, y, 0.3).done
    assert not checks.robust_gap(tiny, tiny, x, y, 0.3).done
    assert not checks.robust_gap(always, always, x, y, 0.3).done
    assert zoo  # keeps the import used


def test_adaptive_break_check(tiny, images):
    from advcore import defences
    x = images[0][:1]
    y = pred(defences.apply(tiny, "bits:2"), x)
    done = checks.adaptive_break(tiny, x, y, "bits:2", "bpda", 0.2)
    assert done.done, done.message  # naive PGD sees a zero gradient through bits:2; BPDA gets through
    assert not checks.adaptive_break(tiny, x, y, "bits:2", "none", 0.2).done
    assert not checks.adaptive_break(tiny, x, y, "bits:2", "bpda", 0.0).done
    assert not checks.adaptive_break(tiny, x, y, "bits:2", "bpda", 0.3).done  # over the budget


def test_certified_check(tiny, images):
    x = images[0][:1]
    y = pred(tiny, x)
    small = checks.certified(tiny, x, y, 0.25, radius=0.01, n0=20, n=200)
    assert small.done == (small.numbers["pred"] == y and small.numbers["radius"] >= 0.01)
    assert small.done, small.message
    assert not checks.certified(tiny, x, y, 0.25, radius=5.0, n0=20, n=200).done  # beyond any radius 200 votes give
    assert not checks.certified(tiny, x, (y + 1) % 10, 0.25, radius=0.01, n0=20, n=200).done


# --- figures ------------------------------------------------------------------------------------

def test_figures_use_large_fonts(tiny, images):
    x, y = images
    grid = landscape.landscape(tiny, x[0], int(y[0]), radius=0.3, size=7)
    names = [str(c) for c in range(10)]
    figures = [viz_learn.image_row([x[0], x[0] - 0.5], ["a", "b"], signed=[False, True]),
               viz_learn.lines([0, 1], {"a": [0, 1]}, "x", "y", title="t", marker_x=0.5),
               viz_learn.landscape_figure(grid, names, "title"),
               viz_learn.feature_scatter(np.zeros((4, 2)), np.arange(4), names, [0, 0], [1, 1]),
               viz_learn.tradeoff_scatter([{"id": "m", "clean": 0.9, "robust": 0.5}])]
    for fig in figures:
        assert fig.layout.font.size >= 14
        for annotation in fig.layout.annotations:
            assert annotation.font.size is None or annotation.font.size >= 14


# --- the shipped models (needs_data) --------------------------------------------------------------

@pytest.mark.needs_data
def test_robust_model_landscape_is_flatter_than_the_standard_one():
    from advcore import data, zoo
    split = data.load("mnist", "test")
    std, rob = zoo.load("mnist-standard"), zoo.load("mnist-pgd")
    worse = []
    for i in range(10):
        a = landscape.landscape(std, split.x[i], int(split.y[i]), data.info("mnist").budget, 21)
        b = landscape.landscape(rob, split.x[i], int(split.y[i]), data.info("mnist").budget, 21)
        worse.append(b.max_loss < a.max_loss)
    assert np.mean(worse) >= 0.9


@pytest.mark.needs_data
def test_robust_model_gradients_sit_on_the_digit():
    from advcore import data, zoo
    split = data.load("mnist", "test")
    x, y = split.x[:100], split.y[:100]
    std = landscape.gradient_on_digit(zoo.load("mnist-standard"), x, y).mean()
    rob = landscape.gradient_on_digit(zoo.load("mnist-pgd"), x, y).mean()
    assert rob > std + 0.05, (std, rob)


@pytest.mark.needs_data
def test_lesson_one_task_on_the_shipped_model():
    from advcore import data, zoo
    split = data.load("mnist", "test")
    model = zoo.load("mnist-standard")
    x, y = split.x[4:5], int(split.y[4])  # the lesson's first image
    assert checks.fgsm_flip(model, x, y, 40 / 255).done
    assert not checks.fgsm_flip(model, x, y, 20 / 255).done


def open_page(slug):
    """Run app.py on one Learn page (not through Explore first)."""
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page(f"pages/learn/{slug}.py")
    at.run()
    return at


@pytest.mark.needs_data
@pytest.mark.parametrize("slug", [lesson.slug for lesson in [*LESSONS, GLOSSARY_LESSON]])
def test_each_lesson_page_runs(slug):
    at = open_page(slug)
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value.endswith(next(lesson.title for lesson in [*LESSONS, GLOSSARY_LESSON]
                                           if lesson.slug == slug).split(". ")[-1])


@pytest.mark.needs_data
def test_lesson_one_check_button_answers_on_the_server():
    at = open_page("learn_what")
    at.select_slider(key="what_eps").set_value(round(40 / 255, 6)).run()
    at.button(key="what_check").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.success and at.success[0].value.startswith("done:")
    at.select_slider(key="what_eps").set_value(round(1 / 255, 6)).run()
    # The verdict spoke of 40/255: once eps moves it is gone, not left beside the new value.
    assert not at.success and not any(w.value.startswith(("done:", "not yet:")) for w in at.warning)
    at.button(key="what_check").click().run()
    assert at.warning and at.warning[0].value.startswith("not yet:")


@pytest.mark.needs_data
def test_a_lesson_link_opens_that_view_in_explore():
    from streamlit.testing.v1 import AppTest
    link = links.explore_link(dataset="mnist", model="mnist-standard", image=4, attack="fgsm", eps=31 / 255)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update(links.parse_link(link))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.warning, [w.value for w in at.warning]  # every value of the link was accepted
    assert at.selectbox(key="attack").value == "fgsm"
    assert at.number_input(key="image_index").value == 4


@pytest.mark.needs_data
def test_masking_lesson_shows_the_distilled_model_hiding_its_gradient():
    """Lesson 9 on the shipped mnist-distilled: PGD on cross-entropy leaves the true class, APGD-DLR does not,
    and nearly every image has an all-zero cross-entropy gradient."""
    from advcore import data, zoo
    split = data.load("mnist", "test")
    d = checks.distilled_attacks(zoo.load("mnist-distilled"), split.x[:1], int(split.y[0]), 0.3)
    assert d["pgd"] == split.y[0] and d["apgd_dlr"] != split.y[0] and d["zero_gradient"] > 0.9
    at = open_page("learn_masking")
    at.toggle(key="masking_distilled").set_value(True).run()
    assert not at.exception, [e.value for e in at.exception]
    labels = [m.label for m in at.metric]
    assert "PGD on cross-entropy" in labels and "APGD on the DLR loss" in labels
    assert float(at.metric[labels.index("zero input gradients")].value.rstrip("%")) > 90
