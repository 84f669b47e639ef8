"""Indexes for staff search (registry.records.search): phone, national ID, registration date,
import batch, and names by any part — a trigram GIN index on PostgreSQL (pg_trgm), a plain
B-tree on SQLite, which search scans instead of the wider table (an FTS5 trigram table was
measured and refused: +22 s per million rows imported for 60 ms saved; see the README).

Revision ID: 0011_search
Revises: 0014_actor_change_at
Create Date: 2026-12-04
"""
from alembic import op

revision = "0011_search"
down_revision = "0014_actor_change_at"
branch_labels = None
depends_on = None

PLAIN = (
    ("ix_actor_phone", ["phone"]),
    ("ix_actor_national_id", ["national_id"]),
    ("ix_actor_registered_on", ["registered_on", "id"]),
    ("ix_actor_import_batch_id", ["import_batch_id", "source_row"]),
)


def upgrade():
    for name, columns in PLAIN:
        op.create_index(name, "actor", columns)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.create_index("ix_actor_name_key", "actor", ["name_key"], postgresql_using="gin",
                        postgresql_ops={"name_key": "gin_trgm_ops"})
    else:
        op.create_index("ix_actor_name_key", "actor", ["name_key"])


def downgrade():
    op.drop_index("ix_actor_name_key", table_name="actor")
    for name, _columns in reversed(PLAIN):
        op.drop_index(name, table_name="actor")
