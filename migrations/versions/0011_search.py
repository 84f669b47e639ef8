"""Indexes for staff search (registry.records.search): phone, national ID, registration date,
import batch, and names by any part: a trigram GIN index on PostgreSQL (pg_trgm); on SQLite an
FTS5 trigram table over name_key (external content, no positions), kept by triggers when a
name is corrected or a row deleted and by registry.actors.name_index when rows are inserted,
plus a plain B-tree on name_key that a part shorter than three letters is read over.
A migration that rebuilds the actor table on SQLite (batch mode) must create the two
triggers again.

Revision ID: 0011_search
Revises: 0013_assisted
Create Date: 2026-12-04
"""
from alembic import op

revision = "0011_search"
down_revision = "0013_assisted"
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
        op.execute("CREATE VIRTUAL TABLE actor_name USING fts5(name_key, content='actor', content_rowid='id',"
                    " tokenize='trigram', detail='none')")
        op.execute("INSERT INTO actor_name(rowid, name_key) SELECT id, name_key FROM actor")
        op.execute("CREATE TRIGGER actor_name_update AFTER UPDATE OF name_key ON actor BEGIN"
                   " INSERT INTO actor_name(actor_name, rowid, name_key) VALUES ('delete', old.id, old.name_key);"
                   " INSERT INTO actor_name(rowid, name_key) VALUES (new.id, new.name_key); END")
        op.execute("CREATE TRIGGER actor_name_delete AFTER DELETE ON actor BEGIN"
                   " INSERT INTO actor_name(actor_name, rowid, name_key) VALUES ('delete', old.id, old.name_key); END")


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER actor_name_delete")
        op.execute("DROP TRIGGER actor_name_update")
        op.execute("DROP TABLE actor_name")
    op.drop_index("ix_actor_name_key", table_name="actor")
    for name, _columns in reversed(PLAIN):
        op.drop_index(name, table_name="actor")
