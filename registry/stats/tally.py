"""Keeping the maintained counts (`actor_tally`) in step with the actor table.

Every way an actor is stored (the form, the importer, the CLI) calls `count_new` in the
same transaction, so the statistics are exact the moment the registration commits.
`adjust` is the general form: people entering or leaving the active registry on a day,
added or taken back (registry.actors.lifecycle takes back a person's whole timeline and
adds the new one); every cell counts people, so it never goes below zero (CHECK n >= 0).

Four flows, because the active count and the new registrations are different figures:
`arrived` (a registration or a reactivation: a new registration of the period), `left`
(an exit: a deactivation from its effective date), `moved_in` / `moved_out` (a change of
circumstances: the person leaves one cell and enters another on the same day, which is
neither a new registration nor an exit). Active as of d = in-flows up to d - out-flows
up to d; in-flows read with n > 0, out-flows with n < 0 (Cell.n is signed).

A tally row's identity is one integer, its fields packed most significant first (LAYOUT):

    level | dimension | period | area | day | flow | category | gender | value

level: country, province, district, commune (the area code's length / 2); dimension:
total, sector, channel or age band; period: a day, a month or a year; area: the 0/2/4/6-digit
official code as a number; day: days since 2000-01-01 of the day or of the month's or the
year's first day; flow: arrived, left, moved in or moved out; then the category, the gender and the dimension's value as
their permanent *slots* (registry.vocab), never their position in a list. One area's
rows of a dimension over time are one key range, and an upsert is a primary-key look-up.
A person adds to a day, a month and a year row of each (level, dimension): a month row is
always the sum of its days and a year row of its months (one upsert writes them together),
so a long period is read as a few years rather than every month, and a part of a period as
the whole period less the rest (registry.stats.periods).

The layout is checked when this module is imported: a vocabulary whose highest slot
does not fit its field stops the application at start-up (and the tests), rather than
overflowing into a neighbouring field of stored keys.

The rule: ANY change to LAYOUT, DIMENSIONS, PERIODS, FLOWS or EPOCH ships with a
migration that rebuilds the tally (as 0005_tally_slot_layout does), because every stored
key is written with them. Adding a vocabulary value needs none: it takes a new slot.
"""
from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from typing import Iterable, Mapping, NamedTuple, Sequence

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from registry import vocab
from registry.areas import LEVELS
from registry.vocab import Vocabulary, age_band, age_on


class KeyField(NamedTuple):
    name: str
    bits: int


LAYOUT: tuple[KeyField, ...] = (  # most significant first
    KeyField("level", 2),
    KeyField("dimension", 3),
    KeyField("period", 2),  # widened from 1 bit in 0025_tally_years
    KeyField("area", 20),  # codes up to 999999
    KeyField("day", 16),  # 65,536 days from EPOCH: to the year 2179
    KeyField("flow", 2),  # widened from 1 bit in 0010_actor_lifecycle
    KeyField("category", 4),
    KeyField("gender", 3),
    KeyField("value", 8),
)
KEY_BITS = 63  # a signed 64-bit integer on both databases
SHIFT: dict[str, int] = {}
_low = 0
for _field in reversed(LAYOUT):
    SHIFT[_field.name] = _low
    _low += _field.bits
WIDTH = {f.name: f.bits for f in LAYOUT}

EPOCH = date(2000, 1, 1)
# Permanent numbers of the dimensions, periods and flows (append-only, like vocab slots).
DIMENSIONS: dict[str, int] = {"total": 0, "sector": 1, "channel": 2, "age": 3}
PERIODS: dict[str, int] = {"d": 0, "m": 1, "y": 2}  # the day, the month, the year (start = its first day)
FLOWS: dict[str, int] = {"arrived": 0, "left": 1, "moved_in": 2, "moved_out": 3}
OUT_FLOWS = frozenset(("left", "moved_out"))  # read with a negative sign
MAX_AREA_CODE = 999_999
# Which dimensions each area level keeps (districts and communes: totals only).
DIMENSIONS_AT: dict[int, tuple[str, ...]] = {0: tuple(DIMENSIONS), 1: tuple(DIMENSIONS), 2: ("total",), 3: ("total",)}


