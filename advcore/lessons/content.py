"""The lessons' texts: plain language, each paragraph citing its papers.

A paragraph names its papers as ``{key}`` placeholders (keys of ``papers.PAPERS``); ``Lesson.paragraphs``
renders them as "(Goodfellow, Shlens & Szegedy 2015)"-style short citations and ``Lesson.references``
lists the full references, so a page cannot cite a paper the bibliography lacks.

The texts are English ids marked with ``N_`` (docs/i18n.md); ``heading``, ``task_text`` and ``paragraphs``
translate them into the current language (``advcore.i18n``) when a page shows them. A translation keeps
every ``{key}`` of its paragraph (tests/test_i18n.py checks it), so citations and references stay the same.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..i18n import N_, _
from . import papers

_CITE = re.compile(r"\{([a-z0-9]+)\}")


def cite(text: str) -> str:
    """``text`` with each ``{key}`` replaced by the paper's short citation."""
    return _CITE.sub(lambda m: papers.short(m.group(1)), text)


@dataclass(frozen=True)
class Lesson:
    """slug: the page's file stem (its URL); task: what the student is asked to do, checked on the server.
    title, menu, source and task are the English texts (message ids)."""

    slug: str
    title: str
    menu: str
    icon: str
    source: tuple[str, ...]
    task: str

    @property
    def cites(self) -> list[str]:
        """Paper keys in order of first citation."""
        seen: list[str] = []
        for text in self.source:
            seen += [k for k in _CITE.findall(text) if k not in seen]
        return seen

    @property
    def paragraphs(self) -> list[str]:
        """The paragraphs in the current language, citations rendered."""
        return [cite(_(text)) for text in self.source]

    @property
    def heading(self) -> str:
        """The title in the current language."""
        return _(self.title)

    @property
    def task_text(self) -> str:
        """The task in the current language."""
        return _(self.task) if self.task else ""

    @property
    def references(self) -> list[str]:
        return [papers.full(k) for k in self.cites]


