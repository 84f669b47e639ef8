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
from typing import Protocol, Sequence

from sqlalchemy import text
from sqlalchemy.orm import Session

from registry.actors.models import RETURNING, Actor

# The most people one transaction may lock (an import's write transaction: Writes caps its
# rows at this). Each is one entry of PostgreSQL's shared lock table, which holds about
# max_locks_per_transaction x max_connections entries (64 x 100 by default) for every
# connection at once: two import workers at this bound use under a third of it.
MOST_LOCKED = 1000
_LOCK_NAMESPACE = 8552  # 8551 was the 64 phone buckets before per-phone locks


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
    province_code: str
    import_batch_id: int | None
    source_row: int | None
    category: str
    national_id: str | None
    phone: str
    date_of_birth: date
    name_key: str
    status: str = "active"  # or "deactivated": a person who left and may be reactivated


_EXISTING_COLUMNS = (Actor.registration_number, Actor.province_code, Actor.import_batch_id, Actor.source_row, Actor.category,
                     Actor.national_id, Actor.phone, Actor.date_of_birth, Actor.name_key, Actor.status)
# (index that serves the look-up, column looked up, extra condition): one query per index,
# so each partial index can be used (each spells out its index's condition). Active
# registrations first (the unique indexes cover only them), then people deactivated for a
# reason they may come back from (consent withdrawn, left…): such a person is the same
# person and is reactivated, never given a second number. Registrations deactivated as
# errors or duplicates, and merged ones, are not found: the person may register again.
_RETURNING = " AND ".join(f"actor.{term}" for term in RETURNING.split(" AND "))
_LOOKUPS = (
    ("uq_actor_identity_national_id", "national_id", "AND actor.national_id IS NOT NULL AND actor.status = 'active'"),
    ("uq_actor_identity_contact", "phone", "AND actor.national_id IS NULL AND actor.status = 'active'"),
    ("ix_actor_phone_with_national_id", "phone", "AND actor.national_id IS NOT NULL AND actor.status = 'active'"),
    ("ix_actor_returning_national_id", "national_id", f"AND {_RETURNING} AND actor.national_id IS NOT NULL"),
    ("ix_actor_returning_phone", "phone", f"AND {_RETURNING}"),
)


def find_existing(session: Session, people: Sequence[Person]) -> list[Existing | None]:
    """For each person, the stored actor they duplicate (one statement of indexed look-ups for the lot).

    The wanted values travel as one parameter (JSON on SQLite, an array on PostgreSQL) and
    each becomes one index probe whatever the planner knows: an IN list of thousands of
    bind parameters would cost more than the look-up, and a plain join lets PostgreSQL
    hash the whole category (which grows with the registry) while the table has no
    statistics, e.g. during a big import. Hence a LATERAL subquery with OFFSET 0 (a planner
    fence: one index probe per value) on PostgreSQL, and on SQLite (no statistics either)
    CROSS JOIN to keep the wanted values outside plus INDEXED BY.
    """
    if not people:
        return []
    sqlite = session.get_bind().dialect.name == "sqlite"
    names = ", ".join(f"actor.{c.key}" for c in _EXISTING_COLUMNS)
    wanted: dict[tuple[str, str], set[str]] = defaultdict(set)
    for person in people:
        if person.national_id:
            wanted[(person.category, "national_id")].add(person.national_id)
        wanted[(person.category, "phone")].add(person.phone)
    parts, params = [], {}
    for index_name, column, extra in _LOOKUPS:
        for (category, wanted_column), values in wanted.items():
            if wanted_column != column:
                continue
            n = len(parts)
            if sqlite:
                parts.append(f"SELECT {names} FROM json_each(:values_{n}) AS wanted"
                             f" CROSS JOIN actor INDEXED BY {index_name}"
                             f" ON actor.category = :category_{n} AND actor.{column} = wanted.value {extra}")
            else:
                parts.append(f"SELECT {names} FROM unnest(CAST(:values_{n} AS text[])) AS wanted(value)"
                             f" CROSS JOIN LATERAL (SELECT * FROM actor WHERE actor.category = :category_{n}"
                             f" AND actor.{column} = wanted.value {extra} OFFSET 0) AS actor")
            params[f"category_{n}"] = category
            params[f"values_{n}"] = json.dumps(sorted(values)) if sqlite else sorted(values)
    # Every look-up in one statement (UNION ALL keeps each part on its own index): one round
    # trip instead of three to five for a registration (bench/load.py, README).
    active, returning = IdentityIndex(), IdentityIndex()
    for row in session.execute(text(" UNION ALL ".join(parts)).columns(*_EXISTING_COLUMNS), params):
        found = Existing(*row)
        (active if found.status == "active" else returning).add(found, found)
    return [active.find(person) or returning.find(person) for person in people]  # type: ignore[misc]


def lock_identities(session: Session, people: Sequence[Person]) -> None:
    """On PostgreSQL, make writers of the same phone wait for each other until commit.

    The unique indexes settle most races; this settles the one they cannot see (a person
    with a national ID and the same person without, written at the same moment). One lock
    per phone (its 32-bit hash: two phones that share one only wait for each other), taken
    in order in one statement, so writers never deadlock, and a registration waits only for
    a transaction writing the same phone, not for any import that happens to be running.
    At most MOST_LOCKED people a call. SQLite needs none: its write transactions already
    run one at a time.
    """
    if len(people) > MOST_LOCKED:
        raise ValueError(f"{len(people)} people in one transaction: at most {MOST_LOCKED} may be locked")
    if session.get_bind().dialect.name != "postgresql":
        return
    keys = sorted({phone_lock_key(p.phone) for p in people})
    if keys:
        session.execute(
            text("SELECT pg_advisory_xact_lock(:ns, k) FROM unnest(CAST(:keys AS integer[])) AS k"),
            {"ns": _LOCK_NAMESPACE, "keys": keys},
        )


def phone_lock_key(phone: str) -> int:
    """The phone's 32-bit hash as PostgreSQL's int4 (the second key of an advisory lock)."""
    key = zlib.crc32(phone.encode())
    return key - (1 << 32) if key >= 1 << 31 else key
