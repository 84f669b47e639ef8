"""The queue's operations (flush only; the caller commits): find the candidates of a few
registrations by index look-ups (at registration and after an import), store pairs (each
pair once: a pair already there, whatever its status, is left as it is), close pairs there is
nothing left to decide about, and record staff decisions (merge, dismiss, defer).

Only ACTIVE registrations are compared: a deactivated person (left, deceased, withdrawn) or a
registration already merged is not a second registration of anyone today; a returning person
is found by the identity rule and reactivated, not queued.
"""
from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, datetime
from functools import lru_cache
from typing import Callable, Iterable, Sequence

from sqlalchemy import Connection, DateTime, TextClause, bindparam, exists, or_, select, text, update
from sqlalchemy.orm import Session, aliased

from registry.actors import lifecycle
from registry.actors.models import Actor
from registry.actors.romanise import roman_key
from registry.database import reading
from registry.duplicates.blocking import Found, Person, phone_neighbours, verify
from registry.duplicates.models import OPEN, DuplicatePair
from registry.events.services import record

ACTIVE = text("actor.status = 'active'")
PERSON_COLUMNS = (Actor.id, Actor.category, Actor.date_of_birth, Actor.phone, Actor.national_id, Actor.name_key,
                  Actor.full_name, Actor.province_code)
STORE_SLICE = 5000  # pairs a statement stores
SLICE = 50  # registrations looked up together (a phone has ~200 neighbours: ~10,000 values a query)


def person(row: Sequence[object]) -> Person:
    return Person._make(row)


_COLUMNS = ("first_actor_id", "second_actor_id", "score", "reasons", "province_code")
# One statement per slice whatever its size (the pairs travel as one JSON parameter): a
# multi-row VALUES is compiled anew for every size (~0.3 s for 1,000 rows), and a list of
# parameter sets with RETURNING is spliced row by row by SQLAlchemy (quadratic: 18 s for
# 17,000 pairs). "WHERE true" keeps SQLite's parser from reading ON CONFLICT as a join's.
_STORE = {
    "sqlite": (
        "INSERT INTO duplicate_pair (first_actor_id, second_actor_id, score, reasons, province_code, status, source,"
        " found_at) SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, 'pending', :source, :now"
        " FROM json_each(:pairs) WHERE true ON CONFLICT (first_actor_id, second_actor_id) DO NOTHING RETURNING id"),
    "postgresql": (
        "INSERT INTO duplicate_pair (first_actor_id, second_actor_id, score, reasons, province_code, status, source,"
        " found_at) SELECT (p ->> 0)::bigint, (p ->> 1)::bigint, (p ->> 2)::smallint, p ->> 3, p ->> 4, 'pending',"
        " :source, :now FROM jsonb_array_elements(CAST(:pairs AS jsonb)) AS p"
        " ON CONFLICT (first_actor_id, second_actor_id) DO NOTHING RETURNING id"),
}


def store(session: Session, found: Iterable[Found], *, source: str, now: datetime,
          between: Callable[[], None] | None = None) -> int:
    """Add the pairs not yet proposed (ON CONFLICT DO NOTHING on the pair); return how many
    were new. A dismissed or decided pair is never proposed again.

    `between()` runs after each statement (STORE_SLICE pairs): a job's commit, so that storing
    an import's pairs never holds one transaction for seconds (on SQLite the write lock every
    registration waits for: 1.2–2.5 s in the mixed-load test). Each pair is whole on its own."""
    rows = [[f.first_id, f.second_id, f.score, ",".join(f.reasons), f.province_code] for f in found]
    if not rows:
        return 0
    statement = text(_STORE[session.get_bind().dialect.name]).bindparams(bindparam("now", type_=DateTime(timezone=True)))
    new = 0
    for start in range(0, len(rows), STORE_SLICE):
        chunk = json.dumps(rows[start:start + STORE_SLICE])
        new += len(session.execute(statement, {"pairs": chunk, "source": source, "now": now}).all())
        if between is not None:
            between()
    session.flush()
    return new