LESSONS: list[Lesson] = [
    Lesson(
        "learn_what", N_("1. What an adversarial example is"), N_("What an adversarial example is"),
        ":material/looks_one:",
        (N_("A classifier that gets an image right can often be made to get it wrong by a change so small that a "
            "person does not notice it. Such an input is called an adversarial example ({szegedy2014})."),
         N_("The fast gradient sign method (FGSM) makes one in a single step. It asks, for every pixel, which way "
            "the model's loss rises: that is the gradient of the loss with respect to the pixels, ∇x L(f(x), y). "
            "It keeps only the sign of each entry (+1 or −1) and moves every pixel by eps that way: "
            "x' = clip(x + eps · sign(∇x L(f(x), y))) ({goodfellow2015}). The pictures below are these steps."),
         N_("Because every pixel moves by at most eps, the change is bounded in the L∞ norm: eps = 0.1 means no "
            "pixel changes by more than 25.5 of 255 grey levels ({goodfellow2015}; {madry2018})."),
         N_("Two numbers describe every attack in this app: the attack strength ||x − x'||, how far the image moved, "
            "and the defence effect ||f(x) − f(x')||, how far the model's output (its class probabilities) moved. "
            "A robust model keeps the second small while the first grows ({madry2018}).")),
        N_("Flip this test image with FGSM on mnist-standard using an eps of at most 40/255.")),
    Lesson(
        "learn_direction", N_("2. Direction matters"), N_("Direction matters"), ":material/looks_two:",
        (N_("An adversarial change is not just any small change. Random noise with exactly the same budget barely "
            "moves the prediction; the change has to point in the right direction ({szegedy2014}; "
            "{goodfellow2015})."),
         N_("A simple model explains why. For a linear score w·x, the step eps·sign(w) raises the score by "
            "eps·||w||₁, which grows with the number of pixels; a random ±eps step raises it by about "
            "eps·||w||₂, far less, because random signs mostly cancel ({goodfellow2015})."),
         N_("The curves below show this over the first test images (100, or 500 with the button): under FGSM "
            "accuracy falls fast as eps grows, under random noise of the same eps it stays high. That is why a "
            "fair evaluation reports random noise as a control: an attack that does no better than noise is not "
            "an attack ({carlini2019}).")),
        N_("Find an eps at which FGSM fools the model on this image but random noise of the same eps does not.")),
    Lesson(
        "learn_linearity", N_("3. Why it works: linearity"), N_("Why it works: linearity"), ":material/looks_3:",
        (N_("Goodfellow and colleagues argued that networks are fooled because they are too linear, not too "
            "non-linear: ReLU networks are piecewise linear, so along the gradient sign their logits change almost "
            "in straight lines as eps grows ({goodfellow2015})."),
         N_("The first chart moves one image along the sign of its gradient (solid) and along random sign "
            "directions of the same size (dashed). Along the gradient the true class's logit falls and another "
            "class overtakes it; along random directions the logits move far less ({goodfellow2015})."),
         N_("The maps show a 2-D slice of input space around the image: across, the gradient sign; up, a random "
            "sign direction; colour, the loss, and on the right the class the model predicts. The dashed diamond "
            "is the L∞ ball of radius eps that an attack may search. Loss surfaces drawn this way show how sharply "
            "the loss rises along the gradient ({tramer2018})."),
         N_("An adversarially trained model learns on the worst points of that ball, so its loss stays flat inside "
            "it and the true class fills it; the standard model's loss climbs steeply along the gradient and "
            "another class enters the ball ({madry2018}).")),
        N_("Choose a radius at which, in these 2-D slices, another class enters the standard model's ball while "
           "the robust model's ball shows only the true class.")),
    Lesson(
        "learn_features", N_("4. Where the example lands"), N_("Where the example lands"), ":material/looks_4:",
        (N_("A network first turns an image into features (the numbers feeding its last layer) and then separates "
            "the classes in that feature space. A 2-D picture of the features of 1,000 test images shows each class "
            "as a cloud; AdvEx teaches attacks with such a \"data projector\" ({you2023})."),
         N_("The picture is a principal component analysis: its two axes are the directions along which the "
            "features vary most. It keeps only part of the information, so clouds that overlap in the picture may "
            "be apart in the full space ({pearson1901})."),
         N_("The attack moves the image's features along the black line, from the circle (clean) to the star "
            "(adversarial). A change too small to see in pixels can move the features a long way, towards another "
            "class; the caption measures how far in the full feature space, which the 2-D picture shows only in "
            "part ({szegedy2014})."),
         N_("Why it works: models use \"non-robust features\", patterns that really do predict the class on real "
            "data but that a tiny change can flip. The attack switches them to those of another class, so to the "
            "model the image now looks like that class ({ilyas2019}).")),
        N_("Make the adversarial image's features land nearest to another class's average (in the model's full "
           "feature space), with an eps of at most 0.3.")),
    Lesson(
        "learn_pgd", N_("5. Stronger attacks: PGD"), N_("Stronger attacks: PGD"), ":material/looks_5:",
        (N_("FGSM takes one step and trusts the loss to be linear. Projected gradient descent (PGD) takes many "
            "small steps and after each one projects back into the eps-ball around the image, so it keeps climbing "
            "where the loss curves ({kurakin2017}; {madry2018})."),
         N_("Its settings: the number of steps, the step size alpha (by default here 2.5·eps/steps, so the steps "
            "together can cross the ball), and random restarts from uniform points inside the ball, keeping the "
            "strongest result ({madry2018})."),
         N_("The trace shows the loss after every step. With a step size too small the attack ends before the loss "
            "has risen; the attack then fails because of its settings, which says nothing about the model. Always "
            "check that an attack has converged before trusting a robustness number ({carlini2019})."),
         N_("Madry et al. framed robustness as a game: the attacker maximises the loss inside the ball, the defender "
            "trains to minimise that maximum, with PGD as the attacker ({madry2018}). Auto-PGD chooses its own "
            "step size to avoid the trap you are about to fall into ({croce2020}).")),
        N_("Find a step size with which PGD (no random start) fails to flip this image, although PGD with the "
           "default step size flips it at the same eps and number of steps.")),
    Lesson(
        "learn_targeted", N_("6. Targeted attacks and minimal perturbations"), N_("Targeted and minimal"),
        ":material/looks_6:",
        (N_("An untargeted attack wants any wrong class. A targeted attack picks the class: instead of raising the "
            "loss of the true class, it lowers the loss of the target class ({kurakin2017}; {carlini2017})."),
         N_("Minimal attacks turn the question around: not \"does eps suffice?\" but \"how small a change "
            "suffices?\". DeepFool replaces the model by its linear approximation, steps to the nearest decision "
            "boundary, and repeats until the class changes ({moosavi2016})."),
         N_("Carlini and Wagner minimise the size of the change plus c times a margin on the logits, keep pixels "
            "in [0, 1] by a change of variables, and search for the best c. It is slower, finds smaller changes, and "
            "broke defences that stopped earlier attacks ({carlini2017})."),
         N_("L∞ and L2 measure different things: L∞ bounds each pixel's change (a faint haze over the whole "
            "image), L2 the total (a few pixels may change a lot). The same image can be close to the boundary in "
            "one norm and far from it in the other ({carlini2017}; {madry2018}).")),
        N_("Make this image read as the target class with a targeted attack of L∞ eps at most 0.2 on mnist-standard.")),
    Lesson(
        "learn_blackbox", N_("7. Without gradients"), N_("Without gradients"), ":material/filter_7:",
        (N_("The attacks so far read the model's gradients: they are white-box. An attacker who can only query the "
            "model, or who cannot even do that, still succeeds ({papernot2017})."),
         N_("Transfer: adversarial examples made on one model often fool another model trained for the same task "
            "({szegedy2014}; {papernot2016}). The transfer matrix (switch it on below the images) shows, for "
            "examples made by PGD on each model (rows), the accuracy of each model (columns); the diagonal is "
            "white-box. Here the other MNIST models are adversarially trained, and few examples cross between "
            "them and the standard model."),
         N_("Whether examples transfer depends on the models. A PGD-trained model resists examples transferred "
            "from other models at least as well as white-box ones ({madry2018}); a model trained only on one-step "
            "attacks can fall to transferred examples, a sign that its robustness partly came from hiding its "
            "gradients ({tramer2018})."),
         N_("Score-based: the Square Attack only reads the model's output scores. It tries random square patches "
            "at the edge of the L∞ ball and keeps the ones that lower the margin of the true class. It needs "
            "hundreds of queries but no gradient, which makes it a check on gradient attacks: if it beats them, "
            "the gradients were misleading ({andriushchenko2020}; {croce2020}).")),
        N_("Fool mnist-standard without its gradients: use the Square Attack with an L∞ eps of at most 0.2 and at "
           "most 500 queries.")),
    Lesson(
        "learn_training", N_("8. Adversarial training"), N_("Adversarial training"), ":material/filter_8:",
        (N_("Adversarial training trains on attacked images: every training batch is replaced by its PGD "
            "adversarial version ({madry2018}). FGSM from a random start is a much cheaper version that works "
            "when tuned with care ({wong2020}). The zoo has both: mnist-pgd and mnist-fast."),
         N_("Robustness costs clean accuracy: the chart plots each zoo model's clean accuracy against its accuracy "
            "under PGD, read from the model cards. Tsipras et al. show that this trade-off can be unavoidable: a "
            "robust model must give up features that predict well but break under small changes ({tsipras2019})."),
         N_("What the models look at: the input gradient shows which pixels change the decision. Tsipras et al. "
            "found that robust models' gradients look like the object and standard models' like noise "
            "({tsipras2019}). On the shipped MNIST models the picture is mixed: the robust model's gradient is "
            "sparse and lies mostly on and next to the strokes of the digit, the standard model's is smoother but "
            "spreads over the background (the numbers under the maps)."),
         N_("Santurkar et al. showed that a large targeted attack on a robust model paints features of the target "
            "class ({santurkar2019}). Try it below. On these MNIST models the standard model's large L2 attacks "
            "already draw strokes of the target digit, while the L∞-trained mnist-pgd hardly moves: its gradient "
            "is close to zero on far more pixels, so gradient steps make little progress, one reason why its card "
            "flags that the black-box Square Attack beats PGD ({carlini2019}).")),
        N_("Find an eps at which PGD fools the standard model on this image but not the robust model.")),
    Lesson(
        "learn_masking", N_("9. False robustness"), N_("False robustness"), ":material/filter_9:",
        (N_("A defence can look strong because it breaks the attack, not because the model became robust. "
            "Preprocessing such as JPEG compression or rounding pixels to a few grey levels has no useful gradient, "
            "so an attack that differentiates through it gets zero and fails ({dziugaite2016}; {xu2018}; "
            "{athalye2018})."),
         N_("Athalye, Carlini and Wagner called this obfuscated gradients and broke most of the defences published "
            "at ICLR 2018 with adaptive attacks. BPDA keeps the defence in the forward pass but differentiates it as "
            "if it were the identity; EOT averages the gradient over the random draws of a randomized defence "
            "({athalye2018}; {athalye2018eot})."),
         N_("Randomness is no defence either: random resizing and padding made attacks miss a moving target "
            "({xie2018}), and averaging over its draws (EOT) brings them back on target ({athalye2018})."),
         N_("Defensive distillation looked robust because its outputs saturated and gradients vanished; attacks on "
            "the logits instead of the probabilities broke it ({papernot2016distillation}; {carlini2017}). The "
            "shipped mnist-distilled shows it live below: PGD on cross-entropy fails, APGD on the DLR loss, built "
            "from differences of logits, does not ({croce2020})."),
         N_("Carlini et al. wrote a checklist for evaluations that catches these mistakes. AdvLab raises a flag for "
            "each check it can run automatically: the table below says what each means and what triggers it "
            "({carlini2019}).")),
        N_("Break the defence: choose an eps of at most 0.2 at which naive PGD leaves the defended model right, and "
           "an adaptive mode with which PGD makes it wrong.")),
    Lesson(
        "learn_certified", N_("10. Certified robustness"), N_("Certified robustness"), ":material/verified:",
        (N_("An attack only shows that a model can be fooled; when it fails, a stronger attack may still succeed. A "
            "certificate is a proof that no change within some radius can change the prediction ({carlini2019}; "
            "{cohen2019})."),
         N_("Randomized smoothing turns any classifier into one that can be certified: classify many copies of the "
            "image with Gaussian noise of standard deviation sigma added and return the majority vote. If the top "
            "class wins with probability at least p > 1/2, the vote cannot change within the L2 radius "
            "sigma·Φ⁻¹(p), where Φ⁻¹ is the inverse of the standard normal distribution ({lecuyer2019}; "
            "{cohen2019})."),
         N_("p is estimated by counting votes, with a confidence bound, so the certificate holds with probability "
            "1 − alpha over the noise drawn; when no class wins clearly the smoothed classifier abstains "
            "({cohen2019})."),
         N_("A larger sigma certifies larger radii but blurs what the base model sees, so clean accuracy falls: the "
            "accuracy-robustness trade-off again. The curve shows certified accuracy: the share of test images "
            "classified correctly with a certified radius of at least r ({cohen2019}).")),
        N_("Choose sigma and an image so that the smoothed mnist-standard certifies the correct class within an L2 "
           "radius of at least 0.5.")),
]

