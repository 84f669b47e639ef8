"""Khmer names as people type them: spellings that look the same are one identity, the same
name in Khmer and Latin letters shares a romanised key, and Khmer typed in a legacy font
(Limon/ABC) is caught at upload and never stored silently."""
from __future__ import annotations

import json
import random
import unicodedata

import pytest
import sqlalchemy as sa

from registry.actors import khmer, legacy_font
from registry.actors.normalise import identity_name
from registry.actors.romanise import roman_key
from registry.actors.validation import Problem, parse_full_name
from registry.extensions import db
from tests.helpers import count_actors, csrf_token, upload_file, valid_form
from tests.import_files import good, write_csv, write_xlsx

# (what differs, one typing, another typing that renders identically)
LOOK_ALIKE = [
    ("zero-width space inside", "សុខ ដារ៉ា", "សុ\u200bខ ដារ៉ា"),
    ("zero-width (non-)joiners", "សុខា", "សុ\u200cខ\u200dា"),
    ("inherent vowel U+17B4 inserted", "សុខា", "សុខ\u17b4ា"),
    ("shifter typed after aa", "ដារ៉ា", "ដារា\u17c9"),
    ("nikahit before u (-om)", "ស្រីមុំ", "ស្រីម\u17c6\u17bb"),
    ("vowel typed before the subscript", "ស្រី", "ស\u17b8\u17d2រ"),
    ("aa typed before the subscript (Prak)", "ប្រាក់", "ប\u17b6\u17d2រក់"),
    ("subscript RO typed first", "ចន្ទ្រា", "ចន\u17d2រ\u17d2ទា"),
    ("subscript DA for subscript TA", "ចិន្តា", "ចិន\u17d2ដា"),
    ("shifter after u (Hun)", "ហ៊ុន", "ហ\u17bb\u17caន"),
    ("Oum: three marks in any order", "អ៊ុំ", "អ\u17c6\u17bb\u17ca"),
    ("e + ii for oe", "ពើន", "ព\u17c1\u17b8ន"),
    ("e + aa for oo", "សោភា", "ស\u17c1\u17b6ភា"),
    ("nikahit typed twice", "សំណាង", "ស\u17c6\u17c6ណាង"),
    ("aa typed twice", "ដារ៉ា", "ដា\u17b6រ៉ា"),
    ("deprecated U+17A3 for QA", "អ៊ុំ", "\u17a3៊ុំ"),
    ("deprecated U+17A4 for QA + AA", "អាន", "\u17a4ន"),
    ("-u + ii for the shifter (strong)", "ស៊ីម", "ស\u17bb\u17b8ម"),
    ("-u + ii for the shifter (weak)", "ម៉ី", "ម\u17bb\u17b8"),
    ("coeng typed twice", "សុវណ្ណ", "សុវណ\u17d2\u17d2ណ"),
    ("nikahit before aa (-am)", "ចាំរ៉ុន", "ច\u17c6\u17b6រ៉ុន"),
    ("shifter before the subscript (Srun)", "ស្រ៊ុន", "ស\u17ca\u17d2រ\u17bbន"),
    ("reahmuk before the vowel", "ពេះ", "ព\u17c7\u17c1"),
]
DIFFERENT = [
    ("ចិន្តា", "ចន្ទា"), ("សុខ", "សុក"), ("ស្រី", "សេរី"), ("ដារ៉ា", "តារា"), ("សុភា", "សោភា"),
    ("ហេង", "ហង់"), ("បុប្ផា", "បុប្ភា"), ("ចាន់", "ចន្ទ"), ("ស៊ីម", "ស៊ឹម"), ("ម៉ី", "មី"),
    ("ពេជ្រ", "ពេជ"), ("ក្ស្ម", "ក្ម្ស"), ("ឱ", "ឲ"), ("ចាន់", "ចាន"),
]
# Khmer names and how the same people's names are written in Latin letters on ID cards.
ACROSS_SCRIPTS = [
    ("សុខ ដារ៉ា", "Sok Dara"), ("ជា សំណាង", "Chea Samnang"), ("ហេង សុភាព", "Heng Sopheap"),
    ("កែវ វណ្ណា", "Keo Vanna"), ("ស្រី មុំ", "Srey Mom"), ("ឈុន វិបុល", "Chhun Vibol"),
    ("លីម រតនា", "Lim Ratana"), ("ប្រាក់ សុវណ្ណ", "Prak Sovann"), ("ហ៊ុន សីហា", "Hun Seyha"),
    ("ទេព ស្រីនាង", "Tep Sreyneang"), ("មាស ចិន្តា", "Meas Chenda"), ("ឡុង វុទ្ធី", "Long Vuthy"),
    ("ម៉ៅ ចាន់នី", "Mao Channy"), ("គង់ ពិសិដ្ឋ", "Kong Piseth"), ("អ៊ុក សុជាតិ", "Ouk Socheat"),
]
# The same Khmer names typed with the Limon font, as copied out of an old document (the
# mapping of kfc 0.2.3's unicode_to_limon, which follows the Limon font's layout).
LIMON = ["sux dar:a", "Ca sMNag", "FI cnßa", "FI eBRC", "ehg suPaB", "Ekv vNÑa", "RsI muM", "Qun vibul",
         "lIm rtna", "Rbak; suvNÑ", "em:A can;nI", "Kg; Bisidæ", "G‘uk suCati", "eTB RsInag", "jwm pløa",
         "ywm rsµI", "esg bubaö", "mas cinþa", "Lug vuT§I", "h‘un sIha"]
