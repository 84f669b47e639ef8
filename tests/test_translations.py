"""Both catalogs are complete: every user-facing string has Khmer and English text."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
CATALOGS = ROOT / "registry" / "translations"
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


@pytest.fixture(scope="module")
def source_messages(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    pot = tmp_path_factory.mktemp("pot") / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "--no-location", "-F", "babel.cfg",
         "-k", "_l", "-k", "N_", "-o", str(pot), "."],
        cwd=ROOT, check=True, capture_output=True,
    )
    with pot.open("rb") as fh:
        return {m.id for m in read_po(fh) if m.id}


@pytest.mark.parametrize("locale", ["km", "en"])
def test_catalog_translates_every_source_string(locale: str, source_messages: set[str]) -> None:
    with (CATALOGS / locale / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    translated = {m.id: m.string for m in catalog if m.id and m.string and "fuzzy" not in m.flags}
    missing = sorted(source_messages - set(translated))
    assert missing == [], f"{len(missing)} strings untranslated in {locale}: run `make translations`"
    for msgid, text in translated.items():
        assert set(PLACEHOLDER.findall(msgid)) == set(PLACEHOLDER.findall(text)), msgid


@pytest.mark.parametrize("locale", ["km", "en"])
def test_compiled_catalog_is_up_to_date(locale: str) -> None:
    folder = CATALOGS / locale / "LC_MESSAGES"
    with (folder / "messages.po").open("rb") as fh:
        source = {m.id: m.string for m in read_po(fh, locale=locale) if m.id}
    with (folder / "messages.mo").open("rb") as fh:
        compiled = {m.id: m.string for m in read_mo(fh) if m.id}
    assert compiled == source, "run `make translations` (pybabel compile)"


def test_khmer_catalog_is_in_khmer() -> None:
    with (CATALOGS / "km" / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        strings = [m.string for m in read_po(fh, locale="km") if m.id and m.string]
    khmer = [s for s in strings if re.search(r"[\u1780-\u17ff]", s)]
    assert len(khmer) >= 0.9 * len(strings)
