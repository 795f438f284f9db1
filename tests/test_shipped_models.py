"""The shipped zoo: every model loads (sha256 against its card, safe mode), its card is complete,
and each robust model is clearly more robust than its standard sibling at its eps."""

import numpy as np
import pytest

from advcore import attacks, cards, data, evaluate, metrics, zoo

pytestmark = pytest.mark.needs_data  # loads the shipped models or the data sets

CARDS = [c for c in zoo.list_cards() if c["shipped"]]
ROBUST = [c for c in CARDS if c["recipe"]["recipe"] not in ("standard", "distill")]
DISTILLED = [c for c in CARDS if c["recipe"]["recipe"] == "distill"]


def test_the_zoo_is_not_empty():
    assert {c["dataset"] for c in CARDS} >= {"mnist"}
    assert ROBUST, "at least one adversarially trained model is shipped"


@pytest.mark.parametrize("card", CARDS, ids=lambda c: c["id"])
def test_model_loads_checked_and_card_is_complete(card):
    zoo.forget(card["id"])
    model = zoo.load(card["id"])  # raises if the sha256 does not match the card
    assert card["weights_sha256"] == data.sha256_file(zoo.models_dir() / card["weights_file"])
    for key in ("id", "dataset", "architecture", "recipe", "data", "training", "results"):
        assert key in card, key
    assert card["training"]["seconds"] > 0 and card["training"]["hardware"] and card["training"]["command"]
    assert card["data"]["source"] and card["results"]["full_test_set"]
    for entry in card["results"]["robust"]:
        assert entry["command"].startswith("python -m advcore evaluate") and 0 <= entry["robust_accuracy"] <= 1
    split = data.load(card["dataset"], "test")
    logits = np.asarray(model(split.x[:200], training=False))
    assert not np.allclose(logits.sum(axis=1), 1.0)  # logits, not probabilities
    assert metrics.accuracy(logits, split.y[:200]) > card["results"]["clean_accuracy"] - 0.05


@pytest.mark.parametrize("card", ROBUST, ids=lambda c: c["id"])
def test_robust_model_beats_its_standard_sibling(card):
    sibling = next((c for c in CARDS if c["dataset"] == card["dataset"] and c["recipe"]["recipe"] == "standard"),
                   None)
    if sibling is None:
        pytest.skip(f"no standard {card['dataset']} model shipped")
    eps = card["recipe"]["eps"]
    robust = _pgd20_accuracy(card["id"], card["dataset"], eps)
    standard = _pgd20_accuracy(sibling["id"], card["dataset"], eps)
    assert robust > standard + 0.15, (robust, standard)  # at least 15 accuracy points


_PGD20: dict = {}  # (model id, eps) -> accuracy: MNIST's three robust models share mnist-standard at eps 0.3


def _pgd20_accuracy(model_id: str, dataset: str, eps: float) -> float:
    """Accuracy of a shipped model under PGD-20 at ``eps`` on the first 150 test images (deterministic: its random
    start is seeded), measured once per module for each model and eps."""
    if (model_id, eps) not in _PGD20:
        split = data.load(dataset, "test")
        x, y = split.x[:150], split.y[:150]  # the gaps are 40 points or more; 150 images resolve 15 well
        _PGD20[model_id, eps] = metrics.accuracy(attacks.run("pgd", zoo.load(model_id), x, y, eps=eps,
                                                             steps=20).adv_logits, y)
    return _PGD20[model_id, eps]


@pytest.mark.parametrize("card", DISTILLED, ids=lambda c: c["id"])
def test_distilled_model_masks_gradients_and_falls_to_a_scale_invariant_attack(card):
    """Defensive distillation (Papernot et al. 2016) hides the cross-entropy gradient: PGD on it looks
    weak, APGD on the DLR loss (Croce & Hein 2020) is not fooled, and the zero-gradient check fires."""
    model = zoo.load(card["id"])
    split = data.load(card["dataset"], "test")
    x, y = split.x[:200], split.y[:200]
    eps = max(cards.reference_eps(card["dataset"]))  # MNIST: 0.3
    naive = metrics.accuracy(attacks.run("pgd", model, x, y, eps=eps, steps=20).adv_logits, y)
    dlr = metrics.accuracy(attacks.run("apgd-dlr", model, x, y, eps=eps, steps=50).adv_logits, y)
    assert naive > 0.5 and dlr < naive - 0.3, (naive, dlr)
    assert not evaluate.gradient_check(model, x, y).ok
    flags = {f["check"]: f["ok"] for f in card["results"]["sanity"]["flags"]}
    assert not all(flags.values()), flags  # the card's own sanity checks flag the naive evaluation
