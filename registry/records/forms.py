"""The staff search form: one box and the filters, read into a search.Query with an error
naming each field that cannot be read."""
from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField

from registry import areas, vocab
from registry.actors.models import STATUSES
from registry.actors.validation import Problem, parse_date
from registry.i18n import ascii_digits
from registry.records.search import SORTS, Query



class SearchForm(FlaskForm):
    """Posted (never in the address): what staff type here is personal data."""

    q = StringField(_l("Name, registration number, national ID or phone"))
    province = StringField(_l("Province"))
    district = StringField(_l("District (code)"))
    commune = StringField(_l("Commune (code)"))
    category = StringField(_l("Category"))
    status = StringField(_l("Status"))
    channel = StringField(_l("How it arrived"))
    registered_from = StringField(_l("Registered from"))
    registered_to = StringField(_l("Registered until"))
    batch = StringField(_l("Import batch"))
    sort = StringField(_l("Order"))

    def fill(self, query: Query) -> None:
        """Show a stored search in the form again (on the page, never in the address)."""
        self.q.data = query.text
        self.province.data, self.district.data, self.commune.data = query.province_code, query.district_code, query.commune_code
        self.category.data, self.status.data, self.channel.data = query.category, query.status, query.channel
        self.registered_from.data = query.registered_from.strftime("%d/%m/%Y") if query.registered_from else ""
        self.registered_to.data = query.registered_to.strftime("%d/%m/%Y") if query.registered_to else ""
        self.batch.data = str(query.import_batch_id) if query.import_batch_id else ""
        self.sort.data = query.sort


def _text(form: SearchForm, name: str) -> str | None:
    return (form[name].data or "").strip() or None


def _area(code: str | None, length: int, parent: str | None) -> str | None:
    if code is None:
        return None
    code = ascii_digits(code)
    record = areas.area_by_code(code)
    if record is None or len(code) != length:
        raise ValueError(_("There is no such official code."))
    if parent and not code.startswith(parent):
        raise ValueError(_("This area is not inside the one chosen above."))
    return code


def _date(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return parse_date(text)
    except Problem as problem:
        raise ValueError(_(problem.message, **problem.params)) from None


def read_query(form: SearchForm) -> tuple[Query | None, dict[str, list[str]]]:
    """The form as a Query, or the errors of each field (none when the Query is made)."""
    errors: dict[str, list[str]] = {}
    values: dict[str, object] = {}

    def take(name: str, read) -> object:  # type: ignore[no-untyped-def]
        try:
            return read()
        except ValueError as error:
            errors[name] = [str(error)]
            return None

    values["province_code"] = take("province", lambda: _area(_text(form, "province"), 2, None))
    values["district_code"] = take("district", lambda: _area(_text(form, "district"), 4, values["province_code"]))
    values["commune_code"] = take("commune", lambda: _area(_text(form, "commune"), 6, values["district_code"]))
    for name, allowed in (("category", vocab.CATEGORIES.stored_codes), ("status", STATUSES),
                          ("channel", vocab.CHANNELS.stored_codes)):
        chosen = _text(form, name)
        if chosen is not None and chosen not in allowed:
            errors[name] = [_("Choose from the list.")]
        values[name] = chosen if name not in errors else None
    values["registered_from"] = take("registered_from", lambda: _date(_text(form, "registered_from")))
    values["registered_to"] = take("registered_to", lambda: _date(_text(form, "registered_to")))
    if values["registered_from"] and values["registered_to"] and values["registered_from"] > values["registered_to"]:  # type: ignore[operator]
        errors["registered_to"] = [_("Must be on or after the first date.")]
    batch = ascii_digits(_text(form, "batch") or "")
    if batch and not (batch.isascii() and batch.isdigit() and len(batch) < 10):
        errors["batch"] = [_("Write the number of the import batch, e.g. 12.")]
    values["import_batch_id"] = int(batch) if batch and "batch" not in errors else None
    sort = _text(form, "sort") or "newest"
    if sort not in SORTS:
        errors["sort"] = [_("Choose an order from the list.")]
    if errors:
        return None, errors
    return Query(text=(form.q.data or "").strip()[:100], sort=sort, **values), {}  # type: ignore[arg-type]
