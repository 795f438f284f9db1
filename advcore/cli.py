"""`python -m advcore`: zoo, attack, evaluate, sweep and train from the command line.

Attack flags are generated from the attack registry. Bad input gives one line on
stderr and exit code 2, never a traceback. Messages for people follow the locale (``LANG``, ``LC_MESSAGES``, ...,
read by ``i18n.language_from_env``), argparse's own phrases ("usage:", "options:", the -h help) included;
flags, subcommands, JSON keys and CSV stay English (docs/i18n.md).
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import sys
from dataclasses import MISSING, fields
from pathlib import Path

from tqdm import tqdm

from . import attacks, byo, cards, data, defences, evaluate, i18n, imagesets, landscape, metrics, shipped_sweeps, zoo
from .attacks import ATTACKS, adaptive
from .attacks.base import check_eps
from .errors import AdvcoreError
from .i18n import _, pgettext
from .images import to_png
from .train import TrainConfig, train

EXIT_USAGE = 2


class _Formatter(argparse.HelpFormatter):
    """argparse's help layout with our translation of its "usage: " prefix."""

    def add_usage(self, usage, actions, groups, prefix=None):
        super().add_usage(usage, actions, groups, _("usage: ") if prefix is None else prefix)


class _Parser(argparse.ArgumentParser):
    """argparse with the CLI's error contract (one line on stderr, exit code 2) and argparse's own phrases
    ("usage:", "options:", the -h help) from our catalog; its error texts stay Python's (English)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, add_help=False, **kwargs)
        self._positionals.title = _("positional arguments")
        self._optionals.title = _("options")
        self.add_argument("-h", "--help", action="help", default=argparse.SUPPRESS,
                          help=_("show this help message and exit"))

    def error(self, message):
        self.exit(EXIT_USAGE, _("error: {message}", message=message) + "\n")


def finite_float(text: str) -> float:
    """argparse type: a finite number (nan and inf refused)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(_("{text!r} is not a number", text=text)) from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(_("{text!r} is not a finite number", text=text))
    return value


def whole_number(text: str) -> int:
    """argparse type: a whole number."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(_("must be a whole number, got {text!r}", text=text)) from None


_PARAM_TYPES = {"float": finite_float, "int": whole_number}


def _attack_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per registry parameter (union over attacks); values are range-checked by the registry.
    A parameter whose default differs between attacks says "default: per attack"."""
    seen, defaults = {}, {}
    for spec in ATTACKS.values():
        for p in spec.params:
            seen.setdefault(p.name, p)
            defaults.setdefault(p.name, set()).add(repr(p.default))
    for name, p in seen.items():
        flag = "--" + name.replace("_", "-")
        default = _("default {value}", value=p.default) if len(defaults[name]) == 1 else _("default: per attack")
        kind = _("{kind}, {unit}", kind=p.describe(), unit=_(p.unit)) if p.unit else p.describe()
        parser.add_argument(flag, dest=f"param_{name}", default=None, metavar=p.kind.upper(),
                            type=_PARAM_TYPES.get(p.kind, str),
                            help=_("{help} ({kind}; {default})", help=_(p.help) if p.help else "", kind=kind,
                                   default=default))
    parser.add_argument("--target", type=whole_number, default=None, help=_("target class (targeted attack)"))


def _attack_names(args) -> list[str]:
    names = [a.strip() for a in args.attack.split(",") if a.strip()]
    for name in names:
        attacks.get(name)  # unknown names: one clear line
    if len(names) != 1 and args.command != "evaluate":
        raise AdvcoreError(_("give one attack (a comma-separated list is for `evaluate`: worst case over attacks)"))
    return names


