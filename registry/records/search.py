"""Staff search over registrations: one box read as a number, a national ID, a phone or a
name, plus filters; the province limit inside the query; keyset pages; a capped count.

Plain functions of plain data (no request): the /staff/actors page and `actors find` call
`read_terms` and `search`. Each term is read by the rule that stored it — the number's check
digit (registry.actors.numbers), the form's phone parser, the identity rule's name key — so
whatever a person could type on the form finds what the form stored.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from typing import Any, Mapping

from sqlalchemy import Select, and_, func, or_, select, tuple_
from sqlalchemy.orm import Session

from registry.actors import name_index
from registry.actors.models import Actor
from registry.actors.normalise import identity_name
from registry.actors.numbers import normalise_number
from registry.actors.validation import Problem, clean_text, parse_phone
from registry.i18n import N_, ascii_digits

PAGE = 50
COUNT_CAP = 1000  # counted exactly up to here, then "more than 1,000": a count never scans a million rows
SORTS: dict[str, str] = {
    "newest": N_("Newest registration first"),
    "oldest": N_("Oldest registration first"),
    "name": N_("Name"),
    "number": N_("Registration number"),
}
_DASHED_NUMBER = re.compile(r"\d{4}-\d{4}-\d{2}")
_NOT_DIGITS = re.compile(r"[\s\-.()/]+")


class SearchError(ValueError):
    """What was typed cannot be searched; `field` names the form field, `message` an msgid."""

    def __init__(self, field: str, message: str, **params: Any) -> None:
        super().__init__(message)
        self.field, self.message, self.params = field, message, params


@dataclass(frozen=True)
class Terms:
    """What the search box was read as; a registration matches any of those set (nine digits
    are a national ID or a phone typed without its 0)."""

    number: str | None = None
    national_id: str | None = None
    phone: str | None = None
    name_key: str | None = None

    @property
    def kind(self) -> str | None:
        return next((name for name, value in asdict(self).items() if value), None)


@dataclass(frozen=True)
class Query:
    """One search: the box, the filters, the order. Stored as it is in the search's event."""

    text: str = ""
    province_code: str | None = None
    district_code: str | None = None
    commune_code: str | None = None
    category: str | None = None
    status: str | None = None
    channel: str | None = None
    registered_from: date | None = None
    registered_to: date | None = None
    import_batch_id: int | None = None
    sort: str = "newest"

    FILTERS = ("province_code", "district_code", "commune_code", "category", "status", "channel",
               "registered_from", "registered_to", "import_batch_id")

    def as_detail(self) -> dict[str, Any]:
        """JSON for the event log: the terms as typed and the filters set."""
        values = {name: getattr(self, name) for name in self.FILTERS if getattr(self, name) is not None}
        return {"terms": self.text, "filters": {k: v.isoformat() if isinstance(v, date) else v for k, v in values.items()},
                "sort": self.sort}

    @classmethod
    def from_detail(cls, detail: Mapping[str, Any]) -> Query:
        filters = dict(detail.get("filters") or {})
        for name in ("registered_from", "registered_to"):
            if filters.get(name):
                filters[name] = date.fromisoformat(filters[name])
        return cls(text=detail.get("terms") or "", sort=detail.get("sort") or "newest", **filters)


@dataclass
class Page:
    rows: list[Actor]
    count: int  # capped at COUNT_CAP + 1
    next_after: str | None  # the last row's registration number when more follow
    terms: Terms = field(default_factory=Terms)

    @property
    def more_than_cap(self) -> bool:
        return self.count > COUNT_CAP


