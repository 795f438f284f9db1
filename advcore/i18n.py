"""Languages: every string a person reads goes through this module (gettext catalogs, read with Babel).

Bottom layer: imports nothing from advcore but ``errors``. Supported languages are ``LANGUAGES`` (one line
per language); English is the source language (the msgids), so ``en`` needs no catalog.

Marking and translating (the same API in the library, the pages and the CLI)::

    from advcore.i18n import N_, _, ngettext

    st.header(_("Robust training"))                          # translated now, in the current language
    st.caption(_("Flip {model} with eps {eps:.3f}", model=name, eps=eps))  # named placeholders, str.format
    st.write(ngettext("{n} image", "{n} images", count))     # plural forms from the catalog; ``n`` is filled in
    st.write(ngettext("{n} of {total} flipped", "{n} of {total} flipped", k, total=m))
    st.radio(pgettext("menu", "Train"), ...)                  # a context for a word with several meanings

    TITLE = N_("Feature space")   # a module-level constant: only marked here (for extraction) ...
    st.title(_(TITLE))            # ... and translated where it is shown (at render time, per session)

Rules for messages:

- one whole sentence (or label) per message, never pieces glued together; placeholders are named
  (``{model}``, ``{eps:.3f}``), never positional, so a translation can reorder them;
- the keyword values are applied with ``str.format`` only when given: a message with values must write a
  literal brace as ``{{`` / ``}}``; a message without values is returned as is (LaTeX braces are safe);
- Markdown and ``$math$`` stay in the msgid and are copied into the translation;
- ``_()`` only takes a literal string (or a variable holding an ``N_``-marked one): extraction reads literals;
- a module that imports ``_`` must not use ``_`` as a throwaway name (``a, _ = ...`` shadows it: use ``a, _b``);
- never translate inside ``st.cache_data``/``st.cache_resource`` functions (their results are shared by
  sessions in every language): cache ids and numbers, translate when drawing;
- data-set class names: ``class_name(name)`` (context ``class name`` in ``common.po``); chart fonts:
  ``CHART_FONT_FAMILY``; links that open a page carry ``?lang=`` (``advcore.links`` does it for Explore).

The current language is per Streamlit session: ``advcore.ui.navigation`` reads ``?lang=`` (or the session's
earlier choice) at the top of every page run and calls ``use_language(lang)``; the value lives in a
``contextvars.ContextVar``, so each session's script thread sees its own. ``current_language()`` reads it
(``en`` when unset). ``use_language`` also works as a context manager (``with use_language("zh"): ...``
restores the previous language on exit; handy in tests). The CLI calls
``use_language(language_from_env())`` (``LANGUAGE``, ``LC_ALL``, ``LC_MESSAGES``, ``LANG``, as gettext reads
them: ``zh_CN.UTF-8`` -> ``zh``); its flags and JSON keys stay English.

Catalogs are split by area so several translators can work at once: ``advcore/locale/<lang>/LC_MESSAGES/<area>.po``
(areas: ``common`` (navigation, class names, shared words), ``lessons``, ``explore``, ``classroom``, ``models``,
``cli``, ...). All ``.po`` files of a language are merged when the language is first used (a msgid in two
areas must have one translation; ``tests/test_i18n.py`` checks it). Plain ``.po`` files are read directly with
Babel's reader and compiled in memory (no ``.mo`` files in the repository: no build step and no compiled copy
that can go stale; reading all catalogs takes well under a second, once per process). Fuzzy or empty entries
are not used (the English is shown). Extraction and updates: ``scripts/i18n.py``; see docs/i18n.md.

Translating an area: mark the strings, run ``python scripts/i18n.py update`` (new msgids go, untranslated, to
the area of the first file using them: ``AREAS`` in ``scripts/i18n.py``; it creates the area's ``.po`` with
the right header), fill in each ``msgstr``, then ``python scripts/i18n.py check`` (what ``tests/test_i18n.py``
asserts). One msgid has one translation across the app (the glossary's "FGSM" is "快速梯度符号法"): give a
short label that must read differently a context with ``pgettext``.

Adding a language: a line in ``LANGUAGES`` and a folder ``advcore/locale/<code>/LC_MESSAGES/`` with the areas'
``.po`` files (``python scripts/i18n.py init <code>``).
"""

