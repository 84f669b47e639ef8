"""The validation core, rule by rule: values it accepts and values it rejects."""
from __future__ import annotations

from datetime import date

import pytest

from registry.actors.validation import describe, validate_registration
from registry.i18n import translate
from tests.helpers import valid_form

TODAY = date(2026, 11, 25)


def row(**overrides: object) -> dict[str, object]:
    """The valid form posting of the web tests, as a raw row (consent is not a row field)."""
    values: dict[str, object] = {**valid_form(), "registered_on": ""}
    del values["consent"]
    values.update(overrides)
    return values


def accepted(**overrides: object):  # type: ignore[no-untyped-def]
    registration, errors = validate_registration(row(**overrides), today=TODAY)
    assert errors == [], errors
    assert registration is not None
    return registration


def rejected(field: str, *, in_a_file: bool = False, **overrides: object) -> list[str]:
    """The messages for `field`, as the form shows them or (`in_a_file`) as the import report does."""
    registration, errors = validate_registration(row(**overrides), today=TODAY)
    assert registration is None
    assert field in {e.field for e in errors}, errors
    return [describe(e, lambda m, **p: translate(m, "en", **p), with_codes=in_a_file) for e in errors if e.field == field]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("employee", "employee"),
        ("EMPLOYEE", "employee"),
        ("Self-employed", "self_employed"),
        ("self employed", "self_employed"),
        ("self_employed", "self_employed"),
        ("Micro-Enterprise", "micro_enterprise"),
        ("និយោជិត", "employee"),
        ("អ្នកប្រកបរបរដោយខ្លួនឯង", "self_employed"),
    ],
)
def test_category_accepts_codes_labels_and_khmer(text: str, code: str) -> None:
    extra = {"business_name": "Dara Noodles", "workers": "2"} if code == "micro_enterprise" else {}
    assert accepted(category=text, **extra).category == code


@pytest.mark.parametrize("text", ["", "worker", "self-employed-person", "1"])
def test_category_rejects_other_values(text: str) -> None:
    assert rejected("category", category=text)[0].startswith("Category: ")


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("  Sok   Dara ", "Sok Dara"),
        ("សុខ ដារា", "សុខ ដារា"),
        ("O'Neil Mary-Jane Jr.", "O'Neil Mary-Jane Jr."),
        ("Nguyễn Thị Hoa", "Nguyễn Thị Hoa"),
        ("ស\u200bុខ", "សុខ"),  # zero-width space, common in Khmer text, is dropped
        ("Ab", "Ab"),
        ("A" * 100, "A" * 100),
    ],
)
def test_full_name_accepts_letters_of_any_script(text: str, stored: str) -> None:
    assert accepted(full_name=text).full_name == stored


@pytest.mark.parametrize(
    "text",
    ["", " ", "A", "A" * 101, "Sok Dara 2", "<b>Sok</b>", "Sok=Dara", "sok@dara", "Sok\x00Dara", "Sok\tDara\x07", "Sok\x1bDara"],
)
def test_full_name_rejects_digits_markup_and_control_characters(text: str) -> None:
    assert rejected("full_name", full_name=text)


@pytest.mark.parametrize(
    ("text", "code"),
    [("female", "female"), ("F", "female"), ("f", "female"), ("MALE", "male"), ("m", "male"), ("ស្រី", "female"), ("ប្រុស", "male")],
)
def test_gender_accepts_words_letters_and_khmer(text: str, code: str) -> None:
    assert accepted(gender=text).gender == code


@pytest.mark.parametrize("text", ["", "x", "woman?", "0"])
def test_gender_rejects_other_values(text: str) -> None:
    assert rejected("gender", gender=text)


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("1990-01-25", date(1990, 1, 25)),
        ("25/01/1990", date(1990, 1, 25)),
        ("5/1/1990", date(1990, 1, 5)),
        ("២៥/០១/១៩៩០", date(1990, 1, 25)),
        ("2000-02-29", date(2000, 2, 29)),
        (date(1980, 7, 1), date(1980, 7, 1)),
    ],
)
def test_date_of_birth_accepts_iso_dmy_and_khmer_digits(text: object, day: date) -> None:
    assert accepted(date_of_birth=text).date_of_birth == day


