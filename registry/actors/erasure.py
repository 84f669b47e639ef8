"""Erasure: after consent is withdrawn and the retention period has passed, a registration's
personal fields are replaced by a tombstone, and what the history and the event log say
about the person is redacted. Plain functions that flush; `flask purge` commits.

What stays, and why:
- the registration number (a reference staff and the event log use; it names nobody). The
  public status look-up proves a person by number + phone + date of birth, and the
  tombstone's phone can match no typed phone, so an erased number answers exactly like a
  number that was never issued: nothing about the person, not even that they withdrew;
- everything the statistics count: category, area, gender, sector, channel, the dates the
  person came and left (`actor_segment`), and the *age band* at each of those dates. The
  date of birth is replaced by the latest date that gives the same age band on every day
  the tally reads one (each segment's start): a function of those bands and days alone, so
  the tally, and `tally.rebuild` from the tables, stay exactly as they were;
- the status (deactivated, consent_withdrawn, effective date) and how the record arrived
  (channel, import batch and row; not the field tool's submission id, which is cleared).

The tombstone satisfies every CHECK of the actor table; it is deactivated, so it is in no
unique identity index, and its phone ("+855", shorter than any real number) and missing
national ID make it unfindable by the "returning person" look-ups: a person who comes back
registers again, with a new number. `lifecycle.lock` refuses every change of an erased
record.

Redaction replaces values by MARKER: in `actor_change` the old and new values of personal
fields and the free-text reasons (a deactivation keeps its reason code); in the event log
the detail values of events about the person (except the known non-personal keys) and the
terms of staff searches that name the person's phone, national ID or name. The database
accepts exactly these updates and nothing else (migration 0012_erasure).

The person's change requests (`change_request`: values they asked for, a reason written to
them) are deleted: nothing in them is needed once the person is gone, and the event log
keeps that requests were sent and decided (its detail redacted as above).

The import report (`import_problem`) keeps the cells of the rows it did not store, and some
of those rows are the person: a row found to duplicate their registration (detail
{"number"}), a repeat of the row that created it ({"row": source_row}) or of such a
duplicate, and a rejected row holding one of their phone numbers or national IDs, or one of
their names together with one of their dates of birth (a row fixed and imported again
later). Their cells become the marker (the row, its outcome and its reasons stay, so the
batch's counts and report still add up). Every phone, ID, name and date of birth the person
ever had (the history's old values too) counts as theirs, for these rows and for the
searches. A rejected row with none of these (a misspelt name, a wrong birth date and a phone
they never had) cannot be told from a stranger's and stays. `import_problem` is not
append-only: a plain UPDATE.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Iterable, Sequence

from sqlalchemy import JSON, Integer, String, and_, column, delete, or_, select, table, update
from sqlalchemy.orm import Session

from registry import clock
from registry.actors.lifecycle import timeline
from registry.actors.models import Actor, ActorChange
from registry.actors.normalise import identity_name, visible
from registry.actors.validation import Problem, parse_date, parse_phone
from registry.events.models import Event
from registry.events.services import record
from registry.vocab import age_band, age_on

MARKER = "[redacted]"  # the one value a redaction writes (migration 0012's triggers accept only it)
ERASED_NAME = "[erased]"
ERASED_PHONE = "+855"  # the country code alone: no parsed phone is ever this short
# Fields of the history whose old/new values are the person's own.
PERSONAL_FIELDS = ("full_name", "name_key", "roman_key", "phone", "national_id", "date_of_birth", "business_name")
# Detail keys of events about a registration that never hold personal values (lifecycle,
# exports): kept. Any other key's value is redacted.
NEUTRAL_DETAIL = frozenset(("via", "reason", "effective", "fields", "into", "format", "results", "count"))
SEARCH_KIND = "actor_searched"  # staff searches: detail {"terms": ..., ...}
MIN_NAME_PART = 3  # a searched name part this long or longer that the person's name key holds is theirs


class NoSuchDate(RuntimeError):
    """No date of birth gives the stored age bands (the timeline and the record disagree)."""


@dataclass(frozen=True)
class PurgeResult:
    erased: int  # registrations erased now (merged records of the same person included)
    changes_redacted: int
    events_redacted: int
    import_rows_redacted: int = 0
    requests_deleted: int = 0  # the people's change requests (registry.change_requests)


def due(session: Session, today: date, retention_days: int) -> list[Actor]:
    """Registrations deactivated as consent_withdrawn, not yet erased, whose effective date
    plus the retention period is today or earlier."""
    last = today - timedelta(days=retention_days)
    return list(session.scalars(select(Actor).where(
        Actor.status == "deactivated", Actor.status_reason == "consent_withdrawn", Actor.erased_at.is_(None),
        Actor.status_effective <= last).order_by(Actor.id)))


def purge(session: Session, today: date, retention_days: int, *, dry_run: bool = False,
          now: datetime | None = None) -> tuple[int, PurgeResult | None]:
    """Erase every registration `due` (flush only). Returns how many were due and, unless
    `dry_run`, what was done."""
    found = due(session, today, retention_days)
    if dry_run or not found:
        return len(found), (None if dry_run else PurgeResult(0, 0, 0))
    now = now or clock.now()
    # One pass over the rejected import rows for everybody erased now (before any tombstone).
    everybody = [_Searchable.of(session, p) for actor in found for p in (actor, *_merged_into(session, actor))]
    totals = [0, 0, _redact_searches(session, everybody), _redact_rejected_rows(session, everybody), 0]
    for actor in found:
        result = erase(session, actor, now=now, rejected_rows=False, searches=False)
        totals = [a + b for a, b in zip(totals, (result.erased, result.changes_redacted, result.events_redacted,
                                                  result.import_rows_redacted, result.requests_deleted))]
    return len(found), PurgeResult(*totals)


def erase(session: Session, actor: Actor, *, now: datetime, rejected_rows: bool = True,
          searches: bool = True) -> PurgeResult:
    """Tombstone `actor` and every registration merged into it (the same person), redact
    their history, the events and the import rows about them, and record `actor_erased` (no
    personal value). `rejected_rows=False`, `searches=False`: the caller has redacted the
    rejected import rows and the searches naming them (`purge` does each once for everybody)."""
    people = [actor, *_merged_into(session, actor)]
    searched = [_Searchable.of(session, p) for p in people]  # before the tombstone and the redaction
    rows = _redact_duplicate_rows(session, people) + (_redact_rejected_rows(session, searched) if rejected_rows else 0)
    birth = tombstone_birth(timeline(session, actor), actor.date_of_birth)
    ids = [p.id for p in people]
    for person in people:
        person.full_name = person.name_key = ERASED_NAME
        person.roman_key = ""  # no key: the duplicate look-up never probes for it
        person.phone, person.national_id, person.date_of_birth = ERASED_PHONE, None, birth
        person.business_name = ERASED_NAME if person.category == "micro_enterprise" else None
        person.status_note = None
        person.source_ref = None  # the field tool's submission id: it leads back to the person's answers there
        person.erased_at = now
    session.flush()
    changes = _redact_history(session, ids)
    requests = session.execute(delete(_REQUEST).where(_REQUEST.c.actor_id.in_(ids))).rowcount
    events = _redact_events(session, [f"actor {i}" for i in ids], searched, searches=searches)
    record(session, "actor_erased", now=now, subject=f"actor {actor.id}",
           detail={"via": "system", "number": actor.registration_number, "merged": len(people) - 1, "changes_redacted": changes, "events_redacted": events,
                   "requests_deleted": requests})
    return PurgeResult(len(people), changes, events, rows, requests)


def _merged_into(session: Session, actor: Actor) -> list[Actor]:
    """Registrations merged into `actor`, directly or through others."""
    found, frontier = [], [actor.id]
    while frontier:
        rows = list(session.scalars(select(Actor).where(Actor.merged_into_id.in_(frontier), Actor.erased_at.is_(None))))
        found += rows
        frontier = [r.id for r in rows]
    return found


# --------------------------------------------------------------------------- the age band
def tombstone_birth(segments: Sequence[Any], birth: date) -> date:
    """The latest date of birth giving the same age band as `birth` on every segment's start
    (the only days the tally reads an age; tally.fine_key), and an age on the first start no
    lower than the real one or the registry's minimum. The dates that qualify form one
    interval holding `birth` (age bands grow with age), so the search walks up from it."""
    starts = sorted({s.start for s in segments})
    if not starts:
        return birth
    wanted = [age_band(age_on(birth, day)) for day in starts]
    floor_age = min(15, age_on(birth, starts[0]))

    def fits(candidate: date) -> bool:
        return (age_on(candidate, starts[0]) >= floor_age
                and all(age_band(age_on(candidate, day)) == band for day, band in zip(starts, wanted)))

    if not fits(birth):
        raise NoSuchDate(birth.isoformat())
    low, step = birth, 1
    while fits(low + timedelta(days=step)):  # gallop up, then halve back to the last date that fits
        low, step = low + timedelta(days=step), step * 2
    high = low + timedelta(days=step)  # does not fit
    while (high - low).days > 1:
        middle = low + timedelta(days=(high - low).days // 2)
        low, high = (middle, high) if fits(middle) else (low, middle)
    return low


# --------------------------------------------------------------------------- redaction
def _redact_history(session: Session, actor_ids: list[int]) -> int:
    rows = list(session.scalars(select(ActorChange).where(ActorChange.actor_id.in_(actor_ids))))
    changed = 0
    for row in rows:
        values: dict[str, Any] = {}
        if row.field in PERSONAL_FIELDS:
            if row.old is not None and row.old != MARKER:
                values["old"] = MARKER
            if row.new is not None and row.new != MARKER:
                values["new"] = MARKER
        reason = _redacted_reason(row)
        if reason != row.reason:
            values["reason"] = reason
        if values:
            session.execute(update(ActorChange).where(ActorChange.id == row.id).values(**values))
            changed += 1
    session.expire_all()
    return changed


def _redacted_reason(row: ActorChange) -> str:
    """Free text is redacted; a deactivation keeps its reason code ("left", "other: [redacted]"),
    which the statistics' revision note reads."""
    if row.kind == "deactivation":
        code, sep, _note = row.reason.partition(": ")
        return f"{code}: {MARKER}" if sep else row.reason
    return MARKER


