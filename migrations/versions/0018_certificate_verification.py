"""Certificates anyone can check: one random verification id per registration (what the QR
code names, never the registration number) and the key id of its latest certificate.

Revision ID: 0018_certificate_verification
Revises: 0017_change_requests
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

revision = "0018_certificate_verification"
down_revision = "0017_change_requests"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "certificate_verification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("verification_id", sa.String(length=16), nullable=False),
        sa.Column("key_id", sa.SmallInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("length(verification_id) = 16", name=op.f("ck_certificate_verification_verification_id")),
        sa.CheckConstraint("key_id >= 1 AND key_id <= 255", name=op.f("ck_certificate_verification_key_id")),
        sa.ForeignKeyConstraint(["actor_id"], ["actor.id"], name=op.f("fk_certificate_verification_actor_id_actor")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificate_verification")),
        sa.UniqueConstraint("actor_id", name=op.f("uq_certificate_verification_actor_id")),
        sa.UniqueConstraint("verification_id", name=op.f("uq_certificate_verification_verification_id")),
    )


def downgrade():
    op.drop_table("certificate_verification")
