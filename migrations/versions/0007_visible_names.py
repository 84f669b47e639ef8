"""Names without invisible characters: every stored name and name key recomputed with the
default-ignorable code points removed and NFC applied; rows that would then be the same
person as another are reported and left as they were, for the duplicate review.

Revision ID: 0007_visible_names
Revises: 0006_event_log
Create Date: 2026-11-26
"""
import logging
import re
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "0007_visible_names"
down_revision = "0006_event_log"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

# ---------------------------------------------------------------------------------------
# Frozen: registry.actors.normalise and the name parts of validation as of this revision.
_DEFAULT_IGNORABLE = (
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160), (0x17B4, 0x17B5),
    (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x206F), (0x3164, 0x3164),
    (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF),
)
_REMOVE = {code: None for low, high in _DEFAULT_IGNORABLE for code in range(low, high + 1)}
_SPACES = re.compile(r"\s+")
_IDENTITY_IGNORED = str.maketrans("", "", " .-'’")


def _full_name(name):
    return _SPACES.sub(" ", unicodedata.normalize("NFC", name.translate(_REMOVE))).strip()


def _name_key(full_name):
    return unicodedata.normalize("NFKC", full_name).casefold().translate(_IDENTITY_IGNORED)


def upgrade():
    bind = op.get_bind()
    non_ascii = "full_name GLOB '*[^ -~]*'" if bind.dialect.name == "sqlite" else "full_name ~ '[^ -~]'"
    rows = bind.execute(sa.text(
        "SELECT id, registration_number, category, phone, date_of_birth, national_id, full_name, name_key"
        f" FROM actor WHERE {non_ascii}")).all()
    # The contact identity of every actor without a national ID, as the unique index sees it.
    changed = []
    for row in rows:
        full_name = _full_name(row.full_name)
        name_key = _name_key(full_name)
        if (full_name, name_key) != (row.full_name, row.name_key):
            changed.append((row, full_name, name_key))
    conflicts = 0
    for row, full_name, name_key in changed:
        if row.national_id is None:
            other = bind.execute(sa.text(
                "SELECT registration_number FROM actor WHERE national_id IS NULL AND id <> :id"
                " AND category = :category AND phone = :phone AND date_of_birth = :birth AND name_key = :key"),
                {"id": row.id, "category": row.category, "phone": row.phone, "birth": row.date_of_birth,
                 "key": name_key}).first()
            if other is not None:
                conflicts += 1
                log.warning("identity conflict: registration %s is the same person as %s once invisible"
                            " characters are removed; both kept unchanged for the duplicate review",
                            row.registration_number, other.registration_number)
                continue
        bind.execute(sa.text("UPDATE actor SET full_name = :name, name_key = :key WHERE id = :id"),
                     {"name": full_name, "key": name_key, "id": row.id})
    log.info("visible names: %s of %s non-ASCII names recomputed, %s conflicts reported",
             len(changed) - conflicts, len(rows), conflicts)


def downgrade():
    # The invisible characters removed are gone; names stay as they are (they were shown
    # the same before), which is still a valid state for the previous revision.
    pass