class TallyMismatch(RuntimeError):
    """A count taken back from a cell that holds none: the tally and the data disagree
    (repair with `flask rebuild-tally`)."""


class LayoutError(RuntimeError):
    """A value that does not fit its field of the tally key."""


def dimension_vocabularies() -> dict[str, Vocabulary | None]:
    """The vocabulary of each dimension's values (read now: nothing here caches it)."""
    return {"total": None, "sector": vocab.SECTORS, "channel": vocab.CHANNELS, "age": vocab.AGE_BANDS}


def check_layout(categories: Vocabulary | None = None, genders: Vocabulary | None = None,
                 values: Mapping[str, Vocabulary | None] | None = None) -> None:
    """Raise LayoutError unless every field of the key holds every value it may get."""
    categories = categories or vocab.CATEGORIES
    genders = genders or vocab.GENDERS
    values = values or dimension_vocabularies()
    if sum(WIDTH.values()) > KEY_BITS:
        raise LayoutError(f"the tally key needs {sum(WIDTH.values())} bits; at most {KEY_BITS} fit")
    needs = {
        "level": len(LEVELS) - 1,
        "dimension": max(DIMENSIONS.values()),
        "period": max(PERIODS.values()),
        "area": MAX_AREA_CODE,
        "day": (date(2100, 12, 31) - EPOCH).days,
        "flow": max(FLOWS.values()),
        "category": categories.highest_slot,
        "gender": genders.highest_slot,
        "value": max((v.highest_slot for v in values.values() if v is not None), default=0),
    }
    for name, highest in needs.items():
        if highest >= 1 << WIDTH[name]:
            raise LayoutError(f"tally key field {name!r} has {WIDTH[name]} bits; slot {highest} does not fit."
                              " Widen the field in LAYOUT and ship a migration that rebuilds the tally.")
    if set(DIMENSIONS) != set(values):
        raise LayoutError(f"dimensions {sorted(DIMENSIONS)} and their vocabularies {sorted(values)} differ")


check_layout()


def _head(level: int, dimension: int, period: int) -> int:
    """The high part of a key: level, dimension and period (area, day and cell are added)."""
    return (level << SHIFT["level"]) | (dimension << SHIFT["dimension"]) | (period << SHIFT["period"])


class Fine(NamedTuple):
    """One person as the tally sees them, on the day they arrive in (or leave) the registry."""

    day: date
    commune_code: str
    category: str
    gender: str
    sector: str
    channel: str
    age_band: str  # age on the date registered (it stays with the person when they leave)


def fine_key(day: date, commune_code: str, category: str, gender: str, sector: str,
             channel: str, date_of_birth: date, registered_on: date | None = None) -> Fine:
    """The tally's view of a person on `day`; the age band is the age on `registered_on`
    (default: `day`, the day they registered)."""
    return Fine(day, commune_code, category, gender, sector, channel,
                age_band(age_on(date_of_birth, registered_on or day)))


def range_base(level: int, dimension: str, period: str, area: str, start: date) -> int:
    """The smallest key of (level, dimension, period, area, start); its cells follow."""
    return (_head(level, DIMENSIONS[dimension], PERIODS[period]) | (int(area or 0) << SHIFT["area"])
            | ((start - EPOCH).days << SHIFT["day"]))


# Every (head, level, dimension slot, period slot) a person adds to.
_COMBOS = tuple((_head(level, DIMENSIONS[d], p), level, DIMENSIONS[d], p)
                for level, dims in DIMENSIONS_AT.items() for d in dims for p in PERIODS.values())


