"""The tally keeps a year row beside each day and month row (the period field widened to two
bits): the statistics read a long period as a few years rather than every month
(registry.stats.periods). Every count is recounted in the new layout, from the people's
timelines as registry.stats.tally.rebuild counts them; the downgrade recounts in the old one.

Revision ID: 0025_tally_years
Revises: 0024_roman_key
Create Date: 2026-12-05
"""
from collections import Counter
from datetime import date

import sqlalchemy as sa
from alembic import op

revision = "0025_tally_years"
down_revision = "0024_roman_key"
branch_labels = None
depends_on = None

# ---------------------------------------------------------------------------------------
# Frozen: registry.stats.tally's LAYOUT before and after this revision, and registry.vocab's
# slots as of it. Most significant first: level 2, dimension 3, period 1 (now 2), area 20,
# day 16, flow 2, category 4, gender 3, value 8.
_SHIFT_BEFORE = {"level": 57, "dimension": 54, "period": 53, "area": 33, "day": 17, "flow": 15,
                 "category": 11, "gender": 8, "value": 0}
_SHIFT = {"level": 58, "dimension": 55, "period": 53, "area": 33, "day": 17, "flow": 15,
          "category": 11, "gender": 8, "value": 0}
_PERIODS_BEFORE = (0, 1)  # day, month
_PERIODS = (0, 1, 2)  # day, month, year
_EPOCH = date(2000, 1, 1)
_FLOWS = {"arrived": 0, "left": 1, "moved_in": 2, "moved_out": 3}
_CATEGORIES = {"employee": 0, "micro_enterprise": 1, "self_employed": 2}
_GENDERS = {"female": 0, "male": 1}
_SECTORS = {"agriculture": 0, "manufacturing": 1, "construction": 2, "trade": 3, "transport": 4,
            "food_service": 5, "repair": 6, "personal_services": 7, "domestic_work": 8, "other": 9}
_CHANNELS = {"self": 0, "outreach": 1, "assisted": 2}
_AGE_BANDS = {"15-24": 0, "25-34": 1, "35-44": 2, "45-54": 3, "55-64": 4, "65+": 5}
_DIMENSIONS_AT = {0: (0, 1, 2, 3), 1: (0, 1, 2, 3), 2: (0,), 3: (0,)}  # total, sector, channel, age band
_BATCH = 200_000  # distinct keys held before they are added to the tally


def _age_band(birth, day):
    age = day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))
    if age >= 65:
        return "65+"
    low = max(15, age - (age - 5) % 10)
    return f"{low}-{low + 9}"


def _as_date(value):
    return date.fromisoformat(value) if isinstance(value, str) else value


def _flow_keys(flow, day, commune, category, gender, sector, channel, band, shift=_SHIFT, periods=_PERIODS):
    starts = (day, day.replace(day=1), day.replace(month=1, day=1))
    cell = (_FLOWS[flow] << shift["flow"]) | (_CATEGORIES[category] << shift["category"]) | (_GENDERS[gender] << shift["gender"])
    values = (0, _SECTORS[sector], _CHANNELS[channel], _AGE_BANDS[band])
    areas = (0, int(commune[:2]), int(commune[:4]), int(commune))
    for level, dimensions in _DIMENSIONS_AT.items():
        for dimension in dimensions:
            for period in periods:
                yield ((level << shift["level"]) | (dimension << shift["dimension"]) | (period << shift["period"])
                       | (areas[level] << shift["area"]) | ((starts[period] - _EPOCH).days << shift["day"]) | cell
                       | values[dimension])


def _keys(registered, commune, category, gender, sector, channel, band):
    """Keys of an actor counted as arrived on its registration date, in this revision's layout
    (`count_actors` of 0004 takes it: the migration tests count a database "as this revision
    would" with it)."""
    return _flow_keys("arrived", registered, commune, category, gender, sector, channel, band)


def _recount(bind, shift, periods):
    """Empty actor_tally and count every person's timeline into it, as
    registry.stats.tally.rebuild does: an active actor without segments arrives on its
    registration date; each segment comes in on its start with its in-flow and, once closed,
    goes out on its end with its out-flow (the age band: age on the segment's start). The
    actors are read as a stream and added every _BATCH distinct keys (upserts: batches add
    up), so memory stays flat at any size."""
    postgresql = bind.dialect.name == "postgresql"
    bind.execute(sa.text("TRUNCATE actor_tally" if postgresql else "DELETE FROM actor_tally"))
    tally = Counter()

    def add(keys, n):
        for key in keys:
            tally[key] += n
        if len(tally) >= _BATCH:
            _add(bind, tally, postgresql)
            tally.clear()

    stream = {"stream_results": True, "yield_per": 20_000}  # a server-side cursor on PostgreSQL
    for registered, commune, category, gender, sector, channel, birth, n in bind.execute(sa.text(
            "SELECT registered_on, commune_code, category, gender, sector, channel, date_of_birth, count(*)"
            " FROM actor WHERE status = 'active'"
            " AND NOT EXISTS (SELECT 1 FROM actor_segment s WHERE s.actor_id = actor.id)"
            " GROUP BY registered_on, commune_code, category, gender, sector, channel, date_of_birth"),
            execution_options=stream):
        registered = _as_date(registered)
        band = _age_band(_as_date(birth), registered)
        add(_flow_keys("arrived", registered, commune, category, gender, sector, channel, band, shift, periods), n)
    for start, end, commune, category, gender, sector, channel, birth, in_flow, out_flow in bind.execute(sa.text(
            "SELECT s.start, s.end_on, s.commune_code, s.category, a.gender, s.sector, a.channel, a.date_of_birth,"
            " s.in_flow, s.out_flow FROM actor_segment s JOIN actor a ON a.id = s.actor_id"), execution_options=stream):
        start = _as_date(start)
        band = _age_band(_as_date(birth), start)
        add(_flow_keys(in_flow, start, commune, category, gender, sector, channel, band, shift, periods), 1)
        if end is not None:
            add(_flow_keys(out_flow, _as_date(end), commune, category, gender, sector, channel, band, shift, periods), 1)
    _add(bind, tally, postgresql)


def _add(bind, tally, postgresql):
    """Add counts to the tally's rows (created when missing), in key order."""
    rows = sorted(tally.items())
    if not rows:
        return
    if postgresql:  # two array parameters: one statement
        bind.execute(sa.text("INSERT INTO actor_tally (key, n)"
                             " SELECT key, n FROM unnest(CAST(:keys AS bigint[]), CAST(:counts AS integer[])) AS t(key, n)"
                             " ORDER BY key ON CONFLICT (key) DO UPDATE SET n = actor_tally.n + excluded.n"),
                     {"keys": [key for key, _n in rows], "counts": [n for _key, n in rows]})
    else:
        bind.execute(sa.text("INSERT INTO actor_tally (key, n) VALUES (:key, :n)"
                             " ON CONFLICT (key) DO UPDATE SET n = actor_tally.n + excluded.n"),
                     [{"key": key, "n": n} for key, n in rows])


def upgrade():
    _recount(op.get_bind(), _SHIFT, _PERIODS)


def downgrade():
    _recount(op.get_bind(), _SHIFT_BEFORE, _PERIODS_BEFORE)