def _attack_params(args) -> dict:
    """The attack flags that were given, checked against the registry before any work starts.

    Each attack gets the flags it takes (``attacks.accepted``); a flag a chosen attack does not
    use (``--seed`` with FGSM, say) gets a one-line warning on stderr naming it, then the run goes on.
    """
    params = {k[len("param_"):]: v for k, v in vars(args).items() if k.startswith("param_") and v is not None}
    if args.target is not None:
        params["target"] = args.target
    for name in _attack_names(args):
        own = attacks.accepted(name, params)
        unused = sorted(set(params) - set(own) - {"target"})  # a target changes the question: refused below
        if unused:
            print(_("warning: {attack} does not use {flags}; ignored for {attack}", attack=name,
                    flags=", ".join("--" + u.replace("_", "-") for u in unused)), file=sys.stderr)
        checked = attacks.validate(name, dict(own, eps=own.get("eps", 0.0), target=params.get("target")))
        check_eps(checked["eps"], checked.get("norm", "linf"))
    return params


def _model_for(dataset: str, model_id: str):
    entry = zoo.card(model_id)
    if entry["dataset"] != dataset:
        raise AdvcoreError(_("model {model} is for {dataset}, not {wanted}", model=model_id, dataset=entry["dataset"],
                              wanted=dataset))
    return zoo.load(model_id)


def _progress(total: int, enabled: bool):
    return tqdm(total=total, unit="img", disable=not enabled, file=sys.stderr, leave=False)


def _check_target(split, params: dict) -> None:
    target = params.get("target")
    if target is not None and not 0 <= target < len(split.class_names):
        raise AdvcoreError(_("target must be a class in [0, {top}], got {target}", top=len(split.class_names) - 1,
                              target=target))


def cmd_zoo(args) -> int:
    entries = zoo.list_cards(args.dataset)
    if args.markdown:
        print(cards.markdown_table([c for c in entries if c["shipped"]]))
        return 0
    if args.json:
        print(json.dumps(entries if args.full else [cards.headline(c) for c in entries], indent=2))
        return 0
    if not entries:
        print(_("no models found in {folder} or {user_folder}", folder=zoo.models_dir(),
                user_folder=zoo.user_models_dir()))
    for entry in entries:
        row = cards.headline(entry)
        figures = ", ".join(f"{k} {v:.1%}" for k, v in row.items() if "@" in k and v is not None)
        training = (_("{minutes} min training", minutes=row["train_minutes"]) if row["shipped"] else
                    _("{minutes} min training, user model", minutes=row["train_minutes"]))
        print(_("{model} {dataset} {recipe} clean {clean:.2%}  {figures}  ({training})", model=row["id"].ljust(18),
                dataset=row["dataset"].ljust(8), recipe=(row["recipe"] or "").ljust(9), clean=row["clean"] or 0,
                figures=figures, training=training))
    return 0


def cmd_attack(args) -> int:
    split = data.load(args.dataset, "test")
    index = args.index
    if not 0 <= index < len(split):
        raise AdvcoreError(_("index must be in [0, {top}] for {dataset} ({source})", top=len(split) - 1,
                              dataset=args.dataset, source=split.source))
    params = _attack_params(args)
    _check_target(split, params)
    if params.get("target") is not None:
        params["target"] = [params["target"]]
    model = _model_for(args.dataset, args.model)
    x, y = split.x[index:index + 1], split.y[index:index + 1]
    result = evaluate.run_attack(args.attack, model, x, y, **attacks.accepted(args.attack, params))
    norms = {k: float(v[0]) for k, v in metrics.perturbation_norms(x, result.x_adv).items()}
    shift = {k: v[0].item() for k, v in metrics.prediction_shift(result.clean_logits, result.adv_logits, y).items()}
    out = {"dataset": args.dataset, "model": args.model, "index": index, "label": int(y[0]),
           "attack": args.attack, "params": result.params, **norms,
           "psnr": float(metrics.psnr(x, result.x_adv)[0]), **shift,
           "clean_label": split.class_names[shift["clean_class"]], "adv_label": split.class_names[shift["adv_class"]]}
    if args.out:
        Path(args.out).write_bytes(to_png(result.x_adv[0]))
        out["saved"] = str(args.out)
    if args.json:
        print(json.dumps(out, indent=2, default=str))
    else:
        print(_("true {label}: clean -> {clean} ({clean_confidence:.1%}), adversarial -> {adversarial} "
                "({adv_confidence:.1%}); linf {linf_255:.1f}/255, l2 {l2:.3f}, psnr {psnr:.1f} dB",
                label=i18n.class_name(split.class_names[y[0]]), clean=i18n.class_name(out["clean_label"]),
                adversarial=i18n.class_name(out["adv_label"]), clean_confidence=out["clean_confidence"],
                adv_confidence=out["adv_confidence"], linf_255=out["linf_255"], l2=out["l2"], psnr=out["psnr"]))
    return 0


