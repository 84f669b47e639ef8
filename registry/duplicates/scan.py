"""The whole registry searched for duplicates (`flask find-duplicates`): one category at a
time, its active registrations streamed once into compact columns (memory grows with the
largest category, ~100 bytes a registration, plus the distinct names), then blocks built one
key at a time (one dictionary in memory at once), candidate pairs verified, new pairs stored.
National IDs across categories are paired by the database (a join over its index).

`since`: only pairs with at least one registration stored from that actor id on (the others
were looked at before); every registration is still read, as the blocks need them.
"""
from __future__ import annotations

import time
from array import array
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Iterator

from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session, aliased

from registry import vocab
from registry.actors.models import Actor
from registry.actors.romanise import roman_key
from registry.database import reading
from registry.duplicates.blocking import PHONE_PREFIX, Found, Person, phone_passes, verify
from registry.duplicates.services import ACTIVE, PERSON_COLUMNS, close_settled, find_for, person, store

# A block holding more registrations than this (a shared office phone, a placeholder date of
# birth) is compared within its romanised names only, and cut at this size after that: all its
# pairs would be quadratic, and a queue of thousands of one block's pairs helps nobody.
MAX_BLOCK = 200
READ_BATCH = 20_000


@dataclass
class ScanReport:
    read: int = 0
    candidates: int = 0
    found: int = 0
    new: int = 0
    closed: int = 0
    cut_blocks: int = 0
    seconds: float = 0.0


class _Category:
    """One category's active registrations as columns (row i of each)."""

    def __init__(self) -> None:
        self.ids = array("q")
        self.births = array("l")
        self.phones: list[str] = []
        self.names = array("l")  # index into `people`: distinct (full name, name key, province)
        self.keys = array("l")  # index into `roman`: the romanised key
        self.name_keys = array("l")  # index into the distinct name keys
        self.national_ids: list[str | None] = []
        self.people: list[tuple[str, str]] = []
        self.provinces: list[str] = []
        self.roman: list[str] = []


def _read(reader: Connection, category: str, report: ScanReport) -> _Category:
    table = _Category()
    distinct: dict[tuple[str, str], int] = {}
    roman: dict[str, int] = {}
    name_keys: dict[str, int] = {}
    rows = reader.execute(  # Core rows: no ORM bookkeeping per row
        select(Actor.id, Actor.date_of_birth, Actor.phone, Actor.national_id, Actor.name_key, Actor.full_name,
               Actor.province_code).where(ACTIVE, Actor.category == category).execution_options(yield_per=READ_BATCH))
    provinces: dict[str, str] = {}
    for actor_id, born, phone, national_id, name_key, full_name, province in rows:
        table.ids.append(actor_id)
        table.births.append(born.toordinal())
        table.phones.append(phone.removeprefix(PHONE_PREFIX))
        table.national_ids.append(national_id)
        table.provinces.append(provinces.setdefault(province, province))
        name = distinct.get((full_name, name_key))
        if name is None:
            name = distinct[(full_name, name_key)] = len(table.people)
            table.people.append((full_name, name_key))
            key = roman_key(full_name)
            table.roman.append(key)
            roman.setdefault(key, len(roman))
            name_keys.setdefault(name_key, len(name_keys))
        full_name, name_key = table.people[name]
        table.names.append(name)
        table.keys.append(roman[table.roman[name]])
        table.name_keys.append(name_keys[name_key])
    report.read += len(table.ids)
    return table


def _groups(keys: list[object]) -> Iterator[list[int]]:
    """Row indexes sharing a key (keys held by two rows or more; `keys[i]` is row i's).
    Counted in C first: most keys are held by one row only."""
    counts = Counter(keys)
    shared = {key for key, count in counts.items() if count > 1}
    del counts
    groups: dict[object, list[int]] = {}
    for i, key in enumerate(keys):
        if key in shared:
            groups.setdefault(key, []).append(i)
    return iter(groups.values())


def _pairs(table: _Category, group: list[int], report: ScanReport, into: set[int], is_new: Callable[[int], bool]) -> None:
    if len(group) > MAX_BLOCK:
        by_name: dict[int, list[int]] = {}
        for row in group:
            by_name.setdefault(table.keys[row], []).append(row)
        for part in by_name.values():
            if len(part) > MAX_BLOCK:
                report.cut_blocks += 1
                part = part[:MAX_BLOCK]
            _pairs(table, part, report, into, is_new) if len(part) > 1 else None
        return
    size = len(table.ids)
    for a in range(len(group)):
        x = group[a]
        for b in range(a + 1, len(group)):
            y = group[b]
            if x != y and (is_new(x) or is_new(y)):
                into.add(x * size + y if x < y else y * size + x)


def _same_name_pairs(table: _Category, group: list[int], report: ScanReport, into: set[int], is_new: Callable[[int], bool]) -> None:
    """Pairs of a phone block whose names are the same (name key, or romanised key): the only
    ones `verify` can call `phone_near`. A family's or a shop's shared phone is not a pair."""
    for names in (table.name_keys, table.keys):
        parts: dict[int, list[int]] = {}
        for row in group:
            parts.setdefault(names[row], []).append(row)
        for part in parts.values():
            if len(part) > 1:
                _pairs(table, part, report, into, is_new)