def candidates_of(session: Session | Connection, people: Sequence[Person]) -> list[Found]:
    """The verified pairs of `people` with every other active registration (index look-ups:
    category + birth + name or romanised key, phones one edit away, the national ID).

    A slice's look-up fetches the candidates of all its people at once: the same category,
    birth and name key or romanised key (the only births `verify` can pair), a phone one
    edit away, the same national ID. Each person is then verified only against the rows of
    its own blocks, and each name is romanised once. Reading everyone born on the day and
    verifying every person of the slice against every row grew with the registry
    (bench/scale_bench.py)."""
    found: dict[tuple[int, int], Found] = {}
    roman: dict[str, str] = {}

    def key_of(name: str) -> str:
        key = roman.get(name)
        if key is None:
            key = roman[name] = roman_key(name)
        return key

    dialect = (session.dialect if isinstance(session, Connection) else session.get_bind().dialect).name
    for start in range(0, len(people), SLICE):
        part = people[start:start + SLICE]
        neighbours = {p.id: phone_neighbours(p.phone) | {p.phone} for p in part}
        same_name = sorted({(p.category, p.date_of_birth, p.name_key) for p in part})
        same_roman = sorted({(p.category, p.date_of_birth, key_of(p.full_name)) for p in part if key_of(p.full_name)})
        phones = set().union(*neighbours.values())
        ids = {p.national_id for p in part if p.national_id}
        params = {**_triples(dialect, "names", same_name), **_triples(dialect, "romans", same_roman),
                  "phones": _values(dialect, phones), "ids": _values(dialect, ids)}
        rows = session.execute(_candidates_statement(dialect), params)
        by_birth: dict[tuple[str, object], list[Person]] = defaultdict(list)
        by_phone: dict[str, list[Person]] = defaultdict(list)
        by_id: dict[str, list[Person]] = defaultdict(list)
        for row in rows:
            other = person(row)
            by_birth[(other.category, other.date_of_birth)].append(other)
            by_phone[other.phone].append(other)
            if other.national_id:
                by_id[other.national_id].append(other)
        for p in part:
            block = {o.id: o for o in by_birth.get((p.category, p.date_of_birth), ())}
            for phone in neighbours[p.id] & by_phone.keys():
                block.update((o.id, o) for o in by_phone[phone])
            if p.national_id:
                block.update((o.id, o) for o in by_id.get(p.national_id, ()))
            for other in block.values():
                if other.id != p.id:
                    pair = verify(p, other, key_of(p.full_name), key_of(other.full_name))
                    if pair is not None:
                        found[(pair.first_id, pair.second_id)] = pair
    return list(found.values())


@lru_cache(maxsize=4)
def _candidates_statement(dialect: str) -> TextClause:
    """Active registrations of the same category, date of birth and name key (:names) or
    romanised key (:romans), of a phone of :phones, or of a national ID of :ids; each wanted
    value one index probe (ix_actor_birth_name, ix_actor_birth_roman, ix_actor_phone,
    ix_actor_national_id), so a look-up reads the candidates, not everyone born that day.

    The values travel as one parameter per kind (JSON on SQLite, arrays on PostgreSQL), and
    each part keeps its index whatever the planner knows, as identity.find_existing does: a
    LATERAL subquery with OFFSET 0 on PostgreSQL (an OR of the terms chose a sequential scan
    while the new key had no statistics), CROSS JOIN and INDEXED BY on SQLite."""
    columns = ", ".join(f"actor.{column.key}" for column in PERSON_COLUMNS)
    if dialect == "sqlite":
        def part(index: str, wanted: str, condition: str) -> str:
            return (f"SELECT {columns} FROM json_each(:{wanted}) AS wanted CROSS JOIN actor INDEXED BY {index}"
                    f" ON {condition} WHERE actor.status = 'active'")
        triple = ("actor.category = wanted.value ->> 0 AND actor.date_of_birth = wanted.value ->> 1"
                  " AND actor.{} = wanted.value ->> 2")
        parts = [part("ix_actor_birth_name", "names", triple.format("name_key")),
                 part("ix_actor_birth_roman", "romans", triple.format("roman_key")),
                 part("ix_actor_phone", "phones", "actor.phone = wanted.value"),
                 part("ix_actor_national_id", "ids", "actor.national_id = wanted.value")]
    else:
        # status is tested outside the fence: inside it, a partial index of active registrations
        # qualifies too, and without statistics PostgreSQL read all of uq_actor_identity_national_id
        # (category, national_id) for a national ID alone (200,000 rows: 6.8 ms instead of 0.03)
        def part(wanted: str, condition: str) -> str:  # type: ignore[misc]
            return (f"SELECT {columns} FROM {wanted} CROSS JOIN LATERAL (SELECT * FROM actor WHERE {condition}"
                    " OFFSET 0) AS actor WHERE actor.status = 'active'")
        triples = ("unnest(CAST(:{0} AS text[]), CAST(:{0}_born AS date[]), CAST(:{0}_key AS text[]))"
                   " AS wanted(category, born, key)")
        triple = "actor.category = wanted.category AND actor.date_of_birth = wanted.born AND actor.{} = wanted.key"
        parts = [part(triples.format("names"), triple.format("name_key")),
                 part(triples.format("romans"), triple.format("roman_key")),
                 part("unnest(CAST(:phones AS text[])) AS wanted(value)", "actor.phone = wanted.value"),
                 part("unnest(CAST(:ids AS text[])) AS wanted(value)", "actor.national_id = wanted.value")]
    return text(" UNION ALL ".join(parts)).columns(*PERSON_COLUMNS)


def _triples(dialect: str, name: str, triples: list[tuple[str, date, str]]) -> dict[str, object]:
    """(category, date of birth, key) triples as the statement takes them: one JSON list on
    SQLite, three arrays on PostgreSQL."""
    if dialect == "sqlite":
        return {name: json.dumps([[category, born.isoformat(), key] for category, born, key in triples])}
    return {name: [t[0] for t in triples], f"{name}_born": [t[1] for t in triples], f"{name}_key": [t[2] for t in triples]}