def _defence_flags(parser: argparse.ArgumentParser) -> None:
    """--defence SPEC, --adaptive MODE, --eot-samples K (see advcore.defences and advcore.attacks.adaptive)."""
    parser.add_argument("--defence", default=None, metavar="SPEC",
                        help=_("attack the model behind defences chained with +, e.g. bits:3+median:2 ({names})",
                               names=", ".join(defences.DEFENCES)))
    parser.add_argument("--adaptive", default="none", choices=adaptive.MODES,
                        help=_("none: the naive attack (TensorFlow's gradient through the defence); bpda: identity "
                               "backward pass through non-differentiable stages; eot: average over random draws"))
    parser.add_argument("--eot-samples", default=adaptive.DEFAULT_EOT_SAMPLES, type=int,
                        help=_("EOT draws per gradient"))


def _evaluate_defended(args, split, params: dict, n: int, model, names: list[str]) -> int:
    """``evaluate`` with --defence / --adaptive: adversarial images scored on the defended model."""
    if len(names) != 1:
        raise AdvcoreError(_("--defence and --adaptive take one attack, not a list"))
    own = attacks.accepted(names[0], params)
    with _progress(n, not args.json and not args.quiet) as bar:
        summary = adaptive.evaluate(model, split.x[:n], split.y[:n], names[0], evaluate.with_models(names[0], own),
                                    args.defence, args.adaptive, args.eot_samples, progress=bar.update)
    probe = split.x[:min(n, 64)], split.y[:min(n, 64)].astype("int32")
    attacked = adaptive.attack_model(adaptive.defences.apply(model, args.defence), args.adaptive, args.eot_samples)
    summary.update(dataset=args.dataset, model=args.model, attack=names[0], params=own, full_test_set=split.full,
                   flags=[evaluate.gradient_check(attacked, *probe).as_dict()])
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(_("{model} behind {defence} under {attack} ({adaptive} attack) {params}: clean {clean_accuracy:.2%}, "
            "robust {robust_accuracy:.2%} on {n} images in {seconds:.1f} s", model=args.model, attack=names[0],
            params=own, defence=summary["defence"], adaptive=summary["adaptive"],
            clean_accuracy=summary["clean_accuracy"], robust_accuracy=summary["robust_accuracy"], n=summary["n"],
            seconds=summary["seconds"]))
    for flag in summary["flags"]:
        print(("ok   " if flag["ok"] else "FLAG ") + flag["message"])
    return 0


def cmd_certify(args) -> int:
    """Randomized-smoothing certificates (Cohen et al. 2019) on the first --images test images."""
    split = data.load(args.dataset, "test")
    count = evaluate.check_n(args.images, len(split))
    model = defences.apply(_model_for(args.dataset, args.model), args.defence)
    report = defences.certify_report(model, split.x[:count], split.y[:count], args.sigma, args.n0, args.n,
                                     args.alpha, args.batch)
    report.update(dataset=args.dataset, model=args.model, defence=str(defences.parse(args.defence)))
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    curve = ", ".join(f"r={r}: {a:.1%}" for r, a in report["certified_accuracy"].items())
    print(_("{model} smoothed with sigma {sigma:g} on {count} images: accuracy {accuracy:.1%}, abstained "
            "{abstained:.1%}; certified {curve} ({seconds:.0f} s)", model=args.model, sigma=report["sigma"],
            count=count, accuracy=report["clean_accuracy"], abstained=report["abstain_rate"], curve=curve,
            seconds=report["seconds"]))
    return 0


