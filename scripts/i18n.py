"""Catalog upkeep for advcore's languages (docs/i18n.md): extract marked messages, add new ones to the areas'
``.po`` files, start a language, and list what is missing or wrong.

    python scripts/i18n.py extract [-o advcore.pot]   # every marked message (babel.cfg) as a template
    python scripts/i18n.py update                      # new msgids -> their area's .po of every language
    python scripts/i18n.py init fr                     # a new language: the areas' .po files, untranslated
    python scripts/i18n.py check [zh]                  # missing, untranslated, fuzzy, placeholder or plural faults

A new message goes to the area of the first file that uses it (``AREAS``: the first matching path prefix);
``tests/test_i18n.py`` runs the same checks as ``check``.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from advcore import i18n  # noqa: E402

KEYWORDS = DEFAULT_KEYWORDS  # _, gettext, ngettext, pgettext, N_ (marks constants), ...
AREAS = [  # (path prefix relative to the repository, area): the first match decides; the rest is "common"
    ("advcore/lessons/", "lessons"), ("pages/learn/", "lessons"), ("advcore/ui/lesson.py", "lessons"),
    ("advcore/viz_learn.py", "lessons"),
    ("pages/explore/", "explore"), ("advcore/ui/results", "explore"), ("advcore/ui/widgets", "explore"),
    ("advcore/ui/view_state", "explore"), ("advcore/ui/attack_row", "explore"),
    ("advcore/ui/defence_controls", "explore"), ("advcore/ui/layout", "explore"),
    ("pages/classroom/", "classroom"), ("advcore/classroom/", "classroom"), ("advcore/ui/room_session", "classroom"),
    ("advcore/ui/presented_view", "classroom"), ("advcore/ui/presenting", "classroom"),
    ("advcore/ui/teacher_panel", "classroom"), ("advcore/ui/student_panel", "classroom"),
    ("pages/models/", "models"), ("pages/defences/", "models"), ("advcore/ui/model_table", "models"),
    ("advcore/ui/jobs", "models"), ("advcore/ui/heavy_view", "models"), ("advcore/heavy.py", "models"),
    ("advcore/train_runner.py", "models"), ("advcore/cards.py", "models"), ("advcore/train.py", "models"),
    ("advcore/ui/picker", "explore"), ("advcore/ui/canvas", "explore"), ("advcore/ui/a11y", "explore"),
    ("advcore/ui/sidebar", "explore"),
    ("advcore/ui/param_labels", "explore"), ("advcore/ui/startup", "explore"), ("advcore/viz.py", "explore"),
    ("advcore/tracechart", "explore"), ("advcore/pictures", "explore"), ("advcore/bars", "explore"),
    ("advcore/live.py", "explore"), ("advcore/landscape.py", "explore"), ("advcore/shipped_sweeps", "explore"),
    ("advcore/ui/follow_stream", "classroom"), ("advcore/ui/limits", "classroom"), ("advcore/ui/store", "classroom"),
    ("advcore/ui/qr", "classroom"), ("advcore/ui/escape", "classroom"),
    ("advcore/cli.py", "cli"), ("advcore/__main__.py", "cli"),
    ("advcore/attacks/", "library"), ("advcore/params.py", "library"), ("advcore/zoo.py", "library"),
    ("advcore/evaluate.py", "library"), ("advcore/defences.py", "library"), ("advcore/byo.py", "library"),
    ("advcore/imagesets.py", "library"), ("advcore/images.py", "library"), ("advcore/ids.py", "library"),
    ("advcore/settings.py", "library"), ("advcore/errors.py", "library"), ("advcore/metrics.py", "library"),
    ("advcore/data.py", "library"),
]
PLACEHOLDER = re.compile(r"(?<!\{)\{([A-Za-z_]\w*)(?:[.\[!:][^{}]*)?\}(?!\})")


def area_of(path: str) -> str:
    """The area (``.po`` file stem) a message first used in ``path`` goes to."""
    return next((area for prefix, area in AREAS if path.startswith(prefix)), "common")


def extract() -> Catalog:
    """Every message marked in the code that ``babel.cfg`` names (msgid, plural, context, locations)."""
    with (ROOT / "babel.cfg").open() as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    catalog = Catalog(domain="advcore")
    for filename, lineno, message, comments, context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=KEYWORDS, strip_comment_tags=True):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def read_area(path: Path, lang: str) -> Catalog:
    with path.open("rb") as fh:
        return read_po(fh, locale=lang, domain=path.stem)


def new_area(lang: str, area: str) -> Catalog:
    """An empty catalog for ``area`` of ``lang``, with AdvLab's header (plural forms: Babel's for ``lang``)."""
    return Catalog(locale=lang, domain=area, project="AdvLab", version="0.1", fuzzy=False,
                   header_comment=f"# {i18n.LANGUAGES.get(lang, lang)} messages of AdvLab, area {area!r} "
                                  "(docs/i18n.md).")


def write_area(catalog: Catalog, path: Path) -> None:
    """Write ``catalog`` (file names without line numbers, so moving code does not change the catalogs)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        write_po(fh, catalog, width=120, sort_output=False, include_previous=False, include_lineno=False)


def languages() -> list[str]:
    return [lang for lang in i18n.LANGUAGES if lang != i18n.DEFAULT_LANGUAGE]