from __future__ import annotations

import contextvars
import gettext as _gettext
import io
import os
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path

from advcore.errors import AdvcoreError

LANGUAGES: dict[str, str] = {  # code -> name in that language (the picker's labels); one line per language
    "en": "English",
    "zh": "简体中文",
}
DEFAULT_LANGUAGE = "en"  # the source language: msgids are English
HTML_LANG = {"en": "en", "zh": "zh-Hans"}  # BCP 47 tag for <html lang> (WCAG 3.1.1); the code when absent
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
# Charts' font stack (Plotly ``layout.font.family``): Streamlit's own face first, then a CJK face for Chinese
# (Debian fonts-noto-cjk on the server and in CI; most systems have one of the others), then any sans-serif.
CHART_FONT_FAMILY = ('"Source Sans", "Source Sans Pro", "Open Sans", "Noto Sans CJK SC", "Noto Sans SC", '
                     '"Microsoft YaHei", "PingFang SC", sans-serif')
DOMAIN_GLOB = "*.po"  # every area of a language: LOCALE_DIR/<lang>/LC_MESSAGES/<area>.po

_language: contextvars.ContextVar[str] = contextvars.ContextVar("advcore_language")
# Where the language of a session lives when this thread has none set (a UI registers it: the dashboard's
# Streamlit session state). Streamlit reruns an ``st.fragment`` alone, on a fresh thread, without the page's top
# (where ``use_language`` is called): the fragment must still speak the session's language.
_session_language: Callable[[], str | None] | None = None


def follow_session_language(resolver: Callable[[], str | None]) -> None:
    """Register ``resolver`` (the current session's language code, or None outside a session) for threads on
    which ``use_language`` was not called."""
    global _session_language
    _session_language = resolver


# --- choosing the language -----------------------------------------------------------------------

def normalize(value: str | None) -> str | None:
    """The supported language code for ``value`` (``"zh"``, ``"zh_CN.UTF-8"``, ``"zh-Hans"``, ``"EN"``), or None
    when it names no supported language (None, empty, ``"C"``, ``"fr"``)."""
    if not value:
        return None
    code = value.strip().split(".")[0].split("@")[0].replace("-", "_").split("_")[0].lower()
    return code if code in LANGUAGES else None


def language_from_env(environ: Mapping[str, str] | None = None) -> str:
    """The CLI's language from the locale variables, read as gettext does: the first of ``LANGUAGE`` (a
    colon-separated list of preferences), ``LC_ALL``, ``LC_MESSAGES``, ``LANG`` that is set; within
    ``LANGUAGE`` the first supported entry wins. ``C``/``POSIX`` or an unsupported locale give English."""
    env = os.environ if environ is None else environ
    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(var, "")
        if not value:
            continue
        for entry in value.split(":") if var == "LANGUAGE" else [value]:
            code = normalize(entry)
            if code:
                return code
        if var != "LANGUAGE":  # the first locale variable set decides (LANGUAGE only adds preferences)
            return DEFAULT_LANGUAGE
    return DEFAULT_LANGUAGE


class _Scope:
    """What ``use_language`` returns: the language is already set; ``with`` restores the previous one."""

    def __init__(self, token: contextvars.Token) -> None:
        self._token = token

    def __enter__(self) -> _Scope:
        return self

    def __exit__(self, *exc) -> None:
        _language.reset(self._token)


def use_language(lang: str) -> _Scope:
    """Make ``lang`` (a code of ``LANGUAGES``, or a locale name ``normalize`` understands) the current language
    of this thread/context; raises ``AdvcoreError`` for an unsupported one."""
    code = normalize(lang)
    if code is None:
        raise AdvcoreError(f"unsupported language {lang!r}; supported: {', '.join(LANGUAGES)}")
    return _Scope(_language.set(code))