def cmd_evaluate(args) -> int:
    split = data.load(args.dataset, "test")
    params = _attack_params(args)
    _check_target(split, params)
    n = evaluate.check_n(args.n, len(split))
    model = _model_for(args.dataset, args.model)
    names = _attack_names(args)
    if args.defence or args.adaptive != "none":
        return _evaluate_defended(args, split, params, n, model, names)
    with _progress(n * len(names), not args.json and not args.quiet) as bar:
        if len(names) == 1:
            summary = evaluate.evaluate(model, split, args.attack, attacks.accepted(args.attack, params), n,
                                        progress=bar.update)
        else:
            summary = evaluate.worst_case(model, split, [(a, attacks.accepted(a, params)) for a in names], n,
                                          progress=bar.update)
    probe = min(n, 200)  # the masking check on the model itself: zero gradients, probabilities, randomness
    flag = evaluate.gradient_check(model, split.x[:probe], split.y[:probe])
    summary.update(dataset=args.dataset, model=args.model, attack=args.attack,
                   params=dict(params), full_test_set=split.full, flags=[flag.as_dict()])
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(_("{model} under {attack} {params}: clean {clean_accuracy:.2%}, robust {robust_accuracy:.2%}, "
                "success {attack_success_rate:.2%} on {n} images in {seconds:.1f} s", model=args.model,
                attack=args.attack, params=params, clean_accuracy=summary["clean_accuracy"],
                robust_accuracy=summary["robust_accuracy"], attack_success_rate=summary["attack_success_rate"],
                n=summary["n"], seconds=summary["seconds"]))
        if not flag.ok:
            print("FLAG " + flag.message)
    return 0


def _eps_list(text: str) -> list[float]:
    try:
        return [check_eps(float(v)) for v in text.split(",") if v.strip()]
    except ValueError as exc:
        raise AdvcoreError(f"--eps: {exc}") from None


def _sweep_headings() -> dict[str, str]:
    """The columns of the sweep table printed for people, with their headings (CSV and JSON keep the names)."""
    return {"model": pgettext("sweep column", "model"), "attack": pgettext("sweep column", "attack"),
            "eps": pgettext("sweep column", "eps"), "eps_255": pgettext("sweep column", "eps_255"),
            "clean_accuracy": pgettext("sweep column", "clean_accuracy"),
            "robust_accuracy": pgettext("sweep column", "robust_accuracy"),
            "attack_success_rate": pgettext("sweep column", "attack_success_rate"),
            "mean_l2": pgettext("sweep column", "mean_l2"), "seconds": pgettext("sweep column", "seconds")}


def cmd_sweep(args) -> int:
    split = data.load(args.dataset, "test")
    params = attacks.accepted(args.attack, _attack_params(args))
    params.pop("eps", None)
    eps_values = _eps_list(args.eps_list)
    n = evaluate.check_n(args.n, len(split))
    models = {m: _model_for(args.dataset, m) for m in args.models.split(",") if m}
    with _progress(n * len(eps_values) * len(models), not args.json and not args.quiet) as bar:
        if args.defence or args.adaptive != "none":
            table = adaptive.sweep(models, split, args.attack, eps_values, evaluate.with_models(args.attack, params),
                                   args.defence, args.adaptive, args.eot_samples, n, progress=bar.update)
        else:
            table = evaluate.sweep(models, split, args.attack, eps_values, params, n, progress=bar.update)
    flags = [f.as_dict() for f in evaluate.sanity_checks(table, standard_models=shipped_sweeps.standard_models(models))]
    if args.csv:
        table.to_csv(args.csv, index=False)
    if args.json:
        print(json.dumps({"rows": table.to_dict("records"), "flags": flags}, indent=2))
    else:
        headings = _sweep_headings()
        print(table[list(headings)].rename(columns=headings).to_string(index=False))
        for flag in flags:
            print(("ok   " if flag["ok"] else "FLAG ") + flag["message"])
    return 0