# Real Latin names with letters Limon also uses: one may score, a file of them must not.
LATIN = ["Sok Dara", "François Dupont", "Bjørn Dæhlie", "Þór Björnsson", "María José Peña", "Jean-Pierre Lefèvre",
         "O'Brien", "McDonald", "Nguyen Van An", "Chea Samnang"]


@pytest.mark.parametrize(("what", "typed", "variant"), LOOK_ALIKE, ids=[w for w, _, _ in LOOK_ALIKE])
def test_spellings_that_look_the_same_are_one_name(what: str, typed: str, variant: str) -> None:
    assert identity_name(typed) == identity_name(variant)


@pytest.mark.parametrize(("one", "other"), DIFFERENT)
def test_names_that_look_different_stay_apart(one: str, other: str) -> None:
    assert identity_name(one) != identity_name(other)


def test_canonical_order_is_stable_and_composed() -> None:
    rng = random.Random(12)
    letters = [chr(c) for c in range(0x1780, 0x17DE)]
    for _ in range(5000):
        text = "".join(rng.choice(letters) for _ in range(rng.randint(1, 9)))
        once = khmer.canonical(text)
        assert khmer.canonical(once) == once
        assert unicodedata.normalize("NFC", once) == once
    assert khmer.canonical("Sok Dara") == "Sok Dara"


def post_form(client, **overrides: str):  # type: ignore[no-untyped-def]
    return client.post("/register", data={**valid_form(**overrides), "csrf_token": csrf_token(client, "/register")})


def test_a_name_typed_in_another_order_is_not_a_second_registration(client, app) -> None:  # type: ignore[no-untyped-def]
    assert post_form(client, full_name="ស្រី មុំ").status_code == 303
    again = app.test_client()
    assert post_form(again, full_name="ស\u17b8\u17d2រ ម\u17c6\u17bb").status_code == 409
    assert post_form(app.test_client(), full_name="ស្រី\u200d មុំ\u17b4").status_code == 409
    assert count_actors(app) == 1


def test_search_finds_a_name_typed_in_another_order(app, runner) -> None:  # type: ignore[no-untyped-def]
    client = app.test_client()
    assert post_form(client, full_name="ប្រាក់ ស្រីមុំ").status_code == 303
    found = runner.invoke(args=["actors", "find", "ប\u17b6\u17d2រក់", "--json"])
    assert found.exit_code == 0, found.output
    assert [row["full_name"] for row in json.loads(found.output.splitlines()[-1])] == ["ប្រាក់ ស្រីមុំ"]