def increments(changes: Mapping[tuple[str, Fine], int]) -> Counter[int]:
    """Keys to add to and by how much, from people counted by (flow, fine key)."""
    out: Counter[int] = Counter()
    slots = {name: v.slots for name, v in dimension_vocabularies().items() if v is not None}
    sector, channel, age = slots["sector"], slots["channel"], slots["age"]
    category, gender = vocab.CATEGORIES.slots, vocab.GENDERS.slots
    area_shift, day_shift = SHIFT["area"], SHIFT["day"]
    flow_shift, category_shift, gender_shift = SHIFT["flow"], SHIFT["category"], SHIFT["gender"]
    values_at = [0] * (max(DIMENSIONS.values()) + 1)
    combos = _COMBOS
    for (flow, f), n in changes.items():
        if not n:
            continue
        days = ((f.day - EPOCH).days << day_shift, (f.day.replace(day=1) - EPOCH).days << day_shift,
                (f.day.replace(month=1, day=1) - EPOCH).days << day_shift)
        cell = (FLOWS[flow] << flow_shift) | (category[f.category] << category_shift) | (gender[f.gender] << gender_shift)
        values_at[1], values_at[2], values_at[3] = sector[f.sector], channel[f.channel], age[f.age_band]
        code = f.commune_code
        areas = (0, int(code[:2]) << area_shift, int(code[:4]) << area_shift, int(code) << area_shift)
        # range_base's arithmetic, inlined: this runs 30 times per imported actor
        keys = [head | areas[level] | days[p] | cell | values_at[d] for head, level, d, p in combos]
        if n == 1:
            out.update(keys)  # counted in C
        else:
            for key in keys:
                out[key] += n
    return out


def count_new(session: Session, fine: Iterable[Fine]) -> None:
    """Add newly stored registrations to the tally (flush only; the caller commits)."""
    adjust(session, Counter(("arrived", f) for f in fine))


def adjust(session: Session, changes: Mapping[tuple[str, Fine], int]) -> None:
    """Add (or, negative, take back) people arriving or leaving on a day (flush only).

    Keys are written in order: neighbouring keys share pages, so the upserts walk the
    index once, and concurrent writers take the rows' locks in the same order.
    Additions are upserts; take-backs are UPDATEs of rows that must exist (both databases
    check the CHECK n >= 0 on an upsert's proposed row before seeing the conflict, so a
    negative upsert would fail even where the row holds enough). A take-back from a row
    that is not there means the tally and the data disagree: it raises.
    """
    rows = increments(changes)
    if not rows:
        return
    connection = session.connection()
    mark = "?" if connection.dialect.name == "sqlite" else "%s"
    ordered = sorted(rows.items())
    upsert = (f"INSERT INTO actor_tally (key, n) VALUES ({mark}, {mark})"
              " ON CONFLICT (key) DO UPDATE SET n = actor_tally.n + excluded.n")
    if all(n > 0 for _key, n in ordered):  # registrations
        if connection.dialect.name == "postgresql":
            _upsert_arrays(connection, ordered)
        else:  # SQLite: executemany runs in C, in the same process as the database
            connection.exec_driver_sql(upsert, ordered)
        return
    take = f"UPDATE actor_tally SET n = n + {mark} WHERE key = {mark}"
    if connection.dialect.name == "sqlite":  # one writer at a time: no lock order to keep
        taken = [(n, key) for key, n in ordered if n < 0]
        added = [(key, n) for key, n in ordered if n > 0]
        if taken and connection.exec_driver_sql(take, taken).rowcount != len(taken):
            raise TallyMismatch([key for _n, key in taken])
        if added:
            connection.exec_driver_sql(upsert, added)
        return
    for key, n in ordered:  # a lifecycle change (one person's timeline): row by row, in key order (no deadlock)
        if n > 0:
            connection.exec_driver_sql(upsert, [(key, n)])
        elif connection.exec_driver_sql(take, (n, key)).rowcount != 1:
            raise TallyMismatch(key)


# PostgreSQL: every addition in one statement, the keys and counts as two array
# parameters. An executemany sends one upsert per key (even pipelined, the server parses,
# plans and executes each: ~20 per imported actor then, ~2,500 µs per 1,000 keys measured on
# the import of a file spread over every commune and six months, against ~250 µs here).
# ORDER BY keeps the key order, so concurrent writers still lock rows in the same order;
# the keys are distinct (a Counter's), so no row is proposed twice.
_UPSERT_ARRAYS = (
    "INSERT INTO actor_tally (key, n)"
    " SELECT key, n FROM unnest(CAST(%s AS bigint[]), CAST(%s AS integer[])) AS t(key, n) ORDER BY key"
    " ON CONFLICT (key) DO UPDATE SET n = actor_tally.n + excluded.n"
)