@pytest.mark.parametrize(
    "text", ["", "1990/01/25", "25-01-1990", "31/02/1990", "1990-13-01", "2001-02-29", "yesterday", "25/01/90"]
)
def test_date_of_birth_rejects_other_shapes_and_unreal_dates(text: str) -> None:
    assert rejected("date_of_birth", date_of_birth=text)


def test_age_is_between_15_and_120_on_the_registration_date() -> None:
    assert accepted(date_of_birth="2011-11-25").date_of_birth == date(2011, 11, 25)  # 15 today
    assert "at least 15" in rejected("date_of_birth", date_of_birth="2011-11-26")[0]
    assert accepted(date_of_birth="1906-11-24").date_of_birth.year == 1906  # 120 years and a day
    assert "years old" in rejected("date_of_birth", date_of_birth="1905-11-25")[0]  # 121
    # Age is measured on registered_on, not today.
    assert accepted(date_of_birth="2000-01-01", registered_on="2015-01-01")
    assert rejected("date_of_birth", date_of_birth="2000-01-02", registered_on="2015-01-01")


def test_registered_on_defaults_to_today_and_is_never_in_the_future() -> None:
    assert accepted().registered_on == TODAY
    assert accepted(registered_on="20/12/2024").registered_on == date(2024, 12, 20)
    assert accepted(registered_on="2026-11-25").registered_on == TODAY
    assert "future" in rejected("registered_on", registered_on="2026-11-26")[0]
    assert rejected("registered_on", registered_on="2024-02-30")


@pytest.mark.parametrize(
    ("text", "stored"),
    [("", None), ("123456789", "123456789"), ("123 456 789", "123456789"), ("123-456-789", "123456789"), ("១២៣៤៥៦៧៨៩", "123456789")],
)
def test_national_id_is_optional_and_nine_digits(text: str, stored: str | None) -> None:
    assert accepted(national_id=text).national_id == stored


@pytest.mark.parametrize("text", ["12345678", "1234567890", "12345678A", "ID123456789", "123.456.789"])
def test_national_id_rejects_anything_but_nine_digits(text: str) -> None:
    assert rejected("national_id", national_id=text)


@pytest.mark.parametrize(
    "text",
    ["012345678", "012 345 678", "+855 12 345 678", "855-12-345-678", "(012) 345678", "០១២ ៣៤៥ ៦៧៨", "+85512345678", 12345678],
)
def test_phone_accepts_every_common_cambodian_shape(text: object) -> None:
    assert accepted(phone=text).phone == "+85512345678"


def test_phone_keeps_longer_mobile_numbers() -> None:
    assert accepted(phone="097 1234 567").phone == "+855971234567"


@pytest.mark.parametrize("text", ["", "12", "0123", "+66 81 234 5678", "+1 202 555 0143", "phone", "023 123 456"])
def test_phone_rejects_invalid_and_foreign_numbers(text: str) -> None:
    assert rejected("phone", phone=text)


def test_foreign_number_gets_its_own_message() -> None:
    assert "Cambodian" in rejected("phone", phone="+66 81 234 5678")[0]


@pytest.mark.parametrize(
    ("province", "district", "commune", "codes"),
    [
        ("12", "1201", "120101", ("12", "1201", "120101")),
        ("Phnom Penh", "Chamkar Mon", "Tonle Basak", ("12", "1201", "120101")),
        ("រាជធានីភ្នំពេញ", "ចំការមន", "ទន្លេបាសាក់", ("12", "1201", "120101")),
        ("phnom-penh", "CHAMKAR MON", "tonle basak", ("12", "1201", "120101")),
        ("ខេត្តបាត់ដំបង", "0203", "020301", ("02", "0203", "020301")),
        ("១២", "១២០១", "១២០១០១", ("12", "1201", "120101")),
        ("25", "2503", "250314", ("25", "2503", "250314")),
    ],
)
def test_area_accepts_codes_and_names_within_their_parent(province: str, district: str, commune: str, codes: tuple[str, str, str]) -> None:
    registration = accepted(province=province, district=district, commune=commune)
    assert (registration.province_code, registration.district_code, registration.commune_code) == codes


def test_area_rejects_unknown_names_and_codes() -> None:
    assert rejected("province", province="Atlantis")
    assert rejected("province", province="99")
    assert rejected("district", district="Nowhere")
    assert rejected("commune", commune="999999")
    assert rejected("commune", commune="")


