"""The duplicate review queue (registry.duplicates): `duplicate_pair`, one row per proposed
pair of registrations (lower id first, proposed once), with a score, reason codes and the
staff decision; no personal values. And `ix_actor_birth` (category, date of birth): the
registrations a new one is compared with. A plain CREATE INDEX on actor (no batch rebuild:
the FTS triggers of 0011 stay).

Revision ID: 0015_duplicates
Revises: 0011_search
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

revision = "0015_duplicates"
down_revision = "0011_search"
branch_labels = None
depends_on = None

STATUSES = ("pending", "deferred", "dismissed", "merged", "closed")
SOURCES = ("registration", "import", "scan", "migration")


def _one_of(column, values):
    return "(" + " OR ".join(f"{column} = '{v}'" for v in values) + ")"


def upgrade():
    actor_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "duplicate_pair",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("first_actor_id", actor_id, nullable=False),
        sa.Column("second_actor_id", actor_id, nullable=False),
        sa.Column("score", sa.SmallInteger(), nullable=False),
        sa.Column("reasons", sa.String(200), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("source", sa.String(12), nullable=False),
        sa.Column("province_code", sa.String(2), nullable=True),
        sa.Column("found_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["first_actor_id"], ["actor.id"], name=op.f("fk_duplicate_pair_first_actor_id_actor")),
        sa.ForeignKeyConstraint(["second_actor_id"], ["actor.id"], name=op.f("fk_duplicate_pair_second_actor_id_actor")),
        sa.ForeignKeyConstraint(["decided_by_id"], ["staff_user.id"], name=op.f("fk_duplicate_pair_decided_by_id_staff_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_duplicate_pair")),
        sa.UniqueConstraint("first_actor_id", "second_actor_id", name="uq_duplicate_pair_actors"),
        sa.CheckConstraint("first_actor_id < second_actor_id", name=op.f("ck_duplicate_pair_ordered")),
        sa.CheckConstraint("score BETWEEN 0 AND 100", name=op.f("ck_duplicate_pair_score")),
        sa.CheckConstraint(_one_of("status", STATUSES), name=op.f("ck_duplicate_pair_status")),
        sa.CheckConstraint(_one_of("source", SOURCES), name=op.f("ck_duplicate_pair_source")),
    )
    op.create_index("ix_duplicate_pair_queue", "duplicate_pair", ["status", "province_code", "id"])
    op.create_index("ix_duplicate_pair_second_actor_id", "duplicate_pair", ["second_actor_id"])
    op.create_index("ix_actor_birth", "actor", ["category", "date_of_birth"])


def downgrade():
    op.drop_index("ix_actor_birth", table_name="actor")
    op.drop_index("ix_duplicate_pair_second_actor_id", table_name="duplicate_pair")
    op.drop_index("ix_duplicate_pair_queue", table_name="duplicate_pair")
    op.drop_table("duplicate_pair")