def cmd_train(args) -> int:
    cfg = TrainConfig(**{f.name: getattr(args, f"train_{f.name}") for f in fields(TrainConfig)}).check()
    out = Path(args.out) if args.out else zoo.models_dir()
    model, state = train(cfg, out, resume=args.resume, show_progress=not args.quiet)
    print(_("trained {model} in {minutes:.1f} min; measuring on the test set", model=cfg.model_id,
            minutes=state.seconds / 60), file=sys.stderr)
    command = "python -m advcore " + shlex.join(sys.argv[1:] if args.argv is None else args.argv)
    card = cards.build_card(model, cfg, state, out / f"{cfg.model_id}.keras", command,
                            log=lambda m: print(m, file=sys.stderr))
    path = zoo.write_card(out, card)
    print(json.dumps(cards.headline(card)) if args.json else _("wrote {path}", path=path))
    return 0


def cmd_add_model(args) -> int:
    command = "python -m advcore " + shlex.join(sys.argv[1:] if args.argv is None else args.argv)
    log = (lambda m: None) if args.quiet else (lambda m: print(m, file=sys.stderr))
    card = byo.add_model(args.file, args.dataset, args.id, args.strip_softmax, args.eval_n, command, log)
    print(json.dumps(cards.headline(card)) if args.json else
          _("added {model}; `python -m advcore zoo` lists it", model=args.id))
    return 0


def cmd_remove_model(args) -> int:
    print(_("removed {paths}", paths=", ".join(str(p) for p in byo.remove_model(args.id))))
    return 0


def cmd_add_dataset(args) -> int:
    command = "python -m advcore " + shlex.join(sys.argv[1:] if args.argv is None else args.argv)
    entry = imagesets.add_dataset(args.name, args.images, args.classes, args.size, args.channels, args.title,
                                  args.eps, command)
    summary = {k: entry[k] for k in ("name", "shape", "n_test", "splits", "reference_eps", "sha256")}
    summary["classes"] = len(entry["class_names"])
    print(json.dumps(summary) if args.json else
          _("added image set {name}: {n} test images of {shape}, {classes} classes", name=args.name,
            n=entry["n_test"], shape=tuple(entry["shape"]), classes=summary["classes"]))
    return 0


def cmd_remove_dataset(args) -> int:
    imagesets.remove_dataset(args.name)
    print(_("removed image set {name}", name=args.name))
    return 0


def _byo_parsers(sub, data) -> None:
    """add-model / remove-model / add-dataset / remove-dataset (advcore.byo, advcore.imagesets)."""
    p = sub.add_parser("add-model", help=_("check a .keras classifier, store it as a user model and card it"))
    p.add_argument("--file", required=True, help=_("a Keras v3 .keras file (model.save('name.keras'))"))
    p.add_argument("--dataset", required=True, choices=list(data.DATASETS))
    p.add_argument("--id", required=True, help=_("model id: 1-64 of a-z, 0-9, '-', '_'"))
    p.add_argument("--strip-softmax", action="store_true",
                   help=_("remove a final softmax so the model returns logits"))
    p.add_argument("--eval-n", type=int, default=1000, help=_("test images for the card's figures"))
    p.add_argument("--json", action="store_true")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_add_model, argv=None)
    p = sub.add_parser("remove-model", help=_("delete a user model (shipped models cannot be removed)"))
    p.add_argument("--id", required=True)
    p.set_defaults(func=cmd_remove_model)
    p = sub.add_parser("add-dataset",
                       help=_("add an image set: a folder of class sub-folders, or a keras-layout .npz"))
    p.add_argument("--name", required=True, help=_("data set name: 1-64 of a-z, 0-9, '-', '_'"))
    p.add_argument("--images", required=True, help=_("folder with one sub-folder per class, or an .npz"))
    p.add_argument("--classes", default=None,
                   help=_("text file, one class name per line (sub-folders name a line)"))
    p.add_argument("--size", type=int, nargs=2, metavar=("H", "W"), default=None,
                   help=_("resize to H x W (default 224 224 for folders, the array's size for .npz)"))
    p.add_argument("--channels", type=int, choices=(1, 3), default=None)
    p.add_argument("--title", default=None)
    p.add_argument("--eps", type=float, nargs="+", default=None, help=_("reference linf budgets in pixel units"))
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_add_dataset, argv=None)
    p = sub.add_parser("remove-dataset", help=_("delete a user image set"))
    p.add_argument("--name", required=True)
    p.set_defaults(func=cmd_remove_dataset)


