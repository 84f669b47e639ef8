"""API tokens for programs that read the API (the ministry's DHIS2, scripts): the hash of each
token (never the token), its scopes, creator, expiry (a year at most) and revocation.

Revision ID: 0009_api_tokens
Revises: 0008_staff_security
Create Date: 2026-11-27
"""
import sqlalchemy as sa
from alembic import op

revision = "0009_api_tokens"
down_revision = "0008_staff_security"
branch_labels = None
depends_on = None

MAX_LIFETIME_SECONDS = 365 * 86400  # frozen copy of registry.tokens.models


def _lifetime_check() -> str:
    """At most a year between creation and expiry, in each database's date arithmetic (hours,
    not days, on PostgreSQL: a day interval follows the session's daylight-saving changes)."""
    if op.get_bind().dialect.name == "postgresql":
        return f"expires_at <= created_at + interval '{MAX_LIFETIME_SECONDS // 3600} hours'"
    return ("CAST(strftime('%s', expires_at) AS INTEGER) - CAST(strftime('%s', created_at) AS INTEGER)"
            f" <= {MAX_LIFETIME_SECONDS}")


def upgrade():
    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("public_id", sa.String(length=12), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("scope_statistics", sa.Boolean(), nullable=False),
        sa.Column("scope_exact_counts", sa.Boolean(), nullable=False),
        sa.Column("scope_dhis2", sa.Boolean(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by_id", sa.Integer(), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("length(name) >= 1 AND length(name) <= 80", name=op.f("ck_api_token_name")),
        sa.CheckConstraint("length(public_id) = 12", name=op.f("ck_api_token_public_id")),
        sa.CheckConstraint("length(token_hash) = 64", name=op.f("ck_api_token_token_hash")),
        sa.CheckConstraint("scope_statistics OR scope_exact_counts OR scope_dhis2", name=op.f("ck_api_token_some_scope")),
        sa.CheckConstraint("scope_statistics OR NOT scope_exact_counts",
                           name=op.f("ck_api_token_exact_counts_with_statistics")),
        sa.CheckConstraint("expires_at > created_at", name=op.f("ck_api_token_expires_after_creation")),
        sa.CheckConstraint(_lifetime_check(), name=op.f("ck_api_token_lifetime")),
        sa.CheckConstraint("revoked_by_id IS NULL OR revoked_at IS NOT NULL", name=op.f("ck_api_token_revoked_by_when_revoked")),
        sa.CheckConstraint("revoked_at IS NULL OR revoked_at >= created_at", name=op.f("ck_api_token_revoked_after_creation")),
        sa.ForeignKeyConstraint(["created_by_id"], ["staff_user.id"], name=op.f("fk_api_token_created_by_id_staff_user")),
        sa.ForeignKeyConstraint(["revoked_by_id"], ["staff_user.id"], name=op.f("fk_api_token_revoked_by_id_staff_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_token")),
        sa.UniqueConstraint("public_id", name=op.f("uq_api_token_public_id")),
    )
    op.create_index("ix_api_token_created_by_id", "api_token", ["created_by_id"])


def downgrade():
    op.drop_index("ix_api_token_created_by_id", table_name="api_token")
    op.drop_table("api_token")