def current_language() -> str:
    """The current language's code: the one ``use_language`` set in this context, else the session's (see
    ``follow_session_language``), else ``DEFAULT_LANGUAGE``."""
    lang = _language.get(None)
    if lang is None and _session_language is not None:
        lang = _session_language()
    return lang or DEFAULT_LANGUAGE


def link_language() -> str | None:
    """The language a link written now should carry (``?lang=``): the current one, or None for the default
    (a session opened without ``?lang=`` is English, so English links stay as they were)."""
    lang = current_language()
    return None if lang == DEFAULT_LANGUAGE else lang


def html_lang(lang: str | None = None) -> str:
    """The BCP 47 tag for ``<html lang>`` of ``lang`` (default: the current language)."""
    code = lang or current_language()
    return HTML_LANG.get(code, code)


# --- catalogs --------------------------------------------------------------------------------------

def catalog_files(lang: str) -> list[Path]:
    """The ``.po`` files (areas) of ``lang``, sorted by name."""
    return sorted((LOCALE_DIR / lang / "LC_MESSAGES").glob(DOMAIN_GLOB))


def read_catalog(lang: str):
    """All areas of ``lang`` merged into one ``babel.messages.Catalog`` (header from the first area; an entry
    translated in an earlier area is not replaced by an untranslated one from a later area)."""
    from babel.messages.catalog import Catalog  # lazy: babel only for a language other than English
    from babel.messages.pofile import read_po

    merged = Catalog(locale=lang, domain="advcore")
    for path in catalog_files(lang):
        with path.open("rb") as fh:
            area = read_po(fh, locale=lang, domain=path.stem)
        if not len(merged):
            merged.mime_headers = area.mime_headers
        for message in area:
            if not message.id:
                continue
            known = merged.get(message.id, message.context)
            if known is not None and _translated(known) and not _translated(message):
                continue
            merged[message.id] = message  # the Catalog keys on (msgid, msgctxt)
    return merged


def _translated(message) -> bool:
    strings = message.string if isinstance(message.string, tuple) else (message.string,)
    return not message.fuzzy and all(strings)


@cache
def translations(lang: str) -> _gettext.NullTranslations:
    """The compiled translations of ``lang`` (cached per process); ``NullTranslations`` for English or a
    language without catalogs."""
    if lang == DEFAULT_LANGUAGE or not catalog_files(lang):
        return _gettext.NullTranslations()
    from babel.messages.mofile import write_mo  # lazy: babel only for a language other than English

    buffer = io.BytesIO()
    write_mo(buffer, read_catalog(lang), use_fuzzy=False)
    buffer.seek(0)
    return _gettext.GNUTranslations(buffer)


def reload() -> None:
    """Forget the compiled catalogs (after editing a ``.po`` file in a running process)."""
    translations.cache_clear()


# --- translating -------------------------------------------------------------------------------------

def _format(text: str, values: dict) -> str:
    return text.format(**values) if values else text


def gettext(message: str, /, **values) -> str:
    """``message`` in the current language, its ``{name}`` placeholders filled from ``values`` (if any)."""
    return _format(translations(current_language()).gettext(message), values)


_ = gettext


def ngettext(singular: str, plural: str, n: int, /, **values) -> str:
    """The form of ``singular``/``plural`` for the count ``n`` in the current language (the catalog header's
    ``Plural-Forms``), with ``{n}`` and the other ``values`` filled in."""
    return translations(current_language()).ngettext(singular, plural, n).format(n=n, **values)


def pgettext(context: str, message: str, /, **values) -> str:
    """``gettext`` with a context (``msgctxt``) telling apart one English word with several meanings."""
    return _format(translations(current_language()).pgettext(context, message), values)


def N_(message: str) -> str:  # noqa: N802 (the gettext convention)
    """Mark ``message`` for extraction without translating it (module-level constants); translate it with
    ``_(CONSTANT)`` where it is shown."""
    return message


def class_name(name: str) -> str:
    """A data set's class name (the English id kept internally, e.g. ``"T-shirt/top"``) as shown to people; the
    names are in the ``common`` area with the context ``class name``."""
    return pgettext("class name", str(name))
