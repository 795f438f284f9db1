"""The papers the lessons cite: key -> (short citation, full reference)."""

from __future__ import annotations

PAPERS: dict[str, tuple[str, str]] = {
    "szegedy2014": ("Szegedy et al. 2014", "Szegedy, Zaremba, Sutskever, Bruna, Erhan, Goodfellow & Fergus 2014, "
                    "Intriguing properties of neural networks, ICLR"),
    "goodfellow2015": ("Goodfellow, Shlens & Szegedy 2015", "Goodfellow, Shlens & Szegedy 2015, Explaining and "
                       "Harnessing Adversarial Examples, ICLR"),
    "kurakin2017": ("Kurakin, Goodfellow & Bengio 2017", "Kurakin, Goodfellow & Bengio 2017, Adversarial examples "
                    "in the physical world, ICLR workshop"),
    "madry2018": ("Madry et al. 2018", "Madry, Makelov, Schmidt, Tsipras & Vladu 2018, Towards Deep Learning Models "
                  "Resistant to Adversarial Attacks, ICLR"),
    "moosavi2016": ("Moosavi-Dezfooli, Fawzi & Frossard 2016", "Moosavi-Dezfooli, Fawzi & Frossard 2016, DeepFool: "
                    "a simple and accurate method to fool deep neural networks, CVPR"),
    "carlini2017": ("Carlini & Wagner 2017", "Carlini & Wagner 2017, Towards Evaluating the Robustness of Neural "
                    "Networks, IEEE S&P"),
    "papernot2016": ("Papernot, McDaniel & Goodfellow 2016", "Papernot, McDaniel & Goodfellow 2016, Transferability "
                     "in Machine Learning: from Phenomena to Black-Box Attacks using Adversarial Samples, arXiv"),
    "papernot2017": ("Papernot et al. 2017", "Papernot, McDaniel, Goodfellow, Jha, Celik & Swami 2017, Practical "
                     "Black-Box Attacks against Machine Learning, AsiaCCS"),
    "tramer2018": ("Tramèr et al. 2018", "Tramèr, Kurakin, Papernot, Goodfellow, Boneh & McDaniel 2018, Ensemble "
                   "Adversarial Training: Attacks and Defenses, ICLR"),
    "andriushchenko2020": ("Andriushchenko et al. 2020", "Andriushchenko, Croce, Flammarion & Hein 2020, Square "
                           "Attack: a query-efficient black-box adversarial attack via random search, ECCV"),
    "croce2020": ("Croce & Hein 2020", "Croce & Hein 2020, Reliable evaluation of adversarial robustness with an "
                  "ensemble of diverse parameter-free attacks, ICML"),
    "wong2020": ("Wong, Rice & Kolter 2020", "Wong, Rice & Kolter 2020, Fast is better than free: Revisiting "
                 "adversarial training, ICLR"),
    "tsipras2019": ("Tsipras et al. 2019", "Tsipras, Santurkar, Engstrom, Turner & Madry 2019, Robustness May Be at "
                    "Odds with Accuracy, ICLR"),
    "santurkar2019": ("Santurkar et al. 2019", "Santurkar, Tsipras, Tran, Ilyas, Engstrom & Madry 2019, Image "
                      "Synthesis with a Single (Robust) Classifier, NeurIPS"),
    "ilyas2019": ("Ilyas et al. 2019", "Ilyas, Santurkar, Tsipras, Engstrom, Tran & Madry 2019, Adversarial Examples "
                  "Are Not Bugs, They Are Features, NeurIPS"),
    "you2023": ("You, Tse & Zhao 2023", "You, Tse & Zhao 2023, Panda or not Panda? Understanding Adversarial Attacks "
                "with Interactive Visualization, ACM TiiS"),
    "pearson1901": ("Pearson 1901", "Pearson 1901, On lines and planes of closest fit to systems of points in space, "
                    "Philosophical Magazine"),
    "athalye2018": ("Athalye, Carlini & Wagner 2018", "Athalye, Carlini & Wagner 2018, Obfuscated Gradients Give a "
                    "False Sense of Security: Circumventing Defenses to Adversarial Examples, ICML"),
    "carlini2019": ("Carlini et al. 2019", "Carlini, Athalye, Papernot, Brendel, Rauber, Tsipras, Goodfellow, Madry "
                    "& Kurakin 2019, On Evaluating Adversarial Robustness, arXiv"),
    "guo2018": ("Guo et al. 2018", "Guo, Rana, Cissé & van der Maaten 2018, Countering Adversarial Images using Input "
                "Transformations, ICLR"),
    "xu2018": ("Xu, Evans & Qi 2018", "Xu, Evans & Qi 2018, Feature Squeezing: Detecting Adversarial Examples in Deep "
               "Neural Networks, NDSS"),
    "papernot2016distillation": ("Papernot et al. 2016", "Papernot, McDaniel, Wu, Jha & Swami 2016, Distillation as a "
                                 "Defense to Adversarial Perturbations against Deep Neural Networks, IEEE S&P"),
    "athalye2018eot": ("Athalye, Engstrom, Ilyas & Kwok 2018", "Athalye, Engstrom, Ilyas & Kwok 2018, Synthesizing "
                       "Robust Adversarial Examples, ICML"),
    "dziugaite2016": ("Dziugaite, Ghahramani & Roy 2016", "Dziugaite, Ghahramani & Roy 2016, A study of the effect "
                      "of JPG compression on adversarial images, arXiv"),
    "xie2018": ("Xie et al. 2018", "Xie, Wang, Zhang, Ren & Yuille 2018, Mitigating Adversarial Effects Through "
                "Randomization, ICLR"),
    "cohen2019": ("Cohen, Rosenfeld & Kolter 2019", "Cohen, Rosenfeld & Kolter 2019, Certified Adversarial Robustness "
                  "via Randomized Smoothing, ICML"),
    "lecuyer2019": ("Lecuyer et al. 2019", "Lecuyer, Atlidakis, Geambasu, Hsu & Jana 2019, Certified Robustness to "
                    "Adversarial Examples with Differential Privacy, IEEE S&P"),
}


def short(key: str) -> str:
    """'Goodfellow, Shlens & Szegedy 2015' for 'goodfellow2015' (KeyError for an unknown key)."""
    return PAPERS[key][0]


def full(key: str) -> str:
    return PAPERS[key][1]