@pytest.mark.parametrize(("khmer_name", "latin_name"), ACROSS_SCRIPTS)
def test_the_same_name_in_khmer_and_latin_letters_has_one_romanised_key(khmer_name: str, latin_name: str) -> None:
    assert roman_key(khmer_name) == roman_key(latin_name)
    assert roman_key(khmer_name) == roman_key(" ".join(reversed(latin_name.split())))  # family name last


def test_different_names_have_different_romanised_keys() -> None:
    keys = {roman_key(name) for name, _ in ACROSS_SCRIPTS}
    assert len(keys) == len(ACROSS_SCRIPTS)
    assert roman_key("Sopheap") != roman_key("Sophea")


def test_limon_names_are_found_in_a_file_and_latin_names_are_not() -> None:
    assert legacy_font.check_names(enumerate(LIMON, start=2)) is not None
    assert legacy_font.check_names(enumerate(LATIN, start=2)) is None
    assert legacy_font.check_names(enumerate(ACROSS_SCRIPTS[0], start=2)) is None  # Unicode Khmer


def _rows(names: list[str]) -> list[list[str]]:
    return [good(n, full_name=name) for n, name in enumerate(names)]


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_an_upload_typed_in_a_legacy_font_is_refused_with_the_rows_and_the_fix(outreach, app, tmp_path, kind) -> None:  # type: ignore[no-untyped-def]
    path = (write_csv if kind == "csv" else write_xlsx)(tmp_path / f"limon.{kind}", _rows(LIMON))
    response = upload_file(outreach, path)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="file-error"' in html and 'name="latin_names"' in html  # said, and the question asked
    assert count_actors(app) == 0


def test_the_legacy_font_message_names_rows_and_the_fix_in_english(outreach, app, tmp_path) -> None:  # type: ignore[no-untyped-def]
    outreach.get("/staff/imports?lang=en")
    path = write_csv(tmp_path / "limon.csv", _rows(LIMON))
    html = upload_file(outreach, path).get_data(as_text=True)
    assert "old font (Limon or ABC)" in html and "rows 2, 3" in html
    assert "Convert the file" in html
    assert count_actors(app) == 0


def test_staff_who_confirm_latin_letters_import_the_file_and_it_is_audited(outreach, app, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = write_csv(tmp_path / "limon.csv", _rows(LIMON))
    response = upload_file(outreach, path, latin_names="y")
    assert response.status_code == 303
    for thread in app.extensions.get("registry.import_threads", []):
        thread.join(timeout=60)
    assert count_actors(app) > 0
    with app.app_context():
        detail = db.session.execute(sa.text("SELECT detail FROM event WHERE kind = 'import_upload'")).scalar_one()
    assert (json.loads(detail) if isinstance(detail, str) else detail)["latin_names_confirmed"] is True


def test_latin_names_with_nordic_and_french_letters_import_without_a_question(outreach, app, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = write_csv(tmp_path / "latin.csv", _rows(LATIN))
    assert upload_file(outreach, path).status_code == 303


def test_the_command_line_refuses_a_legacy_font_file_unless_told(runner, app, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = write_csv(tmp_path / "limon.csv", _rows(LIMON))
    refused = runner.invoke(args=["import-actors", str(path)])
    assert refused.exit_code != 0 and "Limon" in refused.output and "--latin-names" in refused.output
    assert count_actors(app) == 0
    accepted = runner.invoke(args=["import-actors", str(path), "--latin-names"])
    assert accepted.exit_code == 0, accepted.output
    assert count_actors(app) == sum(1 for name in LIMON if _is_a_name(name))  # stored as written, never converted


def _is_a_name(text: str) -> bool:
    try:
        parse_full_name(text)
    except Problem:
        return False
    return True