def _values(dialect: str, values: set[str]) -> object:
    return json.dumps(sorted(values)) if dialect == "sqlite" else sorted(values)


def find_for(session: Session, actor_ids: Sequence[int], *, source: str, now: datetime,
             between: Callable[[], None] | None = None) -> int:
    """Look for duplicates of these stored registrations (the active ones) and queue them;
    returns how many pairs were new. The people and their candidates are read on a connection
    of its own that only reads (registry.database.reading, as the scan reads): on SQLite a
    snapshot beside the writers, where the session's transaction would hold the write lock
    through every look-up (0.6 ms a person at 10 million: a minute for an import of 100,000);
    only the pairs are written, through the session."""
    people: list[Person] = []
    with reading(session.get_bind()) as reader:
        for start in range(0, len(actor_ids), 1000):
            people += [person(row) for row in reader.execute(
                select(*PERSON_COLUMNS).where(ACTIVE, Actor.id.in_(actor_ids[start:start + 1000])))]
        found = candidates_of(reader, people)
    return store(session, found, source=source, now=now, between=between)


def find_among(session: Session, people: Sequence[Person], *, source: str, now: datetime,
               between: Callable[[], None] | None = None) -> int:
    """find_for with the people already in hand (a registration just stored: no need to read it back)."""
    return store(session, candidates_of(session, people), source=source, now=now, between=between)


def person_of(actor: Actor) -> Person:
    """An active actor in hand as the queue compares it (PERSON_COLUMNS' order)."""
    return person([getattr(actor, column.key) for column in PERSON_COLUMNS])


def close_settled(session: Session, now: datetime, *, pair_ids: Sequence[int] | None = None,
                  actor_id: int | None = None) -> int:
    """Close open pairs of which a registration is no longer active (merged, deactivated or
    erased elsewhere): nothing is left to decide. All of them, those of `pair_ids`, or those
    of one registration."""
    first, second = aliased(Actor), aliased(Actor)
    settled = or_(exists().where(first.id == DuplicatePair.first_actor_id, first.status != "active"),
                  exists().where(second.id == DuplicatePair.second_actor_id, second.status != "active"))
    statement = (update(DuplicatePair).where(DuplicatePair.status.in_(OPEN), settled)
                 .values(status="closed", decided_at=now).execution_options(synchronize_session=False))
    if pair_ids is not None:
        statement = statement.where(DuplicatePair.id.in_(pair_ids))
    if actor_id is not None:
        statement = statement.where(or_(DuplicatePair.first_actor_id == actor_id, DuplicatePair.second_actor_id == actor_id))
    closed = session.execute(statement).rowcount or 0
    session.flush()
    return closed


# --------------------------------------------------------------------------- decisions
class NotOpen(ValueError):
    """The pair was decided already (or closed): nothing to do."""


def _decided(session: Session, pair: DuplicatePair, status: str, by: lifecycle.Staff, now: datetime,
             ip: str | None, **detail: object) -> None:
    if pair.status not in OPEN:
        raise NotOpen(pair.status)
    pair.status, pair.decided_at, pair.decided_by_id = status, now, by.id
    session.flush()
    record(session, f"duplicate_{status}", now=now, by_id=by.id, ip=ip, subject=f"duplicate pair {pair.id}",
           detail={"reasons": pair.reasons, "score": pair.score, **detail})


def dismiss(session: Session, pair: DuplicatePair, by: lifecycle.Staff, now: datetime, *, ip: str | None = None) -> None:
    """Not one person: the pair is never proposed again."""
    _decided(session, pair, "dismissed", by, now, ip)


def defer(session: Session, pair: DuplicatePair, by: lifecycle.Staff, now: datetime, *, ip: str | None = None) -> None:
    """Decide later (it stays in the queue, after the pending pairs)."""
    if pair.status == "deferred":
        return
    _decided(session, pair, "deferred", by, now, ip)


def merge(session: Session, pair: DuplicatePair, keep: Actor, duplicate: Actor, reason: str,
          by: lifecycle.Staff, now: datetime, *, ip: str | None = None) -> None:
    """One person: `duplicate` is merged into `keep` by the lifecycle (its rules, history and
    figures); raises the lifecycle's ChangeRefused / OutOfScope as it does."""
    if pair.status not in OPEN:
        raise NotOpen(pair.status)
    assert {keep.id, duplicate.id} == {pair.first_actor_id, pair.second_actor_id}
    lifecycle.merge(session, keep, duplicate, reason, by, now=now)
    _decided(session, pair, "merged", by, now, ip, kept=f"actor {keep.id}", merged=f"actor {duplicate.id}")
    close_settled(session, now, actor_id=duplicate.id)  # its other pairs: nothing left to decide

