"""Erasure after consent is withdrawn: `actor.erased_at`, and the one change the append-only
tables now accept — a redaction.

The event log (0006) and the record history (0010) refused every UPDATE and DELETE. They
still refuse DELETE and TRUNCATE, and every UPDATE except one that only replaces values by
the marker "[redacted]" (registry.actors.erasure):

- `event`: every column the same, `detail` an object with the same keys, each value either
  unchanged or the marker;
- `actor_change`: every column the same except `old` and `new`, each unchanged or the
  marker, and `reason`, unchanged, the marker, or (a deactivation's "code: note") the code
  followed by ": [redacted]".

Nobody can rewrite what happened, who did it, when or to which registration; a redaction
can only take words away. The downgrade restores the strict triggers (redacted rows stay
redacted) and drops the column.

Revision ID: 0012_erasure
Revises: 0014_actor_change_at
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

revision = "0012_erasure"
down_revision = "0014_actor_change_at"
branch_labels = None
depends_on = None

MARKER = "[redacted]"
_EVENT_REFUSAL = "the event log is append-only (a redaction may only replace values of detail by the marker)"
_CHANGE_REFUSAL = "the history of a registration is append-only (a redaction may only replace old, new and reason by the marker)"
_OLD_EVENT_REFUSAL = "the event log is append-only"
_OLD_CHANGE_REFUSAL = "the history of a registration is append-only"


def _change_allowed(same: str, position: str) -> str:
    """The actor_change redaction rule; `same` is the null-safe equality, `position` the
    function finding ': ' in the old reason."""
    columns = ("id", "actor_id", "at", "staff_user_id", "via", "kind", "field", "effective", "other_actor_id")
    kept = " AND ".join(f"NEW.{c} {same} OLD.{c}" for c in columns)
    return (f"{kept}"
            f" AND (NEW.old {same} OLD.old OR NEW.old = '{MARKER}')"
            f" AND (NEW.new {same} OLD.new OR NEW.new = '{MARKER}')"
            f" AND (NEW.reason = OLD.reason OR NEW.reason = '{MARKER}'"
            f" OR ({position} > 0 AND NEW.reason = substr(OLD.reason, 1, {position} + 1) || '{MARKER}'))")


def _event_kept(same: str) -> str:
    return " AND ".join(f"NEW.{c} {same} OLD.{c}" for c in ("id", "at", "kind", "staff_user_id", "ip", "subject"))


def upgrade():
    op.add_column("actor", sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE FUNCTION event_redaction_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF {_event_kept("IS NOT DISTINCT FROM")}
                 AND json_typeof(OLD.detail) = 'object' AND json_typeof(NEW.detail) = 'object'
                 AND NOT EXISTS (
                   SELECT 1 FROM json_each(OLD.detail) o FULL JOIN json_each(NEW.detail) n ON n.key = o.key
                   WHERE o.key IS NULL OR n.key IS NULL
                      OR (n.value::jsonb <> o.value::jsonb AND n.value::jsonb <> '"{MARKER}"'::jsonb))
              THEN RETURN NEW; END IF;
              RAISE EXCEPTION '{_EVENT_REFUSAL}';
            END $$""")
        op.execute("DROP TRIGGER event_no_update ON event")
        op.execute("CREATE TRIGGER event_no_update BEFORE UPDATE ON event"
                   " FOR EACH ROW EXECUTE FUNCTION event_redaction_only()")
        op.execute("CREATE TRIGGER event_no_delete BEFORE DELETE ON event"
                   " FOR EACH ROW EXECUTE FUNCTION event_append_only()")
        op.execute(f"""
            CREATE FUNCTION actor_change_redaction_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF {_change_allowed("IS NOT DISTINCT FROM", "position(': ' in OLD.reason)")}
              THEN RETURN NEW; END IF;
              RAISE EXCEPTION '{_CHANGE_REFUSAL}';
            END $$""")
        op.execute("DROP TRIGGER actor_change_no_update ON actor_change")
        op.execute("CREATE TRIGGER actor_change_no_update BEFORE UPDATE ON actor_change"
                   " FOR EACH ROW EXECUTE FUNCTION actor_change_redaction_only()")
        op.execute("CREATE TRIGGER actor_change_no_delete BEFORE DELETE ON actor_change"
                   " FOR EACH ROW EXECUTE FUNCTION actor_change_append_only()")
        return
    # SQLite: a WHEN that is NULL does not fire the trigger, so every test is coalesced to false.
    event_allowed = (
        f"{_event_kept('IS')}"
        " AND json_type(OLD.detail) = 'object' AND json_type(NEW.detail) = 'object'"
        " AND (SELECT count(*) FROM json_each(OLD.detail)) = (SELECT count(*) FROM json_each(NEW.detail))"
        " AND NOT EXISTS (SELECT 1 FROM json_each(NEW.detail) AS n WHERE NOT EXISTS ("
        "   SELECT 1 FROM json_each(OLD.detail) AS o WHERE o.key = n.key"
        f"   AND ((o.type = n.type AND o.value IS n.value) OR (n.type = 'text' AND n.value = '{MARKER}'))))"
    )
    op.execute("DROP TRIGGER event_no_update")
    op.execute(f"CREATE TRIGGER event_no_update BEFORE UPDATE ON event WHEN coalesce(({event_allowed}), 0) = 0"
               f" BEGIN SELECT RAISE(ABORT, '{_EVENT_REFUSAL}'); END")
    change_allowed = _change_allowed("IS", "instr(OLD.reason, ': ')")
    op.execute("DROP TRIGGER actor_change_no_update")
    op.execute(f"CREATE TRIGGER actor_change_no_update BEFORE UPDATE ON actor_change"
               f" WHEN coalesce(({change_allowed}), 0) = 0"
               f" BEGIN SELECT RAISE(ABORT, '{_CHANGE_REFUSAL}'); END")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in ("event", "actor_change"):
            op.execute(f"DROP TRIGGER {table}_no_delete ON {table}")
            op.execute(f"DROP TRIGGER {table}_no_update ON {table}")
            op.execute(f"DROP FUNCTION {table}_redaction_only()")
            op.execute(f"CREATE TRIGGER {table}_no_update BEFORE UPDATE OR DELETE ON {table}"
                       f" FOR EACH ROW EXECUTE FUNCTION {table}_append_only()")
    else:
        for table, refusal in (("event", _OLD_EVENT_REFUSAL), ("actor_change", _OLD_CHANGE_REFUSAL)):
            op.execute(f"DROP TRIGGER {table}_no_update")
            op.execute(f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table}"
                       f" BEGIN SELECT RAISE(ABORT, '{refusal}'); END")
    op.drop_column("actor", "erased_at")  # SQLite 3.35+ drops a column in place (the partial indexes stay)