@dataclass(frozen=True)
class _Searchable:
    """Every phone, national ID, name key and date of birth the person had: now, and in the
    history."""
    phones: frozenset[str]
    national_ids: frozenset[str]
    name_keys: frozenset[str]
    births: frozenset[date] = frozenset()

    @classmethod
    def of(cls, session: Session, actor: Actor) -> _Searchable:
        found: dict[str, set[str]] = {"phone": {actor.phone}, "national_id": {actor.national_id or ""},
                                      "name_key": {actor.name_key}, "date_of_birth": {actor.date_of_birth.isoformat()}}
        rows = session.execute(select(ActorChange.field, ActorChange.old, ActorChange.new).where(
            ActorChange.actor_id == actor.id, ActorChange.field.in_(tuple(found))))
        for field, old, new in rows:
            found[field].update(v for v in (old, new) if v and v != MARKER)
        births = frozenset(date.fromisoformat(v) for v in found["date_of_birth"] if re.fullmatch(r"\d{4}-\d{2}-\d{2}", v))
        return cls(*(frozenset(found[k] - {"", MARKER, ERASED_NAME, ERASED_PHONE}) for k in ("phone", "national_id", "name_key")),
                   births)

    def holds(self, cell: str) -> bool:
        """Whether a text is one of the person's phone numbers (in any format) or national IDs."""
        cell = cell.strip()
        if not cell or not any(ch.isdigit() for ch in cell):
            return False
        if self.national_ids and re.sub(r"\D", "", cell) in self.national_ids:
            return True
        try:
            return parse_phone(cell) in self.phones
        except Problem:
            return False

    def named_by(self, term: str) -> bool:
        """Whether a searched text names this person (phone in any format, national ID, name
        or a part of it)."""
        term = term.strip()
        if not term:
            return False
        if self.holds(term):
            return True
        key = identity_name(visible(term))
        return bool(key) and any(key == name or (len(key) >= MIN_NAME_PART and key in name) for name in self.name_keys)


