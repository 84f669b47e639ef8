"""Assisted registration: outreach staff register a person with them. The channel `assisted`
(slot 2 in the statistics; no recount, counts are stored by slot) and the member of staff
credited with it, `actor.assisted_by_id`.

SQLite cannot alter a constraint, so its actor table is rebuilt (batch mode); its partial
indexes are created again after the rebuild, spelled out here (frozen, as 0010 left them).
The audit (admins filter the event log by what an event is about): an index on the event's
subject, newest first.

Downgrade refuses while any registration is assisted: the old CHECK cannot hold it.

Revision ID: 0013_assisted
Revises: 0012_erasure
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

revision = "0013_assisted"
down_revision = "0012_erasure"
branch_labels = None
depends_on = None

_BEFORE = ("self", "outreach")
_AFTER = ("self", "outreach", "assisted")
_RETURNING = "status = 'deactivated' AND status_reason IN ('consent_withdrawn', 'deceased', 'left', 'other')"
_PARTIAL_INDEXES = (  # name, columns, condition, unique: the actor table's partial indexes as of 0010
    ("uq_actor_identity_national_id", ["category", "national_id"], "national_id IS NOT NULL AND status = 'active'", True),
    ("uq_actor_identity_contact", ["category", "phone", "date_of_birth", "name_key"],
     "national_id IS NULL AND status = 'active'", True),
    ("ix_actor_phone_with_national_id", ["category", "phone"], "national_id IS NOT NULL AND status = 'active'", False),
    ("ix_actor_returning_phone", ["category", "phone"], _RETURNING, False),
    ("ix_actor_returning_national_id", ["category", "national_id"], _RETURNING + " AND national_id IS NOT NULL", False),
)


def _one_of(column, values):
    return "(" + " OR ".join(f"{column} = '{v}'" for v in values) + ")"


def _partial_indexes(create):
    for name, columns, condition, unique in _PARTIAL_INDEXES:
        if create:
            where = sa.text(condition)
            op.create_index(name, "actor", columns, unique=unique, sqlite_where=where, postgresql_where=where)
        else:
            op.drop_index(name, table_name="actor")


def _sqlite():
    return op.get_bind().dialect.name == "sqlite"


def upgrade():
    if _sqlite():
        _partial_indexes(create=False)
    with op.batch_alter_table("actor", recreate="auto") as batch:
        batch.add_column(sa.Column("assisted_by_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_actor_assisted_by_id_staff_user"), "staff_user", ["assisted_by_id"], ["id"])
        batch.drop_constraint(op.f("ck_actor_channel"), type_="check")
        batch.create_check_constraint(op.f("ck_actor_channel"), _one_of("channel", _AFTER))
    if _sqlite():
        _partial_indexes(create=True)
    op.create_index("ix_event_subject_id", "event", ["subject", "id"])


def downgrade():
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT count(*) FROM actor WHERE channel = 'assisted'")).scalar():
        raise RuntimeError("registrations were made by outreach staff (channel 'assisted'): revision"
                           " 0014_actor_change_at cannot hold them; restore a backup from before 0013_assisted")
    op.drop_index("ix_event_subject_id", table_name="event")
    if _sqlite():
        _partial_indexes(create=False)
    with op.batch_alter_table("actor", recreate="auto") as batch:
        batch.drop_constraint(op.f("ck_actor_channel"), type_="check")
        batch.create_check_constraint(op.f("ck_actor_channel"), _one_of("channel", _BEFORE))
        batch.drop_constraint(op.f("fk_actor_assisted_by_id_staff_user"), type_="foreignkey")
        batch.drop_column("assisted_by_id")
    if _sqlite():
        _partial_indexes(create=True)
