"""Recompute every stored name key with the Khmer-aware identity name.

`identity_name` now puts Khmer marks in canonical order (registry.actors.khmer), so a name
typed in another order that renders the same gets the same key. Stored keys were made by
the old rule: each is recomputed here. Keys of names in Latin letters cannot change (their
rule is the same), so only the others are looked at, in id order.

Two active registrations that now have the same identity (same category, phone, date of
birth and name key, at least one without national ID) are the same person registered
twice. The migration neither fails on the unique index nor merges them: the earlier one
takes the new key, the later one keeps its old key, and the pair goes to the duplicate
review queue (reason `renormalised`, score 100) for staff to merge. Erased registrations
(a tombstone name) are left alone.

This migration computes keys with the application's `identity_name`, as it is when the
migration runs: a later change of that rule ships with its own migration doing the same
(registry/actors/normalise.py says so), so the last one run leaves every key current.
Downgrading keeps the canonical keys (the earlier rule reads them as any other name).

Revision ID: 0016_khmer_name_keys
Revises: 0015_duplicates
Create Date: 2026-12-04
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

from registry.actors.normalise import identity_name

revision = "0016_khmer_name_keys"
down_revision = "0015_duplicates"
branch_labels = None
depends_on = None

REASON = "renormalised"
log = logging.getLogger("alembic.runtime.migration")


def _changed(connection: sa.Connection) -> list[tuple[int, str]]:
    """(id, new key) of every registration whose key the new rule changes, in id order."""
    non_ascii = "full_name GLOB '*[^ -~]*'" if connection.dialect.name == "sqlite" else "full_name ~ '[^ -~]'"
    changed = []
    rows = connection.execute(sa.text(
        f"SELECT id, full_name, name_key FROM actor WHERE {non_ascii} AND erased_at IS NULL ORDER BY id"
    ).execution_options(yield_per=5000))  # on the statement: the connection's options would outlive it
    for actor_id, full_name, name_key in rows:
        key = identity_name(full_name)
        if key != name_key:
            changed.append((actor_id, key))
    return changed


def upgrade():
    connection = op.get_bind()
    now = datetime.now(timezone.utc)
    changed, kept, queued = _changed(connection), 0, 0
    for actor_id, key in changed:
        me = connection.execute(sa.text(
            "SELECT category, phone, date_of_birth, national_id, status, province_code FROM actor WHERE id = :id"),
            {"id": actor_id}).one()
        same: list[tuple[int, str]] = []  # (id, province) of active registrations this one now duplicates
        keep_old_key = False
        if me.status == "active":
            others = connection.execute(sa.text(
                "SELECT id, full_name, name_key, national_id, province_code FROM actor"
                " WHERE category = :category AND phone = :phone AND date_of_birth = :born AND id <> :id"
                " AND status = 'active' AND erased_at IS NULL"),
                {"category": me.category, "phone": me.phone, "born": me.date_of_birth, "id": actor_id})
            for other in others:
                if identity_name(other.full_name) != key or (me.national_id and other.national_id):
                    continue  # another name, or two people told apart by their national IDs
                same.append((other.id, other.province_code))
                if me.national_id is None and other.national_id is None and other.name_key == key:
                    keep_old_key = True  # the unique identity index: the other one holds the key
        kept += keep_old_key
        if not keep_old_key:
            connection.execute(sa.text("UPDATE actor SET name_key = :key WHERE id = :id"), {"key": key, "id": actor_id})
        for other_id, province in same:
            first, second = sorted((actor_id, other_id))
            exists = connection.execute(sa.text(
                "SELECT 1 FROM duplicate_pair WHERE first_actor_id = :first AND second_actor_id = :second"),
                {"first": first, "second": second}).first()
            if exists is None:
                queued += 1
                connection.execute(sa.text(
                    "INSERT INTO duplicate_pair (first_actor_id, second_actor_id, score, reasons, status, source,"
                    " province_code, found_at) VALUES (:first, :second, 100, :reason, 'pending', 'migration',"
                    " :province, :now)"),
                    {"first": first, "second": second, "reason": REASON,
                     "province": province if province == me.province_code else None, "now": now})
    log.info("Khmer name keys: %s recomputed, %s kept for the duplicate review, %s pairs queued",
             len(changed) - kept, kept, queued)


def downgrade():
    pass  # the canonical keys stay: the earlier rule compares them like any other name