def _texts(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _texts(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _texts(item)


# The import report's rows, as a plain table: registry.imports builds on registry.actors, so
# the models cannot be imported here (tests/test_layers.py).
_PROBLEM = table("import_problem", column("id", Integer), column("batch_id", Integer), column("row_number", Integer),
                 column("outcome", String), column("detail", JSON), column("cells", JSON))


# The people's change requests, as a plain table for the same reason (registry.change_requests
# builds on registry.actors).
_REQUEST = table("change_request", column("actor_id", Integer))


def _redact_duplicate_rows(session: Session, people: list[Actor]) -> int:
    """Duplicate rows that are the person: of their number, of the row that created them,
    and repeats of those (one query per level)."""
    number, row = _PROBLEM.c.detail["number"].as_string(), _PROBLEM.c.detail["row"].as_integer()
    duplicate = _PROBLEM.c.outcome == "duplicate"
    found = session.execute(select(_PROBLEM.c.id, _PROBLEM.c.batch_id, _PROBLEM.c.row_number).where(
        duplicate, number.in_([p.registration_number for p in people]))).all()
    frontier = {(p.import_batch_id, p.source_row) for p in people if p.import_batch_id is not None and p.source_row is not None}
    frontier |= {(r.batch_id, r.row_number) for r in found}
    ids = {r.id for r in found}
    while frontier:
        level = session.execute(select(_PROBLEM.c.id, _PROBLEM.c.batch_id, _PROBLEM.c.row_number).where(
            duplicate, or_(*(and_(_PROBLEM.c.batch_id == b, row == r) for b, r in frontier)))).all()
        fresh = [r for r in level if r.id not in ids]
        ids |= {r.id for r in fresh}
        frontier = {(r.batch_id, r.row_number) for r in fresh}
    return _mark_cells(session, ids)


def _redact_rejected_rows(session: Session, people: list[_Searchable]) -> int:
    """Rejected rows holding one of the people's phone numbers or national IDs, or one of
    their names with one of their dates of birth (any cells: a rejected row's columns may be
    anything): one pass over the rejected rows, each distinct cell checked once."""
    phones = frozenset().union(*(p.phones for p in people)) if people else frozenset()
    national_ids = frozenset().union(*(p.national_ids for p in people)) if people else frozenset()
    births_of: dict[str, set[date]] = {}  # name key -> the dates of birth of the people so named
    for person in people:
        for key in person.name_keys:
            births_of.setdefault(key, set()).update(person.births)
    if not phones and not national_ids and not births_of:
        return 0
    anyone = _Searchable(phones, national_ids, frozenset())
    held: dict[str, bool] = {}
    keys: dict[str, str] = {}
    dates: dict[str, date | None] = {}

    def holds(text: str) -> bool:
        if text not in held:
            held[text] = anyone.holds(text)
        return held[text]

    def key(text: str) -> str:
        if text not in keys:
            keys[text] = identity_name(visible(text))
        return keys[text]

    def day(text: str) -> date | None:
        if text not in dates:
            try:
                dates[text] = parse_date(text)
            except Problem:
                dates[text] = None
        return dates[text]

    def theirs(cells: list[Any]) -> bool:
        texts = [str(c) for c in cells if c not in (None, "")]
        if any(holds(t) for t in texts):
            return True
        births = set().union(*(births_of.get(key(t), ()) for t in texts))
        return bool(births) and any(day(t) in births for t in texts)

    ids = {problem_id for problem_id, cells in session.execute(
               select(_PROBLEM.c.id, _PROBLEM.c.cells).where(_PROBLEM.c.outcome == "rejected"))
           if isinstance(cells, list) and theirs(cells)}
    return _mark_cells(session, ids)


def _mark_cells(session: Session, problem_ids: set[int]) -> int:
    """Every non-empty cell of these rows becomes the marker (the row keeps its length)."""
    changed = 0
    for problem_id in sorted(problem_ids):
        cells = session.execute(select(_PROBLEM.c.cells).where(_PROBLEM.c.id == problem_id)).scalar_one()
        redacted = [MARKER if c not in (None, "") else c for c in cells] if isinstance(cells, list) else [MARKER]
        if redacted != cells:
            session.execute(update(_PROBLEM).where(_PROBLEM.c.id == problem_id).values(cells=redacted))
            changed += 1
    return changed


def _redact_events(session: Session, subjects: list[str], people: list[_Searchable], *, searches: bool = True) -> int:
    """Events about the person (by subject, indexed): every detail value but the neutral ones;
    and, unless the caller does it once for everybody (`purge`), the searches naming them."""
    changed = 0
    for event in session.scalars(select(Event).where(Event.subject.in_(subjects))).all():
        detail = event.detail
        if isinstance(detail, dict):
            new = {k: (v if k in NEUTRAL_DETAIL or v == MARKER else MARKER) for k, v in detail.items()}
            if new != detail:
                session.execute(update(Event).where(Event.id == event.id).values(detail=new))
                changed += 1
    session.expire_all()
    return changed + (_redact_searches(session, people) if searches else 0)


def _redact_searches(session: Session, people: list[_Searchable]) -> int:
    """Staff searches whose terms name any of `people`: their terms. One pass over the search
    events however many people are erased, read in batches (memory stays flat)."""
    if not people:
        return 0
    named: list[tuple[int, dict[str, Any]]] = []
    rows = session.execute(select(Event.id, Event.detail).where(Event.kind == SEARCH_KIND)
                           .execution_options(yield_per=2000))
    for event_id, detail in rows:
        if isinstance(detail, dict) and detail.get("terms") != MARKER and any(
                p.named_by(text) for p in people for text in _texts(detail.get("terms"))):
            named.append((event_id, {**detail, "terms": MARKER}))
    for event_id, new in named:
        session.execute(update(Event).where(Event.id == event_id).values(detail=new))
    session.expire_all()
    return len(named)