def cmd_sweep_files(args) -> int:
    """Write models/<id>.sweep.json (the Sweep page's default request) for shipped models."""
    entries = [c for c in zoo.list_cards(args.dataset) if c["shipped"]]
    wanted_ids = [m for m in (args.models or "").split(",") if m]
    unknown = set(wanted_ids) - {c["id"] for c in entries}
    if unknown:
        raise AdvcoreError(_("not shipped models: {models}", models=", ".join(sorted(unknown))))
    for entry in entries:
        if wanted_ids and entry["id"] not in wanted_ids:
            continue
        split = data.load(entry["dataset"], "test")
        command = "python -m advcore " + shlex.join(["sweep-files", "--models", entry["id"]])
        path = shipped_sweeps.write(entry["id"], zoo.load(entry["id"]), split, shipped_sweeps.default_request(split),
                                    command)
        print(_("wrote {path}", path=path), file=sys.stderr)
    return 0


def _boolean(text: str) -> bool:
    """argparse type: true/false (also 1/0, yes/no)."""
    if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
        raise argparse.ArgumentTypeError(_("must be true or false, got {text!r}", text=text))
    return text.lower() in ("true", "1", "yes")


def _train_flags(p: argparse.ArgumentParser) -> None:
    """One flag per ``TrainConfig`` field, with its default, help and choices (dest ``train_<field>``)."""
    types = {"int": whole_number, "float": finite_float, "float | None": finite_float, "bool | None": _boolean,
             "bool": _boolean}
    for f in fields(TrainConfig):
        meta = f.metadata
        flag = "--" + (meta.get("flag") or f.name.replace("_", "-"))
        required = f.default is MISSING
        shown_default = not (required or meta.get("choices") or f.default is None)
        help_text = _(meta["help"])  # TrainConfig's help texts: translated where advcore.train marks them
        if shown_default:
            help_text = _("{help} (default {value})", help=help_text, value=f.default)
        p.add_argument(flag, dest=f"train_{f.name}", required=required, type=types.get(f.type, str),
                       metavar=None if meta.get("choices") else f.name.upper(),
                       default=None if required else f.default, choices=meta.get("choices") or None, help=help_text)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m advcore", description=_("Adversarial attacks and robustness."))
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p, needs_model=True):
        p.add_argument("--dataset", required=True, choices=list(data.DATASETS))
        if needs_model:
            p.add_argument("--model", required=True, help=_("model id (see `zoo`)"))
        p.add_argument("--json", action="store_true", help=_("print JSON"))
        p.add_argument("--quiet", action="store_true", help=_("no progress bar"))

    p = sub.add_parser("zoo", help=_("list models and their cards"))
    p.add_argument("--dataset", choices=list(data.DATASETS), default=None)
    p.add_argument("--json", action="store_true")
    p.add_argument("--full", action="store_true", help=_("with --json: whole cards"))
    p.add_argument("--markdown", action="store_true",
                   help=_("the shipped models as the zoo table of docs/models.md"))
    p.set_defaults(func=cmd_zoo)

    p = sub.add_parser("attack", help=_("attack one test image"))
    common(p)
    p.add_argument("--index", required=True, type=whole_number, help=_("test image index"))
    p.add_argument("--attack", required=True, metavar="|".join(ATTACKS))
    p.add_argument("--out", default=None, help=_("save the adversarial image as PNG"))
    _attack_flags(p)
    p.set_defaults(func=cmd_attack)

    p = sub.add_parser("evaluate", help=_("robust accuracy over N test images"))
    common(p)
    p.add_argument("--attack", required=True, metavar="|".join(ATTACKS),
                   help=_("an attack, or a comma-separated list: per-example worst case over them "
                          "(AutoAttack-style)"))
    p.add_argument("--n", default=1000, type=whole_number, help=_("number of test images (first N)"))
    _attack_flags(p)
    _defence_flags(p)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("certify",
                       help=_("randomized-smoothing certificates (Cohen et al. 2019) over N test images"))
    common(p)
    p.add_argument("--sigma", required=True, type=float, help=_("noise standard deviation (pixel units)"))
    p.add_argument("--n", default=1000, type=int, help=_("noisy samples per image for the estimate"))
    p.add_argument("--n0", default=100, type=int, help=_("noisy samples per image to pick the class"))
    p.add_argument("--alpha", default=0.001, type=float, help=_("failure probability of each certificate"))
    p.add_argument("--batch", default=1000, type=int, help=_("noisy images per model call"))
    p.add_argument("--images", default=100, type=int, help=_("number of test images (first N)"))
    p.add_argument("--defence", default=None, metavar="SPEC", help=_("defences before the noise, e.g. bits:3"))
    p.set_defaults(func=cmd_certify)

    p = sub.add_parser("landscape", help=_("loss and predicted class on a 2-D grid around one test image "
                                           "(gradient-sign x random direction)"))
    common(p)
    landscape.add_arguments(p, dataset_and_model=False)
    p.set_defaults(func=landscape.command)

    p = sub.add_parser("sweep", help=_("accuracy against eps for several models"))
    common(p, needs_model=False)
    p.add_argument("--models", required=True, help=_("comma-separated model ids"))
    p.add_argument("--attack", required=True, metavar="|".join(ATTACKS))
    p.add_argument("--n", default=500, type=whole_number)
    p.add_argument("--csv", default=None, help=_("write the table as CSV"))
    _attack_flags(p)
    for action in p._actions:  # sweep takes a list of eps
        if action.dest == "param_eps":
            action.dest, action.type = "eps_list", str
            action.help = _("comma-separated eps values in pixel units, e.g. 0,0.1,0.2,0.3")
    _defence_flags(p)
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("sweep-files", help=_("measure the Sweep page's default sweep of shipped models, ship it "
                                             "beside their cards (models/<id>.sweep.json)"))
    p.add_argument("--dataset", choices=list(data.DATASETS), default=None)
    p.add_argument("--models", default=None, help=_("comma-separated shipped model ids (default: all)"))
    p.set_defaults(func=cmd_sweep_files)

    p = sub.add_parser("train", help=_("train a model and write its card"))
    _train_flags(p)
    p.add_argument("--out", default=None, help=_("folder for <id>.keras and <id>.json (default models/)"))
    p.add_argument("--resume", action="store_true", help=_("continue from the last checkpoint"))
    p.add_argument("--json", action="store_true")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_train, argv=None)
    _byo_parsers(sub, data)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command in the locale's language (restored on return, so a caller's language is unchanged)."""
    with i18n.use_language(i18n.language_from_env()):
        return _run(sys.argv[1:] if argv is None else list(argv))


def _run(argv: list[str]) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a bad flag (one line already printed by _Parser.error)
        return int(exc.code or 0)
    if args.command in ("train", "add-model", "add-dataset"):
        args.argv = argv
    try:
        return args.func(args)
    except AdvcoreError as exc:
        print(_("error: {message}", message=exc), file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(_("interrupted"), file=sys.stderr)
        return 130
