"""Every term the app uses, in a sentence or two, with its paper (``{key}`` placeholders as in content)."""

from __future__ import annotations

from .content import _CITE
from .papers import short

TERMS: dict[str, str] = {
    "adversarial example": "An input changed slightly, often invisibly, so that a model that was right gets it "
                           "wrong ({szegedy2014}).",
    "eps (epsilon)": "The attack's budget: the largest allowed size of the change, in pixel units on the [0, 1] "
                     "scale; shown as k/255 too ({goodfellow2015}).",
    "L∞ norm": "The largest change of any single pixel. An L∞ budget of 8/255 lets every pixel move by up to 8 "
               "grey levels ({goodfellow2015}; {madry2018}).",
    "L2 norm": "The square root of the sum of squared pixel changes: the total size of the change; a few pixels "
               "may change a lot ({carlini2017}).",
    "L0 norm": "The number of pixel values that changed at all ({carlini2017}).",
    "PSNR": "Peak signal-to-noise ratio, 10·log10(1 / mean squared change) in dB: higher means the change is "
            "harder to see; infinite when nothing changed ({carlini2019}).",
    "KL divergence": "How far the model's class probabilities moved, KL(clean ‖ adversarial) in nats; 0 when "
                     "they are equal ({carlini2019}).",
    "attack strength": "||x − x'||: how far the attack moved the image ({madry2018}).",
    "defence effect": "||f(x) − f(x')||: how far the model's output moved; here the L2 distance of the class "
                      "probabilities ({madry2018}).",
    "clean accuracy": "The share of unchanged test images the model classifies correctly ({madry2018}).",
    "robust accuracy": "The share of test images the model still classifies correctly after the attack, at a "
                       "stated eps and attack ({madry2018}; {carlini2019}).",
    "attack success rate": "Among images the model got right, the share the attack made it get wrong (or, "
                           "targeted, read as the target) ({carlini2019}).",
    "white-box attack": "An attack that reads the model's gradients and weights, such as FGSM or PGD "
                        "({carlini2019}).",
    "black-box attack": "An attack that only queries the model's outputs (score-based, e.g. the Square Attack) "
                        "or not even that (transfer) ({papernot2017}; {andriushchenko2020}).",
    "transfer": "Using adversarial examples made on one model against another ({papernot2016}).",
    "targeted attack": "An attack that makes the model output one chosen class, not just any wrong one "
                       "({carlini2017}).",
    "FGSM": "Fast gradient sign method: one step x + eps·sign(∇x loss) ({goodfellow2015}).",
    "PGD": "Projected gradient descent: many small signed-gradient steps, each projected back into the eps-ball, "
           "optionally from a random start ({madry2018}).",
    "DeepFool": "A minimal attack that steps to the nearest boundary of the model's linear approximation, "
                "repeatedly ({moosavi2016}).",
    "C&W": "Carlini & Wagner's attack: minimises the change plus a margin loss on the logits ({carlini2017}).",
    "adversarial training": "Training on adversarial examples of the current model, made by PGD or FGSM with a "
                            "random start ({madry2018}; {wong2020}).",
    "gradient masking": "A defence that makes gradients useless (flat, noisy or broken) without removing "
                        "adversarial examples; gradient attacks then fail while other attacks still work "
                        "({athalye2018}; {tramer2018}).",
    "BPDA": "Backward pass differentiable approximation: attack a non-differentiable defence (e.g. JPEG) by using "
            "the identity, or another smooth stand-in, for its gradient ({athalye2018}).",
    "EOT": "Expectation over transformation: attack a randomised defence by averaging the gradient over its "
           "random draws ({athalye2018}).",
    "certified radius": "A radius within which a prediction provably cannot change, whatever the attack; "
                        "randomized smoothing certifies an L2 radius ({cohen2019}).",
    "randomized smoothing": "Classify many Gaussian-noised copies of an image and take the majority vote; the "
                            "vote's margin gives a certified L2 radius ({cohen2019}; {lecuyer2019}).",
    "sanity flags": "Warnings on an evaluation that suggest a broken attack, e.g. accuracy rising with eps or "
                    "noise beating the attack ({carlini2019}).",
    "logits": "The model's raw class scores before the softmax; attacks use them, not probabilities, to avoid "
              "vanishing gradients ({carlini2017}).",
}


def entries() -> list[tuple[str, str, list[str]]]:
    """(term, text with short citations, paper keys) sorted by term."""
    return [(term, _CITE.sub(lambda m: short(m.group(1)), text), _CITE.findall(text))
            for term, text in sorted(TERMS.items(), key=lambda kv: kv[0].lower())]
