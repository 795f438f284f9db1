"""The same PGD / FGSM, four ways, on one Keras model: advcore, a bare tf.function loop
(the floor), Foolbox 3 and IBM ART. Each returns adversarial images as NumPy."""

from __future__ import annotations

import os

import numpy as np
import tensorflow as tf

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def ours_pgd(model, x, y, eps, alpha, steps):
    from advcore import attacks
    return attacks.run("pgd", model, x, y, eps=eps, step_size=alpha, steps=steps).x_adv


def ours_fgsm(model, x, y, eps):
    from advcore import attacks
    return attacks.run("fgsm", model, x, y, eps=eps).x_adv


def make_floor(model):
    """A bare hand-written PGD loop in one tf.function: no restarts, no best-iterate tracking."""
    ce = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    @tf.function(reduce_retracing=True)
    def run(x, y, eps, alpha, steps):
        delta = tf.random.uniform(tf.shape(x), -eps, eps)
        delta = tf.clip_by_value(x + delta, 0.0, 1.0) - x
        for _ in tf.range(steps):
            with tf.GradientTape() as tape:
                tape.watch(delta)
                loss = ce(y, model(x + delta, training=False))
            grad = tape.gradient(loss, delta)
            delta = tf.clip_by_value(delta + alpha * tf.sign(grad), -eps, eps)
            delta = tf.clip_by_value(x + delta, 0.0, 1.0) - x
        return x + delta

    def pgd(model_, x, y, eps, alpha, steps):
        return run(tf.constant(x), tf.constant(y.astype(np.int32)), tf.constant(eps, tf.float32),
                   tf.constant(alpha, tf.float32), tf.constant(steps)).numpy()
    return pgd


def make_foolbox(model):
    import foolbox as fb
    fmodel = fb.TensorFlowModel(model, bounds=(0, 1))

    def pgd(model_, x, y, eps, alpha, steps):
        attack = fb.attacks.LinfPGD(steps=steps, abs_stepsize=alpha, random_start=True)
        # int64 labels: eagerpy's dtype promotion breaks on NumPy 2 when they differ from argmax's
        _, adv, _ = attack(fmodel, tf.constant(x), tf.constant(y.astype(np.int64)), epsilons=eps)
        return adv.numpy()

    def fgsm(model_, x, y, eps):
        _, adv, _ = fb.attacks.FGSM()(fmodel, tf.constant(x), tf.constant(y.astype(np.int64)), epsilons=eps)
        return adv.numpy()
    return pgd, fgsm


def make_art(model, input_shape, classes=10, batch_size=1000):
    from art.attacks.evasion import FastGradientMethod, ProjectedGradientDescent
    from art.estimators.classification import TensorFlowV2Classifier
    clf = TensorFlowV2Classifier(model=model, nb_classes=classes, input_shape=input_shape, clip_values=(0.0, 1.0),
                                 loss_object=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))

    def pgd(model_, x, y, eps, alpha, steps):
        attack = ProjectedGradientDescent(clf, norm=np.inf, eps=eps, eps_step=alpha, max_iter=steps,
                                          num_random_init=1, batch_size=batch_size, verbose=False)
        return attack.generate(x, y=np.eye(classes)[y]).astype(np.float32)

    def fgsm(model_, x, y, eps):
        attack = FastGradientMethod(clf, norm=np.inf, eps=eps, batch_size=batch_size)
        return attack.generate(x, y=np.eye(classes)[y]).astype(np.float32)
    return pgd, fgsm


def accuracy(model, x_adv, y) -> float:
    from advcore.attacks.base import logits_of
    return float((logits_of(model, x_adv).argmax(1) == y).mean())
