"""Staff security: a session version per account (sign-out and disabling end every session),
temporary passwords after an admin reset, TOTP MFA with one-time recovery codes.

Revision ID: 0008_staff_security
Revises: 0007_visible_names
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

revision = "0008_staff_security"
down_revision = "0007_visible_names"
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN on both databases (no table rebuild): every new column is nullable or
    # has a default, so existing accounts keep working and enrol MFA at their next sign-in.
    op.add_column("staff_user", sa.Column("session_version", sa.Integer(), nullable=False, server_default="1"))
    op.add_column("staff_user", sa.Column("temporary_password_until", sa.DateTime(timezone=True), nullable=True))
    op.add_column("staff_user", sa.Column("mfa_secret", sa.String(length=64), nullable=True))
    op.add_column("staff_user", sa.Column("mfa_enrolled_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("staff_user", sa.Column("mfa_last_step", sa.Integer(), nullable=True))
    op.create_table(
        "staff_recovery_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_user_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=255), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["staff_user_id"], ["staff_user.id"],
                                name=op.f("fk_staff_recovery_code_staff_user_id_staff_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_recovery_code")),
    )
    op.create_index("ix_staff_recovery_code_staff_user_id", "staff_recovery_code", ["staff_user_id"])


def downgrade():
    op.drop_index("ix_staff_recovery_code_staff_user_id", table_name="staff_recovery_code")
    op.drop_table("staff_recovery_code")
    with op.batch_alter_table("staff_user") as batch:
        batch.drop_column("mfa_last_step")
        batch.drop_column("mfa_enrolled_at")
        batch.drop_column("mfa_secret")
        batch.drop_column("temporary_password_until")
        batch.drop_column("session_version")
