"""Maintained registration counts (actor_tally, filled from existing actors) and the
ministry's annual indicators with their audit trail.

Revision ID: 0004_tally_and_indicators
Revises: 0003_checks_without_in_lists
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

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

    # Count the actors already registered (the same code keeps the tally from now on).
    from registry.stats.tally import rebuild

    session = Session(bind=op.get_bind())
    rebuild(session)
    session.flush()


def downgrade():
    op.drop_index(op.f("ix_indicator_change_indicator_id"), table_name="indicator_change")
    op.drop_table("indicator_change")
    op.drop_table("indicator")
    op.drop_table("actor_tally")
