"""Every registration stores its romanised name key (`actor.roman_key`), and the duplicate
look-up probes (category, date of birth, name key) and (category, date of birth, romanised
key) instead of reading everyone of the category born that day (0015's `ix_actor_birth`),
which grew with the registry: ~340 people a day at 10 million registrations.

The keys of the stored names are computed here with registry.actors.romanise (the same
function the validation core uses from now on), a batch of ids at a time; erased records
keep the empty key. Measured on PostgreSQL at 10 million registrations: README "The
registry at 10 million registrations".

Revision ID: 0024_roman_key
Revises: 0023_metrics_scope
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

from registry.actors.romanise import roman_key

revision = "0024_roman_key"
down_revision = "0023_metrics_scope"
branch_labels = None
depends_on = None

BATCH = 20_000
ERASED_NAME = "[erased]"  # frozen copy of registry.actors.erasure.ERASED_NAME


def upgrade():
    op.add_column("actor", sa.Column("roman_key", sa.String(200), nullable=False, server_default=""))
    connection = op.get_bind()
    postgres = connection.dialect.name == "postgresql"
    keys: dict[str, str] = {}
    last = 0
    while True:
        rows = connection.execute(sa.text("SELECT id, full_name FROM actor WHERE id > :last ORDER BY id LIMIT :n"),
                                  {"last": last, "n": BATCH}).all()
        if not rows:
            break
        last = rows[-1][0]
        values = []
        for actor_id, name in rows:
            if name == ERASED_NAME:
                continue
            key = keys.get(name)
            if key is None:
                key = keys[name] = roman_key(name)
            if key:
                values.append((actor_id, key))
        if not values:
            continue
        if postgres:
            ids, found = zip(*values)
            connection.execute(sa.text(
                "UPDATE actor SET roman_key = v.key FROM unnest(CAST(:ids AS bigint[]), CAST(:keys AS text[])) AS v(id, key)"
                " WHERE actor.id = v.id"), {"ids": list(ids), "keys": list(found)})
        else:
            connection.execute(sa.text("UPDATE actor SET roman_key = :key WHERE id = :id"),
                               [{"id": actor_id, "key": key} for actor_id, key in values])
        if len(keys) > 1_000_000:
            keys.clear()
    # Each leads with its key: without statistics, indexes sharing (category, date_of_birth)
    # tied, and the name probe read a whole day of births over the romanised key's index.
    op.create_index("ix_actor_birth_name", "actor", ["name_key", "category", "date_of_birth"])
    op.create_index("ix_actor_birth_roman", "actor", ["roman_key", "category", "date_of_birth"])
    op.drop_index("ix_actor_birth", table_name="actor")
    if postgres:
        # Statistics for the new key and indexes now: without them the planner served the
        # name probe from the trigram index (GIN answers = too) and read 400,000 pages.
        op.execute("ANALYZE actor")


def downgrade():
    op.create_index("ix_actor_birth", "actor", ["category", "date_of_birth"])
    op.drop_index("ix_actor_birth_roman", table_name="actor")
    op.drop_index("ix_actor_birth_name", table_name="actor")
    with op.batch_alter_table("actor", recreate="never") as batch:
        batch.drop_column("roman_key")