def test_area_must_nest() -> None:
    message = rejected("district", in_a_file=True, district="0203")[0]  # a district of Battambang
    assert "0203" in message and "province 02" in message
    message = rejected("commune", in_a_file=True, commune="120201")[0]  # a commune of another Phnom Penh district
    assert "district 1202" in message
    # On the form, where places are chosen from lists, the same problem says what to choose.
    assert rejected("district", district="0203") == [
        "District: This district is not in the province chosen. Choose the district again from the list."]


def test_ambiguous_commune_name_asks_for_the_code() -> None:
    message = rejected("commune", in_a_file=True, province="25", district="2503", commune="Kokir")[0]
    assert "code" in message


@pytest.mark.parametrize(
    ("text", "code"),
    [("agriculture", "agriculture"), ("Food service", "food_service"), ("food-service", "food_service"), ("PERSONAL SERVICES", "personal_services"), ("កសិកម្ម", "agriculture"), ("ផ្សេងៗ", "other")],
)
def test_sector_accepts_codes_labels_and_khmer(text: str, code: str) -> None:
    assert accepted(sector=text).sector == code


@pytest.mark.parametrize("text", ["", "farming", "retail"])
def test_sector_rejects_other_values(text: str) -> None:
    assert rejected("sector", sector=text)


def test_micro_enterprise_needs_business_name_and_1_to_10_workers() -> None:
    registration = accepted(category="micro_enterprise", business_name="  Dara  Noodles ", workers="៣")
    assert (registration.business_name, registration.workers) == ("Dara Noodles", 3)
    assert accepted(category="micro_enterprise", business_name="X", workers=10.0).workers == 10
    assert accepted(category="micro_enterprise", business_name="X" * 120, workers="1").workers == 1
    for workers in ("", "0", "11", "2.5", "two", "-1"):
        assert rejected("workers", category="micro_enterprise", business_name="X", workers=workers)
    for name in ("", "  ", "X" * 121, "Bad\x00name", "Bell\x07name"):
        assert rejected("business_name", category="micro_enterprise", business_name=name, workers="2")


def test_other_categories_ignore_business_fields() -> None:
    registration = accepted(category="employee", business_name="Ignored", workers="99")
    assert (registration.business_name, registration.workers) == (None, None)


def test_every_error_of_a_row_is_reported_at_once() -> None:
    registration, errors = validate_registration(
        row(category="x", full_name="1", gender="?", phone="1", province="", sector="?"), today=TODAY
    )
    assert registration is None
    assert {e.field for e in errors} == {"category", "full_name", "gender", "phone", "province", "sector"}
    # District and commune cannot be checked until the province is known; blanks are still named.
    _, errors = validate_registration(row(province="", district="", commune=""), today=TODAY)
    assert {e.field for e in errors} == {"province", "district", "commune"}


def test_errors_are_translated_into_khmer() -> None:
    registration, errors = validate_registration(row(phone="+66 81 234 5678"), today=TODAY)
    khmer = describe(errors[0], lambda m, **p: translate(m, "km", **p))
    english = describe(errors[0], lambda m, **p: translate(m, "en", **p))
    assert khmer != english
    assert any("\u1780" <= ch <= "\u17ff" for ch in khmer)


def test_identity_name_ignores_case_spacing_and_punctuation() -> None:
    assert accepted(full_name="SOK  dara").name_key == accepted(full_name="Sok-Dara").name_key


@pytest.mark.parametrize("invisible", ["\u034f", "\u17b4", "\u17b5", "\ufe00", "\u200b", "\u200c", "\u200d", "\u2060",
                                       "\ufeff", "\u00ad", "\u180e", "\U000e0041"])
def test_invisible_characters_cannot_make_a_second_identity(invisible: str) -> None:
    plain = accepted(full_name="សុខ ដារ៉ា")
    hidden = accepted(full_name=f"សុ{invisible}ខ ដា{invisible}រ៉ា")
    assert hidden.full_name == plain.full_name and hidden.name_key == plain.name_key
    latin = accepted(full_name=f"So{invisible}k Dara", national_id=f"123{invisible}456789")
    assert latin.full_name == "Sok Dara" and latin.name_key == "sokdara" and latin.national_id == "123456789"


def test_names_are_compared_in_composed_form() -> None:
    composed, decomposed = "Ph\u00e1t", "Pha\u0301t"
    assert accepted(full_name=decomposed).full_name == composed
    assert accepted(full_name=decomposed).name_key == accepted(full_name=composed).name_key
