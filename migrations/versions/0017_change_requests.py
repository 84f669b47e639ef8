"""Self-service change requests (registry.change_requests): a worker's request to change their
registration or withdraw consent, waiting for staff of their province. At most one pending
request per registration (a partial unique index, on both databases).

Revision ID: 0017_change_requests
Revises: 0016_khmer_name_keys
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

revision = "0017_change_requests"
down_revision = "0016_khmer_name_keys"
branch_labels = None
depends_on = None


def _one_of(column, values):
    return "(" + " OR ".join(f"{column} = '{v}'" for v in values) + ")"


def upgrade():
    big = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "change_request",
        sa.Column("id", big, nullable=False),
        sa.Column("actor_id", big, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("requested", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("province_code", sa.String(2), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decision_reason", sa.String(500), nullable=True),
        sa.Column("actor_change_id", big, nullable=True),
        sa.CheckConstraint(_one_of("kind", ("change", "withdraw_consent")), name=op.f("ck_change_request_kind")),
        sa.CheckConstraint(_one_of("status", ("pending", "approved", "rejected", "cancelled")),
                           name=op.f("ck_change_request_status")),
        sa.CheckConstraint("(kind = 'withdraw_consent') = (requested IS NULL)", name=op.f("ck_change_request_requested")),
        sa.CheckConstraint("(status = 'pending') = (decided_at IS NULL)", name=op.f("ck_change_request_decided")),
        sa.CheckConstraint("status <> 'rejected' OR coalesce(length(decision_reason), 0) >= 1", name=op.f("ck_change_request_reject_reason")),
        sa.CheckConstraint("length(province_code) = 2", name=op.f("ck_change_request_province_code")),
        sa.ForeignKeyConstraint(["actor_id"], ["actor.id"], name=op.f("fk_change_request_actor_id_actor")),
        sa.ForeignKeyConstraint(["decided_by_id"], ["staff_user.id"], name=op.f("fk_change_request_decided_by_id_staff_user")),
        sa.ForeignKeyConstraint(["actor_change_id"], ["actor_change.id"], name=op.f("fk_change_request_actor_change_id_actor_change")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_request")),
    )
    pending = sa.text("status = 'pending'")
    op.create_index("uq_change_request_pending", "change_request", ["actor_id"], unique=True,
                    sqlite_where=pending, postgresql_where=pending)
    op.create_index("ix_change_request_actor_id_id", "change_request", ["actor_id", "id"])
    op.create_index("ix_change_request_status_id", "change_request", ["status", "id"])


def downgrade():
    op.drop_table("change_request")
