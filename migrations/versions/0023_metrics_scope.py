"""API tokens get a `metrics` scope: reading /metrics (Prometheus) from another machine.

Existing tokens do not get it (false); the "some scope" check counts it. SQLite cannot alter
a constraint, so the table is rebuilt (batch mode); PostgreSQL swaps it.

Revision ID: 0023_metrics_scope
Revises: 0022_import_jobs
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

revision = "0023_metrics_scope"
down_revision = "0022_import_jobs"
branch_labels = None
depends_on = None

OLD_SCOPES = ("statistics", "exact_counts", "dhis2")  # frozen copies of registry.tokens.models.SCOPES
NEW_SCOPES = ("statistics", "exact_counts", "dhis2", "metrics")


def _some_scope(scopes):
    return " OR ".join(f"scope_{scope}" for scope in scopes)


def upgrade():
    with op.batch_alter_table("api_token", recreate="auto") as batch:
        batch.add_column(sa.Column("scope_metrics", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("api_token", recreate="auto") as batch:
        batch.alter_column("scope_metrics", server_default=None)
        batch.drop_constraint(op.f("ck_api_token_some_scope"), type_="check")
        batch.create_check_constraint(op.f("ck_api_token_some_scope"), _some_scope(NEW_SCOPES))


def downgrade():
    op.execute(sa.text("DELETE FROM api_token WHERE NOT (" + _some_scope(OLD_SCOPES) + ")"))
    with op.batch_alter_table("api_token", recreate="auto") as batch:
        batch.drop_constraint(op.f("ck_api_token_some_scope"), type_="check")
        batch.create_check_constraint(op.f("ck_api_token_some_scope"), _some_scope(OLD_SCOPES))
        batch.drop_column("scope_metrics")
