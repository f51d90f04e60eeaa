"""Catalogs are complete and current: a missing French or Spanish message fails here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from shared.i18n import LOCALES, LOCALES_DIR, negotiate, translations

ROOT = Path(__file__).resolve().parents[2]


def _read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=locale)


def _ids(catalog: Catalog) -> set[str]:
    return {str(m.id if isinstance(m.id, str) else m.id[0]) for m in catalog if m.id}


def _complete(string: object) -> bool:
    return all(string) if isinstance(string, (list, tuple)) else bool(string)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "--no-location",
            "--sort-output",
            "-o",
            str(pot),
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    return _read(pot)


def test_the_committed_template_is_not_stale(extracted: Catalog) -> None:
    committed = _read(LOCALES_DIR / "messages.pot")
    missing = _ids(extracted) - _ids(committed)
    assert not missing, f"run pybabel extract (see babel.cfg); new messages: {sorted(missing)[:10]}"


@pytest.mark.parametrize("locale", [loc for loc in LOCALES if loc != "en"])
def test_every_message_is_translated(extracted: Catalog, locale: str) -> None:
    catalog = _read(LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po", locale)
    translated = {
        str(m.id if isinstance(m.id, str) else m.id[0])
        for m in catalog
        if m.id and not m.fuzzy and _complete(m.string)
    }
    untranslated = _ids(extracted) - translated
    assert not untranslated, f"{locale}: untranslated: {sorted(untranslated)[:10]}"


def test_translations_are_used_and_english_is_the_source() -> None:
    assert translations("fr").gettext("Check a receipt") != "Check a receipt"
    assert translations("es").gettext("Check a receipt") != "Check a receipt"
    assert translations("en").gettext("Check a receipt") == "Check a receipt"


@pytest.mark.parametrize(
    ("header", "chosen"),
    [
        ("fr-CA,fr;q=0.9,en;q=0.8", "fr"),
        ("es-MX", "es"),
        ("de-DE,de;q=0.9", "en"),
        ("de;q=1, es;q=0.5, fr;q=0.7", "fr"),
        ("", "en"),
        (None, "en"),
        ("fr;q=bogus, es", "es"),
    ],
)
def test_accept_language_negotiation(header: str | None, chosen: str) -> None:
    assert negotiate(header) == chosen
