"""Maintained registration counts (actor_tally, filled from existing actors) and the
ministry's annual indicators with their audit trail.

Revision ID: 0004_tally_and_indicators
Revises: 0003_checks_without_in_lists
Create Date: 2026-11-25
"""
from collections import Counter
from datetime import date

import sqlalchemy as sa
from alembic import op

revision = "0004_tally_and_indicators"
down_revision = "0003_checks_without_in_lists"
branch_labels = None
depends_on = None

SECTIONS = ("industry", "sme", "standards", "metrology", "accreditation", "laboratory", "water",
            "informal_economy", "institutional")


def _one_of(column, values):
    return "(" + " OR ".join(f"{column} = '{value}'" for value in values) + ")"


def upgrade():
    op.create_table(
        "actor_tally",
        sa.Column("key", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=False, nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.CheckConstraint("n >= 0", name=op.f("ck_actor_tally_n")),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_actor_tally")),
    )
    op.create_table(
        "indicator",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=48), nullable=False),
        sa.Column("year", sa.SmallInteger(), nullable=False),
        sa.Column("section", sa.String(length=20), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("unit", sa.String(length=24), nullable=False),
        sa.Column("label_en", sa.String(length=200), nullable=False),
        sa.Column("label_km", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.Column("derived", sa.Boolean(), nullable=False),
        sa.Column("derivation", sa.String(length=300), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(_one_of("section", SECTIONS), name=op.f("ck_indicator_section")),
        sa.CheckConstraint("year BETWEEN 1990 AND 2100", name=op.f("ck_indicator_year")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_indicator")),
        sa.UniqueConstraint("code", "year", name=op.f("uq_indicator_code_year")),
    )
    op.create_table(
        "indicator_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("indicator_id", sa.Integer(), nullable=False),
        sa.Column("changed_by_id", sa.Integer(), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("old_value", sa.Float(), nullable=False),
        sa.Column("new_value", sa.Float(), nullable=False),
        sa.Column("note", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(["changed_by_id"], ["staff_user.id"], name=op.f("fk_indicator_change_changed_by_id_staff_user")),
        sa.ForeignKeyConstraint(["indicator_id"], ["indicator.id"], name=op.f("fk_indicator_change_indicator_id_indicator")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_indicator_change")),
    )
    op.create_index(op.f("ix_indicator_change_indicator_id"), "indicator_change", ["indicator_id"])

    count_actors(op.get_bind())


def downgrade():
    op.drop_index(op.f("ix_indicator_change_indicator_id"), table_name="indicator_change")
    op.drop_table("indicator_change")
    op.drop_table("indicator")
    op.drop_table("actor_tally")


# ---------------------------------------------------------------------------------------
# Frozen: the tally key as this revision wrote it (positions in the vocabularies of the
# time), so this migration never changes when the application's code does. Revision 0005
# rebuilds the tally with permanent slots; its downgrade calls this function again.
_EPOCH = date(2000, 1, 1)
_CATEGORIES = ("employee", "micro_enterprise", "self_employed")
_GENDERS = ("female", "male")
_VALUES = (
    ("",),
    ("agriculture", "manufacturing", "construction", "trade", "transport", "food_service", "repair",
     "personal_services", "domestic_work", "other"),
    ("self", "outreach"),
    ("15-24", "25-34", "35-44", "45-54", "55-64", "65+"),
)  # dimensions: total, sector, channel, age band
_DIMENSIONS_AT = {0: 4, 1: 4, 2: 1, 3: 1}  # level -> how many dimensions it keeps


def _age_band(birth, day):
    """The age band of the statistics: age on the day registered."""
    age = day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))
    if age >= 65:
        return "65+"
    low = max(15, age - (age - 5) % 10)
    return f"{low}-{low + 9}"


def _as_date(value):
    return date.fromisoformat(value) if isinstance(value, str) else value


def count_actors(bind, keys=None):
    """Empty actor_tally and count every stored actor into it: under the keys that
    `keys(registered_on, commune, category, gender, sector, channel, age_band)` gives,
    this revision's layout by default (later revisions pass their own)."""
    keys = keys or _keys
    bind.execute(sa.text("DELETE FROM actor_tally"))
    rows = bind.execute(sa.text(
        "SELECT registered_on, commune_code, category, gender, sector, channel, date_of_birth, count(*)"
        " FROM actor GROUP BY registered_on, commune_code, category, gender, sector, channel, date_of_birth"
    ))
    tally = Counter()
    for registered, commune, category, gender, sector, channel, birth, n in rows:
        registered = _as_date(registered)
        for key in keys(registered, commune, category, gender, sector, channel, _age_band(_as_date(birth), registered)):
            tally[key] += n
    if tally:
        bind.execute(sa.text("INSERT INTO actor_tally (key, n) VALUES (:key, :n)"),
                     [{"key": key, "n": n} for key, n in sorted(tally.items())])


def _keys(registered, commune, category, gender, sector, channel, band):
    days = ((registered - _EPOCH).days, (registered.replace(day=1) - _EPOCH).days)
    cell = (_CATEGORIES.index(category) * 2 + _GENDERS.index(gender)) * 32
    values = (0, _VALUES[1].index(sector), _VALUES[2].index(channel), _VALUES[3].index(band))
    areas = (0, int(commune[:2]), int(commune[:4]), int(commune))
    for level, dimensions in _DIMENSIONS_AT.items():
        for dimension in range(dimensions):
            for period in (0, 1):
                head = ((level * 4 + dimension) * 2 + period) * 1_000_000 + areas[level]
                yield (head * 65_536 + days[period]) * 256 + cell + values[dimension]
