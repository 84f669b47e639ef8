"""The record lifecycle: an actor's status (active, deactivated with a reason and the date it
takes effect, merged into another), identity indexes over active registrations only, the
timeline the statistics count (actor_segment), the append-only history (actor_change), and
a tally key whose flow field holds four flows (arrived, left, moved in, moved out): every
count is recounted in the new layout.

Downgrade refuses while any registration is not active: the old schema cannot say so, and
its identity indexes would not hold (a person deactivated as an error may have registered
again).

Revision ID: 0010_actor_lifecycle
Revises: 0009_api_tokens
Create Date: 2026-12-04
"""
import importlib.util
from datetime import date
from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa
from alembic import context, op

revision = "0010_actor_lifecycle"
down_revision = "0009_api_tokens"
branch_labels = None
depends_on = None

_REFUSAL = "the history of a registration is append-only"
_REASONS = ("error", "duplicate", "consent_withdrawn", "deceased", "left", "other")
_RETURNING = "status = 'deactivated' AND status_reason IN ('consent_withdrawn', 'deceased', 'left', 'other')"
_IDENTITY = (  # name, columns, condition before this revision
    ("uq_actor_identity_national_id", ["category", "national_id"], "national_id IS NOT NULL", True),
    ("uq_actor_identity_contact", ["category", "phone", "date_of_birth", "name_key"], "national_id IS NULL", True),
    ("ix_actor_phone_with_national_id", ["category", "phone"], "national_id IS NOT NULL", False),
)

# ---------------------------------------------------------------------------------------
# Frozen: registry.stats.tally's LAYOUT as of this revision (flow widened to 2 bits):
# level 2, dimension 3, period 1, area 20, day 16, flow 2, category 4, gender 3, value 8.
# Slots as in 0005_tally_slot_layout (unchanged since). Nothing has left yet at this
# revision: every actor counts as arrived (flow 0) on its registration date.
_SHIFT = {"level": 57, "dimension": 54, "period": 53, "area": 33, "day": 17, "flow": 15,
          "category": 11, "gender": 8, "value": 0}


def _one_of(column, values):
    return "(" + " OR ".join(f"{column} = '{v}'" for v in values) + ")"