def read_terms(text: str) -> Terms:
    """The search box read as one kind of term (SearchError when it cannot be searched)."""
    typed = clean_text(text)
    if not typed:
        return Terms()
    digits = ascii_digits(_NOT_DIGITS.sub("", typed))
    if digits.isascii() and (digits.isdigit() or (digits.startswith("+") and digits[1:].isdigit())):
        number = normalise_number(typed)
        if number is not None:  # a ten-digit phone can pass the check digit too: both are looked for
            return Terms(number=number, phone=None if "-" in typed else _phone(typed))
        if _DASHED_NUMBER.fullmatch(ascii_digits(typed)):
            raise SearchError("q", N_("%(value)s is not a registration number: check the last digit."), value=typed[:20])
        phone = _phone(typed)
        if len(digits) == 9 and digits.isdigit():
            return Terms(national_id=digits, phone=phone)  # 9 digits: a national ID, or a phone without its 0
        if phone is not None:
            return Terms(phone=phone)
        if len(digits) == 10 and digits.isdigit():
            raise SearchError("q", N_("%(value)s is not a registration number: check the last digit."), value=typed[:20])
        raise SearchError("q", N_("%(value)s is neither a registration number, a national ID (9 digits) nor a Cambodian"
                                  " phone number."), value=typed[:20])
    key = identity_name(typed)
    if not key:
        raise SearchError("q", N_("Type a name, a number or a phone, or choose a filter."))
    return Terms(name_key=key)


def _phone(typed: str) -> str | None:
    try:
        return parse_phone(typed)
    except Problem:
        return None


def _matching(session: Session, query: Query, terms: Terms, viewer_province: str | None) -> Select[Any]:
    """The WHERE of a search; the viewer's province limit is part of the query itself."""
    where: list[Any] = []
    if viewer_province:
        where.append(Actor.province_code == viewer_province)
    either = [column == value for column, value in ((Actor.registration_number, terms.number),
                                                    (Actor.national_id, terms.national_id), (Actor.phone, terms.phone)) if value]
    if either:
        where.append(or_(*either))
    if terms.name_key:
        where.append(name_index.contains(session, terms.name_key))
    for name in ("province_code", "district_code", "commune_code", "category", "status", "channel", "import_batch_id"):
        value = getattr(query, name)
        if value is not None:
            where.append(getattr(Actor, name) == value)
    if query.registered_from:
        where.append(Actor.registered_on >= query.registered_from)
    if query.registered_to:
        where.append(Actor.registered_on <= query.registered_to)
    return select(Actor).where(and_(*where))


def _order(sort: str) -> tuple[list[Any], bool]:
    """The columns a sort orders by (the last always the id) and whether it descends."""
    return {
        "newest": ([Actor.registered_on, Actor.id], True),
        "oldest": ([Actor.registered_on, Actor.id], False),
        "name": ([Actor.name_key, Actor.id], False),
        "number": ([Actor.registration_number], False),
    }[sort]


def search(session: Session, query: Query, *, viewer_province: str | None, after: str | None = None,
           limit: int = PAGE) -> Page:
    """One page of matches, `after` the registration number of the last row of the previous
    page (its sort values looked up here, so the cursor holds nothing personal)."""
    if query.sort not in SORTS:
        raise SearchError("sort", N_("Choose an order from the list."))
    terms = read_terms(query.text)
    if terms.kind is None and all(getattr(query, name) is None for name in Query.FILTERS):
        raise SearchError("q", N_("Type a name, a number or a phone, or choose a filter."))
    matching = _matching(session, query, terms, viewer_province)
    # The ids of up to COUNT_CAP + 1 matches, in whatever order is quickest: their number is
    # the count; when that is all of them, the page is read by id (a name found rarely costs
    # one scan, not two); when there are more, the page walks the order's index instead.
    ids = list(session.scalars(matching.with_only_columns(Actor.id).limit(COUNT_CAP + 1)))
    count = len(ids)
    columns, descending = _order(query.sort)
    page_query = matching if count > COUNT_CAP else select(Actor).where(Actor.id.in_(ids))
    if after is not None:
        number = normalise_number(after)
        last = session.scalar(select(Actor).where(Actor.registration_number == number)) if number else None
        if last is None:
            raise SearchError("after", N_("That page of results no longer exists: search again."))
        key = tuple_(*columns)
        values = tuple_(*[getattr(last, c.key) for c in columns])
        page_query = page_query.where(key < values if descending else key > values)
    ordered = [c.desc() if descending else c.asc() for c in columns]
    rows = list(session.scalars(page_query.order_by(*ordered).limit(limit + 1)))
    next_after = rows[limit - 1].registration_number if len(rows) > limit else None
    return Page(rows=rows[:limit], count=count, next_after=next_after, terms=terms)


def with_sort(query: Query, sort: str) -> Query:
    return replace(query, sort=sort)