def _upsert_arrays(connection: Connection, ordered: list[tuple[int, int]]) -> None:
    keys, counts = zip(*ordered)
    connection.exec_driver_sql(_UPSERT_ARRAYS, (list(keys), list(counts)))


class Cell(NamedTuple):
    start: date
    category: str
    gender: str
    value: str
    n: int  # people who came in; negative for people who went out
    flow: str = "arrived"


def read_range(session: Session, level: int, dimension: str, period: str, area: str,
               first: date, last: date) -> list[Cell]:
    """One area's rows of a dimension and period, with start in [first, last]."""
    if last < first:
        return []
    low = range_base(level, dimension, period, area, first)
    high = range_base(level, dimension, period, area, last) | ((1 << SHIFT["day"]) - 1)
    decode = _row_decoder(dimension)
    return [decode(key, n) for key, n in _rows(session, low, high)]


class Span(NamedTuple):
    """One area's rows of a dimension and period with start in [first, last], read with
    `read_sums`: only rows of `category` / `gender` when given, summed over every field of
    the cell not in `keep` (the flow is always kept: it gives the sign); `sign` -1 takes the
    rows away (the days of a month that lie outside a query read as a whole month)."""

    level: int
    dimension: str
    period: str
    area: str
    first: date
    last: date
    keep: frozenset[str] = frozenset()  # of "day", "category", "gender", "value"
    category: str | None = None
    gender: str | None = None
    sign: int = 1


SUMMABLE = frozenset(("day", "category", "gender", "value"))


def read_sums(session: Session, spans: Sequence[Span]) -> list[list[Cell]]:
    """Many spans in one statement, summed by the database: for each span, its Cells (one
    per distinct kept fields and flow; a field not kept reads "" or, the day, EPOCH).

    The spans travel as a VALUES list of key ranges (integers this function computes, so
    written into the statement) joined to the tally's primary key: one index range scan
    each, one round trip for the lot. The country's whole answer is ~90 spans; read one by
    one they cost ~90 round trips and ~25,000 rows decoded in Python (bench/scale_bench.py).
    """
    ranges: list[tuple[int, int, int, int, int, int]] = []
    for i, span in enumerate(spans):
        if span.last < span.first:
            continue
        if span.sign not in (1, -1):
            raise ValueError(f"a span's sign is 1 or -1, not {span.sign}")
        if not span.keep <= SUMMABLE:
            raise ValueError(f"a span keeps {sorted(span.keep - SUMMABLE)}: only {sorted(SUMMABLE)} can be kept")
        low = range_base(span.level, span.dimension, span.period, span.area, span.first)
        high = range_base(span.level, span.dimension, span.period, span.area, span.last) | ((1 << SHIFT["day"]) - 1)
        keep = _mask("flow")
        for name in span.keep:
            keep |= _mask(name)
        only, value = 0, 0
        if span.category is not None:
            only, value = only | _mask("category"), value | vocab.CATEGORIES.slots[span.category] << SHIFT["category"]
        if span.gender is not None:
            only, value = only | _mask("gender"), value | vocab.GENDERS.slots[span.gender] << SHIFT["gender"]
        ranges.append((i, low, high, keep, only, value))
    found: list[list[Cell]] = [[] for _ in spans]
    if not ranges:
        return found
    rows = ", ".join(f"({int(i)}, {int(low)}, {int(high)}, {int(keep)}, {int(only)}, {int(value)})"
                     for i, low, high, keep, only, value in ranges)
    # Sent as it is (exec_driver_sql: no bind parameters to look for in ~90 rows of numbers)
    # and fetched at once: ~0.35 ms less a request than text() and row-by-row iteration.
    statement = (
        f"WITH wanted(i, low, high, keep, only_bits, only_value) AS (VALUES {rows})"
        " SELECT wanted.i, actor_tally.key & wanted.keep, sum(actor_tally.n) FROM wanted"
        " JOIN actor_tally ON actor_tally.key BETWEEN wanted.low AND wanted.high"
        " WHERE (actor_tally.key & wanted.only_bits) = wanted.only_value"
        " GROUP BY wanted.i, actor_tally.key & wanted.keep")
    flows = {slot: name for name, slot in FLOWS.items()}
    vocabularies = dimension_vocabularies()
    cell_bits, day_shift, day_mask = (1 << SHIFT["day"]) - 1, SHIFT["day"], (1 << WIDTH["day"]) - 1
    cells: dict[tuple[int, int], tuple[str, str, str, int, str]] = {}  # (span, bits below the day) -> decoded
    days: dict[int, date] = {}
    for i, key, n in session.connection().exec_driver_sql(statement).fetchall():
        span = spans[i]
        cell = cells.get((i, key & cell_bits))
        if cell is None:
            flow, values = flows[_field(key, "flow")], vocabularies[span.dimension]
            cell = cells[(i, key & cell_bits)] = (
                vocab.CATEGORIES.code_at(_field(key, "category")) if "category" in span.keep else "",
                vocab.GENDERS.code_at(_field(key, "gender")) if "gender" in span.keep else "",
                values.code_at(_field(key, "value")) if values is not None and "value" in span.keep else "",
                (-1 if flow in OUT_FLOWS else 1) * span.sign, flow)
        day = (key >> day_shift) & day_mask
        start = days.get(day)
        if start is None:
            start = days[day] = EPOCH + timedelta(days=day)
        found[i].append(Cell(start, cell[0], cell[1], cell[2], int(n) * cell[3], cell[4]))
    return found


