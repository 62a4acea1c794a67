"""Interface languages: Simplified Chinese first (the source strings), Korean and English from catalogs.

Message ids are the Chinese strings themselves, so the Chinese interface needs no catalog and a missing
translation can only ever show Chinese, never a key. `portal i18n check` (part of `make test`) fails when
a catalog lacks a string the code uses, or holds one untranslated, fuzzy or stale.

Workflow after changing user-facing text:  portal i18n update  →  fill in the msgstr lines of
portal/translations/{ko,en}/LC_MESSAGES/messages.po  →  portal i18n check  (compile happens at install).
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

import click
from babel.messages.catalog import Catalog
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = Path(__file__).resolve().parent / "translations"
MAPPING = TRANSLATIONS / "babel.cfg"
TEMPLATE = TRANSLATIONS / "messages.pot"
LANGUAGES = ("zh", "ko", "en")  # zh is the source language: no catalog
CATALOG_LANGUAGES = ("ko", "en")
DEFAULT = "zh"
# The value of `lang` attributes: zh-Hans for the script (the documents are Simplified Chinese).
HTML_LANG = {"zh": "zh-Hans", "ko": "ko", "en": "en"}
NAMES = {"zh": "中文", "ko": "한국어", "en": "English"}
KEYWORDS = ("_", "gettext", "ngettext:1,2", "lazy_gettext", "_l", "lazy_ngettext:1,2", "pgettext:1c,2",
            "lazy_pgettext:1c,2")


def po_path(lang: str) -> Path:
    return TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po"


def _pybabel(*args: str) -> None:
    CommandLineInterface().run(["pybabel", "-q", *args])


def extract(output: Path) -> None:
    """Every translatable string of the code and templates, into a .pot file."""
    keywords = [arg for k in KEYWORDS for arg in ("-k", k)]
    with contextlib.chdir(ROOT):  # locations relative to the repository, the same on every machine
        _pybabel("extract", "-F", str(MAPPING), "--no-default-keywords", *keywords, "--sort-by-file",
                 "--project", "jilin-pharma-portal", "--no-wrap", "-o", str(output), ".")


def update() -> None:
    """Re-extract and bring the ko/en catalogs up to date (new strings empty, none guessed as fuzzy)."""
    extract(TEMPLATE)
    for lang in CATALOG_LANGUAGES:
        command = "update" if po_path(lang).exists() else "init"
        extra = ["--no-fuzzy-matching", "--ignore-obsolete"] if command == "update" else []
        _pybabel(command, "-i", str(TEMPLATE), "-d", str(TRANSLATIONS), "-l", lang, "--no-wrap", *extra)


def compile_catalogs() -> None:
    _pybabel("compile", "-d", str(TRANSLATIONS), "--statistics")


def _read(path: Path, lang: str | None = None) -> Catalog:
    with path.open("rb") as f:
        return read_po(f, locale=lang)


def problems(only: Iterable[str] = ()) -> list[str]:
    """What keeps the catalogs from being complete: strings the code uses that a catalog lacks or leaves
    untranslated or fuzzy, placeholders that differ, entries no longer used. `only` narrows the report to
    strings used under those paths (helpful while translating one area)."""
    prefixes = tuple(str(Path(p)) for p in only)
    with tempfile.TemporaryDirectory() as tmp:
        pot_path = Path(tmp) / "messages.pot"
        extract(pot_path)
        pot = _read(pot_path)

    def wanted(message_locations: Iterable[tuple[str, int | None]]) -> bool:
        return not prefixes or any(str(Path(loc)).startswith(prefixes) for loc, _ in message_locations)

    def where(message_locations: list[tuple[str, int | None]]) -> str:
        return ", ".join(f"{loc}:{line}" for loc, line in message_locations[:2])

    out: list[str] = []
    for lang in CATALOG_LANGUAGES:
        path = po_path(lang)
        if not path.exists():
            out.append(f"{lang}: no catalog at {path.relative_to(ROOT)} (run: portal i18n update)")
            continue
        catalog = _read(path, lang)
        for message in pot:
            if not message.id or not wanted(message.locations):
                continue
            entry = catalog.get(message.id, message.context)
            label = f"{lang}: {message.id!r} ({where(message.locations)})"
            if entry is None:
                out.append(f"{label} is not in the catalog (run: portal i18n update)")
            elif entry.fuzzy:
                out.append(f"{label} is fuzzy")
            elif not (all(entry.string) if isinstance(entry.string, tuple) else entry.string):
                out.append(f"{label} is untranslated")
        if not prefixes:
            for message in catalog:
                if message.id and pot.get(message.id, message.context) is None:
                    out.append(f"{lang}: {message.id!r} is no longer used (run: portal i18n update)")
        for message, errors in catalog.check():
            for error in errors:
                out.append(f"{lang}: {message.id!r}: {error}")
    return out


@click.group("i18n")
def i18n_group() -> None:
    """Message catalogs for the Korean and English interface."""


@i18n_group.command("update")
def update_command() -> None:
    """Extract the strings and add new ones to the ko/en catalogs."""
    update()
    click.echo(f"updated {', '.join(str(po_path(lang).relative_to(ROOT)) for lang in CATALOG_LANGUAGES)}")


@i18n_group.command("compile")
def compile_command() -> None:
    """Compile the catalogs (.po → .mo); `make run` and `make test` do this at install."""
    compile_catalogs()


@i18n_group.command("check")
@click.option("--only", "only", multiple=True, help="Report only strings used under this path (repeatable).")
def check_command(only: tuple[str, ...]) -> None:
    """Fail when a catalog lacks a string, or holds one untranslated, fuzzy or no longer used."""
    found = problems(only)
    for line in found:
        click.echo(f"error: {line}", err=True)
    if found:
        click.echo(f"{len(found)} catalog problem(s)", err=True)
        sys.exit(1)
    click.echo("catalogs complete: " + ", ".join(
        f"{lang} {sum(1 for m in _read(po_path(lang), lang) if m.id)} strings" for lang in CATALOG_LANGUAGES))


__all__ = ["CATALOG_LANGUAGES", "DEFAULT", "HTML_LANG", "LANGUAGES", "NAMES", "i18n_group"]
