"""The event log: one append-only table of security and audit events (the database refuses
UPDATE and DELETE on it).

Revision ID: 0006_event_log
Revises: 0005_tally_slot_layout
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

revision = "0006_event_log"
down_revision = "0005_tally_slot_layout"
branch_labels = None
depends_on = None

_REFUSAL = "the event log is append-only"


def upgrade():
    op.create_table(
        "event",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("staff_user_id", sa.Integer(), nullable=True),
        sa.Column("ip", sa.String(length=45), nullable=True),
        sa.Column("subject", sa.String(length=80), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["staff_user_id"], ["staff_user.id"], name=op.f("fk_event_staff_user_id_staff_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event")),
    )
    op.create_index("ix_event_kind_at", "event", ["kind", "at"])
    op.create_index("ix_event_staff_user_id_at", "event", ["staff_user_id", "at"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE FUNCTION event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION '{_REFUSAL}'; END $$""")
        op.execute("CREATE TRIGGER event_no_update BEFORE UPDATE OR DELETE ON event"
                   " FOR EACH ROW EXECUTE FUNCTION event_append_only()")
        op.execute("CREATE TRIGGER event_no_truncate BEFORE TRUNCATE ON event"
                   " FOR EACH STATEMENT EXECUTE FUNCTION event_append_only()")
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER event_no_{action.lower()} BEFORE {action} ON event"
                       f" BEGIN SELECT RAISE(ABORT, '{_REFUSAL}'); END")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER event_no_truncate ON event")
        op.execute("DROP TRIGGER event_no_update ON event")
        op.execute("DROP FUNCTION event_append_only()")
    else:
        op.execute("DROP TRIGGER event_no_update")
        op.execute("DROP TRIGGER event_no_delete")
    op.drop_index("ix_event_staff_user_id_at", table_name="event")
    op.drop_index("ix_event_kind_at", table_name="event")
    op.drop_table("event")