def _field(key: int, name: str) -> int:
    return (key >> SHIFT[name]) & ((1 << WIDTH[name]) - 1)


def _mask(name: str) -> int:
    return ((1 << WIDTH[name]) - 1) << SHIFT[name]


def read_level(session: Session, level: int, dimension: str, period: str,
               first: date, last: date) -> list[tuple[str, date, str, str, str, int]]:
    """Every area's rows of one level, dimension and period with start in [first, last], as
    (area code, start, category, gender, value, n) — the public release reads the whole
    country's months at once."""
    if last < first:
        return []
    low = range_base(level, dimension, period, "", first)
    high = range_base(level, dimension, period, str(MAX_AREA_CODE), last) | ((1 << SHIFT["day"]) - 1)
    decode = _row_decoder(dimension)
    day_shift, day_mask = SHIFT["day"], (1 << WIDTH["day"]) - 1
    area_shift, area_mask, width = SHIFT["area"], (1 << WIDTH["area"]) - 1, 2 * level
    first_day, last_day = (first - EPOCH).days, (last - EPOCH).days
    codes_seen: dict[int, str] = {}
    found = []
    for key, n in _rows(session, low, high):
        if not first_day <= (key >> day_shift) & day_mask <= last_day:  # the range spans every area's whole history
            continue
        area = (key >> area_shift) & area_mask
        code = codes_seen.get(area)
        if code is None:
            code = codes_seen[area] = str(area).zfill(width) if level else ""
        c = decode(key, n)
        found.append((code, c.start, c.category, c.gender, c.value, c.n))
    return found


def _rows(session: Session, low: int, high: int) -> list[tuple[int, int]]:
    return session.execute(text("SELECT key, n FROM actor_tally WHERE key BETWEEN :low AND :high"),
                           {"low": low, "high": high}).all()  # type: ignore[return-value]


def _row_decoder(dimension: str):  # type: ignore[no-untyped-def]
    """(key, n) -> Cell (n negative for people who left). Each distinct cell and day is
    decoded once per read: the same cells recur on every day, the same days in every cell."""
    decode_cell = _cell_decoder(dimension)
    cell_bits, day_shift, day_mask = (1 << SHIFT["day"]) - 1, SHIFT["day"], (1 << WIDTH["day"]) - 1
    cells_seen: dict[int, tuple[str, str, str, int, str]] = {}
    days_seen: dict[int, date] = {}

    def decode(key: int, n: int) -> Cell:
        bits = key & cell_bits
        cell = cells_seen.get(bits)
        if cell is None:
            cell = cells_seen[bits] = decode_cell(bits)
        days = (key >> day_shift) & day_mask
        start = days_seen.get(days)
        if start is None:
            start = days_seen[days] = EPOCH + timedelta(days=days)
        return Cell(start, cell[0], cell[1], cell[2], n * cell[3], cell[4])

    return decode