def update(lang: str, template: Catalog, only: str | None = None) -> dict[str, int]:
    """Add the template's messages that no area of ``lang`` has to their area (untranslated); returns the
    number added per area. ``only``: touch that area's file alone (translators working on other areas at the
    same time keep their files)."""
    merged = i18n.read_catalog(lang)
    areas: dict[str, Catalog] = {}
    added: dict[str, int] = {}
    for message in template:
        if not message.id or merged.get(message.id, message.context) is not None:
            continue
        area = area_of(message.locations[0][0])
        if only and area != only:
            continue
        path = i18n.LOCALE_DIR / lang / "LC_MESSAGES" / f"{area}.po"
        if area not in areas:
            areas[area] = read_area(path, lang) if path.exists() else new_area(lang, area)
        areas[area].add(message.id, "" if not message.pluralizable else ("",) * areas[area].num_plurals,
                        message.locations, context=message.context)
        added[area] = added.get(area, 0) + 1
    for area, catalog in areas.items():
        write_area(catalog, i18n.LOCALE_DIR / lang / "LC_MESSAGES" / f"{area}.po")
    return added


def init(lang: str, template: Catalog) -> None:
    """Start ``lang``: an untranslated ``.po`` per area, holding every message of the template."""
    if (i18n.LOCALE_DIR / lang).exists():
        raise SystemExit(f"{i18n.LOCALE_DIR / lang} exists; use `update`")
    (i18n.LOCALE_DIR / lang / "LC_MESSAGES").mkdir(parents=True)
    i18n.reload()
    update(lang, template)


# --- checks (also tests/test_i18n.py) ----------------------------------------------------------------

def placeholders(text: str) -> set[str]:
    """The named ``str.format`` fields of ``text`` (``{eps:.3f}`` -> ``eps``); doubled braces are literal."""
    return set(PLACEHOLDER.findall(text))


def missing(lang: str, template: Catalog) -> list[str]:
    """Marked messages that no area of ``lang`` holds."""
    merged = i18n.read_catalog(lang)
    return [f"{m.locations[0][0]}:{m.locations[0][1]}: {_label(m)}" for m in template
            if m.id and merged.get(m.id, m.context) is None]


def untranslated(lang: str) -> list[str]:
    """Entries of ``lang``'s areas with an empty form or marked fuzzy."""
    out = []
    for path in i18n.catalog_files(lang):
        for m in read_area(path, lang):
            strings = m.string if isinstance(m.string, tuple) else (m.string,)
            if m.id and (m.fuzzy or not all(strings)):
                out.append(f"{path.name}: {'fuzzy' if m.fuzzy else 'empty'}: {_label(m)}")
    return out


def placeholder_faults(lang: str) -> list[str]:
    """Entries whose translation does not use exactly the msgid's placeholders (for plurals: each form uses
    only the English forms' placeholders and all of the plural's but ``{n}``, which a form may spell out)."""
    out = []
    for path in i18n.catalog_files(lang):
        for m in read_area(path, lang):
            if not m.id:
                continue
            if isinstance(m.id, tuple):
                allowed = placeholders(m.id[0]) | placeholders(m.id[1])
                needed = placeholders(m.id[1]) - {"n"}
                bad = [s for s in m.string if s and not needed <= placeholders(s) <= allowed]
            else:
                bad = [m.string] if m.string and placeholders(m.string) != placeholders(m.id) else []
            out += [f"{path.name}: {_label(m)} -> {s!r}" for s in bad]
    return out


def plural_faults(lang: str) -> list[str]:
    """Plural entries without one non-empty form per the header's ``nplurals`` (Babel's reader pads missing
    forms with empty strings), and areas whose ``Plural-Forms`` differ from the first area's."""
    out, first = [], None
    for path in i18n.catalog_files(lang):
        catalog = read_area(path, lang)
        first = first or catalog.plural_forms
        if catalog.plural_forms != first:
            out.append(f"{path.name}: Plural-Forms {catalog.plural_forms!r} differ from {first!r}")
        out += [f"{path.name}: {sum(map(bool, m.string))} forms, {catalog.num_plurals} needed: {_label(m)}"
                for m in catalog if m.id and isinstance(m.id, tuple)
                and (len(m.string) != catalog.num_plurals or not all(m.string))]
    return out


def conflicts(lang: str) -> list[str]:
    """A msgid (with its context) translated differently in two areas."""
    seen: dict[tuple, tuple[str, object]] = {}
    out = []
    for path in i18n.catalog_files(lang):
        for m in read_area(path, lang):
            key = (m.id, m.context)
            if m.id and key in seen and seen[key][1] != m.string and m.string:
                out.append(f"{seen[key][0]} and {path.name} differ: {_label(m)}")
            seen.setdefault(key, (path.name, m.string))
    return out


def _label(message) -> str:
    text = message.id[0] if isinstance(message.id, tuple) else message.id
    return (f"[{message.context}] " if message.context else "") + repr(text[:70])


def check(lang: str, template: Catalog) -> list[str]:
    return (missing(lang, template) + untranslated(lang) + placeholder_faults(lang) + plural_faults(lang)
            + conflicts(lang))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("extract").add_argument("-o", "--output", default="-")
    sub.add_parser("update").add_argument("--area", help="add only this area's new messages (write only its file)")
    sub.add_parser("init").add_argument("lang")
    sub.add_parser("check").add_argument("lang", nargs="?")
    args = parser.parse_args(argv)
    template = extract()
    if args.command == "extract":
        if args.output == "-":
            write_po(sys.stdout.buffer, template, width=120)
        else:
            with open(args.output, "wb") as fh:
                write_po(fh, template, width=120)
    elif args.command == "update":
        for lang in languages():
            print(lang, update(lang, template, args.area) or "up to date")
    elif args.command == "init":
        init(args.lang, template)
        print(f"now add {args.lang!r} to LANGUAGES in advcore/i18n.py and translate advcore/locale/{args.lang}/")
    else:
        faults = [f"{lang}: {f}" for lang in ([args.lang] if args.lang else languages()) for f in check(lang, template)]
        print("\n".join(faults) or "all catalogs complete")
        return 1 if faults else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
