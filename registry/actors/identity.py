"""When two registrations are the same person: the rule, written once.

Same category and either the same national ID, or the same phone, date of birth and
normalised name where at least one of the two has no national ID. The web form, the
importer (within a file and against the registry) and the database indexes follow it.
"""
from __future__ import annotations

import json
import zlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Iterable, Protocol, Sequence

from sqlalchemy import text
from sqlalchemy.orm import Session

from registry.actors.models import Actor

LOCK_BUCKETS = 64
_LOCK_NAMESPACE = 8551


class Person(Protocol):
    category: str
    national_id: str | None
    phone: str
    date_of_birth: date
    name_key: str


def nid_key(p: Person) -> tuple[str, str] | None:
    return (p.category, p.national_id) if p.national_id else None


def contact_key(p: Person) -> tuple[str, str, date, str]:
    return (p.category, p.phone, p.date_of_birth, p.name_key)


def same_person(a: Person, b: Person) -> bool:
    if a.category != b.category:
        return False
    if a.national_id and b.national_id:
        return a.national_id == b.national_id
    return contact_key(a) == contact_key(b)


class IdentityIndex:
    """People seen so far (in a file, or fetched from the registry), found by either key."""

    def __init__(self) -> None:
        self._by_nid: dict[tuple[str, str], list[tuple[Person, object]]] = defaultdict(list)
        self._by_contact: dict[tuple[str, str, date, str], list[tuple[Person, object]]] = defaultdict(list)

    def add(self, person: Person, tag: object) -> None:
        key = nid_key(person)
        if key:
            self._by_nid[key].append((person, tag))
        self._by_contact[contact_key(person)].append((person, tag))

    def find(self, person: Person) -> object | None:
        """The tag of a person already in the index who is `person`, or None."""
        key = nid_key(person)
        for table, lookup in ((self._by_nid, key), (self._by_contact, contact_key(person))):
            if lookup is None or lookup not in table:
                continue
            for other, tag in table[lookup]:
                if same_person(person, other):
                    return tag
        return None


@dataclass(frozen=True)
class Existing:
    """A stored actor that a new registration would duplicate."""

    registration_number: str
    import_batch_id: int | None
    source_row: int | None
    category: str
    national_id: str | None
    phone: str
    date_of_birth: date
    name_key: str


_EXISTING_COLUMNS = (Actor.registration_number, Actor.import_batch_id, Actor.source_row, Actor.category,
                     Actor.national_id, Actor.phone, Actor.date_of_birth, Actor.name_key)
# (index that serves the look-up, SQL condition): one query per index, so each partial
# index can be used. SQLite's planner, without statistics, may pick a worse index: say which.
_LOOKUPS = (
    ("uq_actor_identity_national_id", "national_id IN {values}"),
    ("uq_actor_identity_contact", "phone IN {values} AND national_id IS NULL"),
    ("ix_actor_phone_with_national_id", "phone IN {values} AND national_id IS NOT NULL"),
)


def find_existing(session: Session, people: Sequence[Person]) -> list[Existing | None]:
    """For each person, the stored actor they duplicate (a few indexed queries for the lot).

    The list of values travels as one parameter (JSON on SQLite, an array on PostgreSQL):
    thousands of separate bind parameters would cost more than the look-up.
    """
    if not people:
        return []
    sqlite = session.get_bind().dialect.name == "sqlite"
    values_sql = "(SELECT value FROM json_each(:values))" if sqlite else "(SELECT unnest(CAST(:values AS text[])))"
    names = ", ".join(c.key for c in _EXISTING_COLUMNS)
    wanted: dict[tuple[str, str], set[str]] = defaultdict(set)
    for person in people:
        if person.national_id:
            wanted[(person.category, "nid")].add(person.national_id)
        wanted[(person.category, "phone")].add(person.phone)
    index = IdentityIndex()
    for index_name, condition in _LOOKUPS:
        kind = "nid" if index_name == "uq_actor_identity_national_id" else "phone"
        for (category, wanted_kind), values in wanted.items():
            if wanted_kind != kind:
                continue
            query = text(
                f"SELECT {names} FROM actor{f' INDEXED BY {index_name}' if sqlite else ''}"
                f" WHERE category = :category AND {condition.format(values=values_sql)}"
            ).columns(*_EXISTING_COLUMNS)
            param = json.dumps(sorted(values)) if sqlite else sorted(values)
            for row in session.execute(query, {"category": category, "values": param}):
                found = Existing(*row)
                index.add(found, found)
    return [index.find(person) for person in people]  # type: ignore[misc]


def lock_identities(session: Session, people: Iterable[Person]) -> None:
    """On PostgreSQL, make writers of the same phone wait for each other until commit.

    The unique indexes settle most races; this settles the one they cannot see (a person
    with a national ID and the same person without, written at the same moment). Locks
    are per phone bucket, taken in order, so writers never deadlock. SQLite needs none:
    its write transactions already run one at a time.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    buckets = sorted({zlib.crc32(p.phone.encode()) % LOCK_BUCKETS for p in people})
    if buckets:
        session.execute(
            text("SELECT pg_advisory_xact_lock(:ns, b) FROM unnest(CAST(:buckets AS integer[])) AS b"),
            {"ns": _LOCK_NAMESPACE, "buckets": buckets},
        )