def _cell_decoder(dimension: str):  # type: ignore[no-untyped-def]
    """The key's bits below the day -> (category, gender, value, +1 in or -1 out, flow)."""
    values = dimension_vocabularies()[dimension]
    categories, genders = vocab.CATEGORIES, vocab.GENDERS
    names = {slot: name for name, slot in FLOWS.items()}

    def field(bits: int, name: str) -> int:
        return (bits >> SHIFT[name]) & ((1 << WIDTH[name]) - 1)

    def decode(bits: int) -> tuple[str, str, str, int, str]:
        flow = names[field(bits, "flow")]
        return (categories.code_at(field(bits, "category")), genders.code_at(field(bits, "gender")),
                values.code_at(field(bits, "value")) if values else "", -1 if flow in OUT_FLOWS else 1, flow)

    return decode


# A rebuild adds to the tally every REBUILD_BATCH distinct (flow, fine key) pairs, reading the
# actors as a stream: its memory stays flat whatever the registry's size (holding all of them
# took ~8 GB at 10 million registrations). Additions are upserts, so batches add up exactly.
REBUILD_BATCH = 200_000
_STREAM = {"yield_per": 20_000}  # a server-side cursor on PostgreSQL: rows fetched as read


def rebuild(session: Session, batch: int = REBUILD_BATCH) -> int:
    """Recount the whole tally from the actors' timelines (a repair); returns actors counted.

    An active actor without rows in `actor_segment` has the one open segment its
    registration opened (most actors: nothing writes segments until the lifecycle touches
    a person). Every stored segment counts in on its start with its in-flow and, once
    closed, out on its end with its out-flow, in the cell of its values (the age band:
    age on the segment's start). This reads the tables directly, the same way
    registry.actors.lifecycle writes them.
    """
    session.execute(text("DELETE FROM actor_tally"))
    changes: Counter[tuple[str, Fine]] = Counter()

    def held(key: tuple[str, Fine], n: int) -> None:
        changes[key] += n
        if len(changes) >= batch:
            adjust(session, changes)
            changes.clear()

    result = session.execute(text(
        "SELECT registered_on, commune_code, category, gender, sector, channel, date_of_birth, count(*)"
        " FROM actor WHERE status = 'active'"
        " AND NOT EXISTS (SELECT 1 FROM actor_segment s WHERE s.actor_id = actor.id)"
        " GROUP BY registered_on, commune_code, category, gender, sector, channel, date_of_birth"
    ), execution_options=_STREAM)
    counted = 0
    for registered_on, commune, category, gender, sector, channel, birth, n in result:
        held(("arrived", fine_key(_as_date(registered_on), commune, category, gender, sector, channel, _as_date(birth))), n)
        counted += n
    segments = session.execute(text(
        "SELECT s.actor_id, s.start, s.end_on, s.commune_code, s.category, a.gender, s.sector, a.channel,"
        " a.date_of_birth, s.in_flow, s.out_flow FROM actor_segment s JOIN actor a ON a.id = s.actor_id"
    ), execution_options=_STREAM)
    people = set()
    for actor_id, start, end, commune, category, gender, sector, channel, birth, in_flow, out_flow in segments:
        people.add(actor_id)
        start, birth = _as_date(start), _as_date(birth)
        held((in_flow, fine_key(start, commune, category, gender, sector, channel, birth)), 1)
        if end is not None:
            held((out_flow, fine_key(_as_date(end), commune, category, gender, sector, channel, birth, start)), 1)
    adjust(session, changes)
    return counted + len(people)


def _as_date(value: object) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value  # type: ignore[return-value]