@lru_cache(maxsize=None)
def _layout_0005():
    """0005's frozen slots, loaded from its file: `_keys` also runs outside an alembic run
    (the migration tests count a database "as this revision would" with it)."""
    spec = importlib.util.spec_from_file_location("_frozen_0005", Path(__file__).with_name("0005_tally_slot_layout.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _keys(registered, commune, category, gender, sector, channel, band):
    layout = _layout_0005()
    epoch = date(2000, 1, 1)
    days = ((registered - epoch).days, (registered.replace(day=1) - epoch).days)
    cell = (layout._CATEGORIES[category] << _SHIFT["category"]) | (layout._GENDERS[gender] << _SHIFT["gender"])
    values = (0, layout._SECTORS[sector], layout._CHANNELS[channel], layout._AGE_BANDS[band])
    areas = (0, int(commune[:2]), int(commune[:4]), int(commune))
    for level, dimensions in layout._DIMENSIONS_AT.items():
        for dimension in dimensions:
            for period in (0, 1):
                yield ((level << _SHIFT["level"]) | (dimension << _SHIFT["dimension"]) | (period << _SHIFT["period"])
                       | (areas[level] << _SHIFT["area"]) | (days[period] << _SHIFT["day"]) | cell | values[dimension])


def _count(keys=None):
    context.script.get_revision("0004_tally_and_indicators").module.count_actors(op.get_bind(), keys)


def _identity_indexes(active_only):
    for name, columns, condition, unique in _IDENTITY:
        op.drop_index(name, table_name="actor")
        where = sa.text(f"{condition} AND status = 'active'" if active_only else condition)
        op.create_index(name, "actor", columns, unique=unique, sqlite_where=where, postgresql_where=where)


def upgrade():
    with op.batch_alter_table("actor", recreate="auto") as batch:
        batch.add_column(sa.Column("status", sa.String(12), server_default="active", nullable=False))
        batch.add_column(sa.Column("status_reason", sa.String(20), nullable=True))
        batch.add_column(sa.Column("status_note", sa.String(500), nullable=True))
        batch.add_column(sa.Column("status_effective", sa.Date(), nullable=True))
        batch.add_column(sa.Column("merged_into_id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), nullable=True))
        batch.create_foreign_key(op.f("fk_actor_merged_into_id_actor"), "actor", ["merged_into_id"], ["id"])
        batch.create_check_constraint(op.f("ck_actor_status"), _one_of("status", ("active", "deactivated", "merged")))
        batch.create_check_constraint(op.f("ck_actor_status_reason"),
                                      "(status = 'active' AND status_reason IS NULL)"
                                      f" OR (status = 'deactivated' AND ({_one_of('status_reason', _REASONS)}))"
                                      " OR (status = 'merged' AND status_reason IS NULL)")
        batch.create_check_constraint(op.f("ck_actor_merged_into"), "(status = 'merged') = (merged_into_id IS NOT NULL)")
        batch.create_check_constraint(op.f("ck_actor_merged_into_other"), "merged_into_id IS NULL OR merged_into_id <> id")
    _identity_indexes(active_only=True)
    op.create_index("ix_actor_returning_phone", "actor", ["category", "phone"],
                    sqlite_where=sa.text(_RETURNING), postgresql_where=sa.text(_RETURNING))
    returning_nid = sa.text(_RETURNING + " AND national_id IS NOT NULL")
    op.create_index("ix_actor_returning_national_id", "actor", ["category", "national_id"],
                    sqlite_where=returning_nid, postgresql_where=returning_nid)

    big = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "actor_segment",
        sa.Column("id", big, nullable=False),
        sa.Column("actor_id", big, nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("end_on", sa.Date(), nullable=True),
        sa.Column("commune_code", sa.String(6), nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("sector", sa.String(20), nullable=False),
        sa.Column("in_flow", sa.String(10), nullable=False),
        sa.Column("out_flow", sa.String(10), nullable=True),
        sa.CheckConstraint("in_flow = 'arrived' OR in_flow = 'moved_in'", name=op.f("ck_actor_segment_in_flow")),
        sa.CheckConstraint("(end_on IS NULL AND out_flow IS NULL) OR (end_on >= start"
                           " AND (out_flow = 'left' OR out_flow = 'moved_out'))", name=op.f("ck_actor_segment_out_flow")),
        sa.ForeignKeyConstraint(["actor_id"], ["actor.id"], name=op.f("fk_actor_segment_actor_id_actor")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_actor_segment")),
    )
    op.create_index("ix_actor_segment_actor_id", "actor_segment", ["actor_id"])
    op.create_table(
        "actor_change",
        sa.Column("id", big, nullable=False),
        sa.Column("actor_id", big, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("staff_user_id", sa.Integer(), nullable=True),
        sa.Column("via", sa.String(12), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("field", sa.String(40), nullable=True),
        sa.Column("old", sa.String(500), nullable=True),
        sa.Column("new", sa.String(500), nullable=True),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("effective", sa.Date(), nullable=True),
        sa.Column("other_actor_id", big, nullable=True),
        sa.CheckConstraint(_one_of("kind", ("correction", "change", "deactivation", "reactivation", "merge")),
                           name=op.f("ck_actor_change_kind")),
        sa.CheckConstraint(_one_of("via", ("web", "cli", "system")), name=op.f("ck_actor_change_via")),
        sa.CheckConstraint("length(reason) >= 1", name=op.f("ck_actor_change_reason")),
        sa.ForeignKeyConstraint(["actor_id"], ["actor.id"], name=op.f("fk_actor_change_actor_id_actor")),
        sa.ForeignKeyConstraint(["other_actor_id"], ["actor.id"], name=op.f("fk_actor_change_other_actor_id_actor")),
        sa.ForeignKeyConstraint(["staff_user_id"], ["staff_user.id"], name=op.f("fk_actor_change_staff_user_id_staff_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_actor_change")),
    )
    op.create_index("ix_actor_change_actor_id_id", "actor_change", ["actor_id", "id"])
    # Append-only, as the event log (0006_event_log): the database refuses UPDATE and DELETE.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE FUNCTION actor_change_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION '{_REFUSAL}'; END $$""")
        op.execute("CREATE TRIGGER actor_change_no_update BEFORE UPDATE OR DELETE ON actor_change"
                   " FOR EACH ROW EXECUTE FUNCTION actor_change_append_only()")
        op.execute("CREATE TRIGGER actor_change_no_truncate BEFORE TRUNCATE ON actor_change"
                   " FOR EACH STATEMENT EXECUTE FUNCTION actor_change_append_only()")
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER actor_change_no_{action.lower()} BEFORE {action} ON actor_change"
                       f" BEGIN SELECT RAISE(ABORT, '{_REFUSAL}'); END")
    _count(_keys)


def downgrade():
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT count(*) FROM actor WHERE status <> 'active'")).scalar():
        raise RuntimeError("registrations are deactivated or merged: revision 0009 cannot hold them;"
                           " reactivate them or restore a backup from before 0010_actor_lifecycle")
    if bind.dialect.name == "postgresql":
        op.execute("DROP TRIGGER actor_change_no_truncate ON actor_change")
        op.execute("DROP TRIGGER actor_change_no_update ON actor_change")
        op.execute("DROP FUNCTION actor_change_append_only()")
    else:
        op.execute("DROP TRIGGER actor_change_no_update")
        op.execute("DROP TRIGGER actor_change_no_delete")
    op.drop_index("ix_actor_change_actor_id_id", table_name="actor_change")
    op.drop_table("actor_change")
    op.drop_index("ix_actor_segment_actor_id", table_name="actor_segment")
    op.drop_table("actor_segment")
    op.drop_index("ix_actor_returning_national_id", table_name="actor")
    op.drop_index("ix_actor_returning_phone", table_name="actor")
    _identity_indexes(active_only=False)
    with op.batch_alter_table("actor", recreate="auto") as batch:
        for name in ("ck_actor_merged_into_other", "ck_actor_merged_into", "ck_actor_status_reason", "ck_actor_status"):
            batch.drop_constraint(op.f(name), type_="check")
        batch.drop_constraint(op.f("fk_actor_merged_into_id_actor"), type_="foreignkey")
        for column in ("merged_into_id", "status_effective", "status_note", "status_reason", "status"):
            batch.drop_column(column)
    # Back to 0005's layout (one flow bit): the frozen keys of that revision.
    _count(context.script.get_revision("0005_tally_slot_layout").module._keys)
