"""The history read by moment: the dashboard's "revised figures" note reads the changes made
since a period began (registry.actors.revisions), without scanning the whole history.

Revision ID: 0014_actor_change_at
Revises: 0010_actor_lifecycle
Create Date: 2026-12-04
"""
from alembic import op

revision = "0014_actor_change_at"
down_revision = "0010_actor_lifecycle"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_actor_change_at", "actor_change", ["at"])


def downgrade():
    op.drop_index("ix_actor_change_at", table_name="actor_change")