def _category_pairs(table: _Category, is_new: Callable[[int], bool], report: ScanReport) -> set[int]:
    pairs: set[int] = set()
    births, phones = table.births, table.phones
    for names in (table.name_keys, table.keys):  # same day of birth + name key, + romanised key
        for group in _groups(list(zip(births, names))):
            _pairs(table, group, report, pairs, is_new)
    for kind, i in phone_passes(max(map(len, phones), default=0)):  # phones one edit apart meet in one of these
        if kind == "blank":  # digit i left out: same-length phones differing there only
            keys: list[str] = [p[:i] + p[i + 1:] for p in phones]
        elif kind == "swap":
            keys = [p[:i] + (p[i + 1] + p[i] if p[i] > p[i + 1] else p[i:i + 2]) + p[i + 2:] if len(p) > i + 1 else p
                    for p in phones]
        else:
            _one_digit_shorter(table, report, pairs, is_new)
            continue
        for group in _groups(keys):  # type: ignore[arg-type]
            _same_name_pairs(table, group, report, pairs, is_new)
    return pairs


def _one_digit_shorter(table: _Category, report: ScanReport, pairs: set[int], is_new: Callable[[int], bool]) -> None:
    """A phone meets the phones one digit shorter that equal it with one digit left out
    (a dictionary of the shorter phones, probed: no list of every deletion in memory)."""
    phones = table.phones
    by_phone: dict[str, list[int]] = {}
    for row, phone in enumerate(phones):
        by_phone.setdefault(phone, []).append(row)
    lengths = {len(phone) for phone in by_phone}
    for row, phone in enumerate(phones):
        if len(phone) - 1 not in lengths:  # no stored phone is one digit shorter
            continue
        hits = {hit for k in range(len(phone)) for hit in by_phone.get(phone[:k] + phone[k + 1:], ())}
        if hits:
            _same_name_pairs(table, [row, *sorted(hits)], report, pairs, is_new)


def _person(table: _Category, category: str, row: int) -> Person:
    full_name, name_key = table.people[table.names[row]]
    return Person(table.ids[row], category, table.births[row], table.phones[row],  # type: ignore[arg-type]
                  table.national_ids[row], name_key, full_name, table.provinces[row])


def _verified(table: _Category, category: str, pairs: set[int]) -> list[Found]:
    size = len(table.ids)
    found = []
    for pair in pairs:
        x, y = divmod(pair, size)
        a, b = _person(table, category, x), _person(table, category, y)
        # Phones compared without +855, dates as day numbers: verify reads only equality of those.
        result = verify(a, b, table.roman[table.names[x]], table.roman[table.names[y]])
        if result is not None:
            found.append(result)
    return found


def _national_ids(reader: Connection, since_id: int) -> list[Found]:
    """Active registrations of two categories sharing a national ID (a join over its index)."""
    other = aliased(Actor)
    rows = reader.execute(
        select(Actor.id, other.id).join(other, (other.national_id == Actor.national_id) & (other.id > Actor.id)
                                        & (other.category != Actor.category))
        .where(ACTIVE, Actor.national_id.is_not(None), other.status == "active",
               (Actor.id >= since_id) | (other.id >= since_id))).all()
    ids = sorted({i for row in rows for i in row})
    people: dict[int, Person] = {}
    for start in range(0, len(ids), 1000):
        for row in reader.execute(select(*PERSON_COLUMNS).where(Actor.id.in_(ids[start:start + 1000]))):
            people[row.id] = person(row)
    return [f for a, b in rows if (f := verify(people[a], people[b])) is not None]


def scan(session: Session, *, now: datetime, since_id: int = 0, source: str = "scan",
         between: Callable[[], None] | None = None) -> ScanReport:
    """Search every active registration (pairs with one from `since_id` on), queue what is
    found (pairs already proposed are left as they are) and close settled pairs.
    `between`: see services.store."""
    started = time.perf_counter()
    report = ScanReport()
    found: list[Found] = []
    # Read on a connection of its own that only reads: on SQLite a snapshot holding no write
    # lock (registrations and imports go on while it reads); the pairs are stored after, in
    # the session's own short transaction.
    with reading(session.get_bind()) as reader:
        for category in vocab.CATEGORIES.stored_codes:
            table = _read(reader, category, report)
            ids = table.ids
            pairs = _category_pairs(table, (lambda row: ids[row] >= since_id) if since_id else (lambda row: True), report)
            report.candidates += len(pairs)
            found.extend(_verified(table, category, pairs))
            del table, pairs
        found.extend(_national_ids(reader, since_id))
    report.found = len(found)
    report.new = store(session, found, source=source, now=now, between=between)
    report.closed = close_settled(session, now)
    report.seconds = time.perf_counter() - started
    return report


# Looking up one registration's candidates (index look-ups) measured ~3 ms, the scan ~0.2 ms
# a registration of the whole registry (bench/duplicates_bench.py, the README): an import
# smaller than 1/15 of the registry is looked up row by row, a bigger one scanned for.
LOOKUP_VS_SCAN = 15


def find_after_import(session: Session, batch_id: int, *, now: datetime,
                      between: Callable[[], None] | None = None) -> int:
    """Queue the possible duplicates of an import's registrations, against the registry and
    within the file (its rows are stored by then); returns how many pairs were new."""
    with reading(session.get_bind()) as reader:
        ids = list(reader.scalars(select(Actor.id).where(Actor.import_batch_id == batch_id, ACTIVE).order_by(Actor.id)))
        registry = reader.scalar(select(func.count()).select_from(Actor).where(ACTIVE)) or 0 if ids else 0
    if not ids:
        return 0
    if len(ids) * LOOKUP_VS_SCAN <= registry:
        return find_for(session, ids, source="import", now=now, between=between)
    return scan(session, now=now, since_id=ids[0], source="import", between=between).new
