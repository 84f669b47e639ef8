"""One field list: every place that lists a registration's fields derives from registry.actors.fields."""
from __future__ import annotations

import subprocess
import sys
from datetime import date

from registry.actors import fields
from registry.actors.models import Actor
from registry.actors.services import BULK_COLUMNS
from registry.actors.validation import Registration, validate_registration
from registry.actors.romanise import roman_key
from registry.i18n import LOCALES, translate
from registry.imports.reading import REQUIRED_COLUMNS, TEMPLATE_COLUMNS
from registry.imports.template import instructions
from tests.helpers import valid_form

# Actor columns that say how and when a row arrived, not what the person told us.
BOOKKEEPING = {"id", "registration_number", "channel", "created_at", "consented_at", "import_batch_id", "source_row", "source_ref",
               "assisted_by_id"}
# Set only by an assisted registration, one at a time (register_actor), never by a bulk insert.
ONE_AT_A_TIME = {"assisted_by_id"}
# The record's lifecycle (registry.actors.lifecycle): never written by a registration (a new
# one is active by the column's default).
LIFECYCLE = {"status", "status_reason", "status_note", "status_effective", "merged_into_id", "erased_at"}


def test_every_field_has_a_label_and_instructions_in_every_language() -> None:
    for field in fields.FIELDS:
        assert field.need in (fields.REQUIRED, fields.MICRO_ENTERPRISE, fields.OPTIONAL)
        for text in (field.label, field.how):
            assert text.strip()
            assert len({translate(text, locale) for locale in LOCALES}) == len(LOCALES), f"{field.name}: {text!r} untranslated"


def test_the_template_and_the_reader_cover_every_field() -> None:
    assert TEMPLATE_COLUMNS == fields.NAMES
    assert set(REQUIRED_COLUMNS) == {f.name for f in fields.FIELDS if f.need == fields.REQUIRED}
    sheet = instructions()
    column = sheet[0].index("column")
    assert [row[column] for row in sheet[1:]] == list(fields.NAMES)
    assert all(all(cell != "" for cell in row[: column + 1 + 2 * len(LOCALES)]) for row in sheet[1:])


def test_the_form_has_every_field_but_the_registration_date(app) -> None:  # type: ignore[no-untyped-def]
    from registry.registration.forms import RegistrationForm

    with app.test_request_context():
        form = RegistrationForm(meta={"csrf": False})
        assert set(form.raw()) == set(fields.NAMES) - {"registered_on"}


def test_the_stored_registration_fills_every_column_of_the_actor_but_bookkeeping() -> None:
    columns = {c.key for c in Actor.__table__.columns}
    assert set(Registration._fields) == columns - BOOKKEEPING - LIFECYCLE
    assert BULK_COLUMNS == ("id", "registration_number", *Registration._fields,
                             "channel", "created_at", "consented_at", "import_batch_id", "source_row", "source_ref")
    assert set(BULK_COLUMNS) == columns - LIFECYCLE - ONE_AT_A_TIME


def test_validation_builds_the_registration_by_name() -> None:
    raw = {**valid_form(category="micro_enterprise", business_name="Noodle shop", workers="3",
                        national_id="123 456 789"), "registered_on": "2024-12-16"}
    registration, errors = validate_registration(raw, today=date(2025, 1, 1))
    assert errors == [] and registration is not None
    assert registration._asdict() == {
        "category": "micro_enterprise", "full_name": "Sok Dara", "name_key": "sokdara", "roman_key": roman_key("Sok Dara"),
        "gender": "female",
        "date_of_birth": date(1990, 1, 25), "national_id": "123456789", "phone": "+85512345678",
        "province_code": "12", "district_code": "1201", "commune_code": "120101", "sector": "trade",
        "business_name": "Noodle shop", "workers": 3, "registered_on": date(2024, 12, 16),
    }


def test_a_declared_field_without_a_parser_stops_the_start() -> None:
    code = ("import registry.actors.fields as f\n"
            "f.FIELDS += (f.Field('shoe_size', 'Shoe size', 'A number.', f.OPTIONAL),)\n"
            "f.NAMES += ('shoe_size',)\n"
            "import registry.actors.validation\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "shoe_size" in result.stderr and "no parser" in result.stderr
