"""The field tool's submission a registration was imported from (KoboToolbox `_uuid`, ODK
instance id), one registration per submission: a re-export of the same submissions is
recognised as already imported, whatever was edited in it.

Revision ID: 0019_actor_source_ref
Revises: 0018_certificate_verification
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

revision = "0019_actor_source_ref"
down_revision = "0018_certificate_verification"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("actor", sa.Column("source_ref", sa.String(length=64), nullable=True))
    op.create_index("uq_actor_source_ref", "actor", ["source_ref"], unique=True,
                    sqlite_where=sa.text("source_ref IS NOT NULL"), postgresql_where=sa.text("source_ref IS NOT NULL"))


def downgrade():
    op.drop_index("uq_actor_source_ref", table_name="actor")
    op.drop_column("actor", "source_ref")  # SQLite 3.35+ drops a column in place (its index is gone)