# Carlini et al. 2019's evaluation checks that AdvLab flags: (flag name, what it means, a case that triggers it).
CHECKLIST: list[tuple[str, str, str]] = [
    ("gradients", N_("many input gradients are exactly zero: the attack has nothing to follow"),
     N_("bits:2 or jpeg in front of a model (this page); saturated softmax outputs")),
    ("adaptive:<defence>", N_("an adaptive attack (BPDA, EOT) beats the naive one by more than 20 points: the defence "
        "hid the gradient"), N_("bits:2 or jpeg:50 on mnist-standard with BPDA (this page)")),
    ("monotone", N_("accuracy must not rise as eps grows"), N_("a randomized defence scored with one draw per eps")),
    ("large-eps", N_("at a huge eps (0.5 on MNIST) accuracy should reach about 0"),
     N_("an attack whose gradient vanishes")),
    ("<attack>-vs-fgsm", N_("an iterative attack must be at least as strong as one FGSM step"),
     N_("PGD with a step size far too small (lesson 5)")),
    ("<attack>-vs-noise", N_("every attack must beat random noise of the same budget"), N_("zero gradients")),
    ("<attack>-vs-square", N_("a white-box attack must not lose to the black-box Square Attack"),
     N_("mnist-pgd's card: PGD-40 leaves 93.4%, Square 90.2% at eps 0.3 (n=1000)")),
    ("<attack>-vs-fgsm-gap", N_("FGSM far weaker than PGD: robust to one-step attacks only"),
     N_("FGSM training that overfits to its own attack (Wong, Rice & Kolter 2020)")),
]

GLOSSARY_LESSON = Lesson(
    "learn_glossary", N_("Glossary"), N_("Glossary"), ":material/menu_book:",
    (N_("Every term the app uses, in a sentence or two, with the paper it comes from ({carlini2019})."),),
    "")


def get(slug: str) -> Lesson:
    for lesson in [*LESSONS, GLOSSARY_LESSON]:
        if lesson.slug == slug:
            return lesson
    raise KeyError(slug)
