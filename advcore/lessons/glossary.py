"""Every term the app uses, in a sentence or two, with its paper (``{key}`` placeholders as in content).

Terms and texts are English ids marked with ``N_``; ``entries`` translates them into the current language
(``advcore.i18n``), a translated term followed by the English one in parentheses, as Chinese textbooks
introduce a term: "对抗样本 (adversarial example)".
"""

from __future__ import annotations

from ..i18n import N_, _
from .content import _CITE, cite

TERMS: dict[str, str] = {
    N_("adversarial example"): N_("An input changed slightly, often invisibly, so that a model that was right gets it "
                                  "wrong ({szegedy2014})."),
    N_("eps (epsilon)"): N_("The attack's budget: the largest allowed size of the change, in pixel units on the [0, 1] "
                            "scale; shown as k/255 too ({goodfellow2015})."),
    N_("L∞ norm"): N_("The largest change of any single pixel. An L∞ budget of 8/255 lets every pixel move by up to 8 "
                      "grey levels ({goodfellow2015}; {madry2018})."),
    N_("L2 norm"): N_("The square root of the sum of squared pixel changes: the total size of the change; a few pixels "
                      "may change a lot ({carlini2017})."),
    N_("L0 norm"): N_("The number of pixel values that changed at all ({carlini2017})."),
    N_("PSNR"): N_("Peak signal-to-noise ratio, 10·log10(1 / mean squared change) in dB: higher means the change is "
                   "harder to see; infinite when nothing changed ({carlini2019})."),
    N_("KL divergence"): N_("How far the model's class probabilities moved, KL(clean ‖ adversarial) in nats; 0 when "
                            "they are equal ({carlini2019})."),
    N_("attack strength"): N_("||x − x'||: how far the attack moved the image ({madry2018})."),
    N_("defence effect"): N_("||f(x) − f(x')||: how far the model's output moved; here the L2 distance of the class "
                             "probabilities ({madry2018})."),
    N_("clean accuracy"): N_("The share of unchanged test images the model classifies correctly ({madry2018})."),
    N_("robust accuracy"): N_("The share of test images the model still classifies correctly after the attack, at a "
                              "stated eps and attack ({madry2018}; {carlini2019})."),
    N_("attack success rate"): N_("Among images the model got right, the share the attack made it get wrong (or, "
                                  "targeted, read as the target) ({carlini2019})."),
    N_("white-box attack"): N_("An attack that reads the model's gradients and weights, such as FGSM or PGD "
                               "({carlini2019})."),
    N_("black-box attack"): N_("An attack that only queries the model's outputs (score-based, e.g. the Square Attack) "
                               "or not even that (transfer) ({papernot2017}; {andriushchenko2020})."),
    N_("transfer"): N_("Using adversarial examples made on one model against another ({papernot2016})."),
    N_("targeted attack"): N_("An attack that makes the model output one chosen class, not just any wrong one "
                              "({carlini2017})."),
    N_("FGSM"): N_("Fast gradient sign method: one step x + eps·sign(∇x loss) ({goodfellow2015})."),
    N_("PGD"): N_("Projected gradient descent: many small signed-gradient steps, each projected back into the "
                  "eps-ball, optionally from a random start ({madry2018})."),
    N_("DeepFool"): N_("A minimal attack that steps to the nearest boundary of the model's linear approximation, "
                       "repeatedly ({moosavi2016})."),
    N_("C&W"): N_("Carlini & Wagner's attack: minimises the change plus a margin loss on the logits ({carlini2017})."),
    N_("adversarial training"): N_("Training on adversarial examples of the current model, made by PGD or FGSM with a "
                                   "random start ({madry2018}; {wong2020})."),
    N_("gradient masking"): N_("A defence that makes gradients useless (flat, noisy or broken) without removing "
                               "adversarial examples; gradient attacks then fail while other attacks still work "
                               "({athalye2018}; {tramer2018})."),
    N_("BPDA"): N_("Backward pass differentiable approximation: attack a non-differentiable defence (e.g. JPEG) by "
                   "using the identity, or another smooth stand-in, for its gradient ({athalye2018})."),
    N_("EOT"): N_("Expectation over transformation: attack a randomised defence by averaging the gradient over its "
                  "random draws ({athalye2018})."),
    N_("certified radius"): N_("A radius within which a prediction provably cannot change, whatever the attack; "
                               "randomized smoothing certifies an L2 radius ({cohen2019})."),
    N_("randomized smoothing"): N_("Classify many Gaussian-noised copies of an image and take the majority vote; the "
                                   "vote's margin gives a certified L2 radius ({cohen2019}; {lecuyer2019})."),
    N_("sanity flags"): N_("Warnings on an evaluation that suggest a broken attack, e.g. accuracy rising with eps or "
                           "noise beating the attack ({carlini2019})."),
    N_("logits"): N_("The model's raw class scores before the softmax; attacks use them, not probabilities, to avoid "
                     "vanishing gradients ({carlini2017})."),
}


def term_label(term: str) -> str:
    """``term`` in the current language, with the English term in parentheses when they differ."""
    shown = _(term)
    return shown if shown == term else f"{shown} ({term})"


def entries() -> list[tuple[str, str, list[str]]]:
    """(term, text with short citations, paper keys) in the current language, sorted by the English term."""
    return [(term_label(term), cite(_(text)), keys_of(text))
            for term, text in sorted(TERMS.items(), key=lambda kv: kv[0].lower())]


def keys_of(text: str) -> list[str]:
    """The paper keys ``text`` cites, in order."""
    return _CITE.findall(text)
