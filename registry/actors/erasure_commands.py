"""`flask --app registry purge`: erase registrations whose consent was withdrawn once the
retention period has passed (registry.actors.erasure). Meant for a daily timer; idempotent
(an erased registration is never due again); prints counts only, never a person's data."""
from __future__ import annotations

from datetime import datetime

import click
from flask import current_app
from flask.cli import with_appcontext

from registry import clock
from registry.actors.erasure import purge
from registry.extensions import db


@click.command("purge")
@click.option("--dry-run", is_flag=True, help="Count the registrations due for erasure; change nothing.")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Erase as if today were this date (YYYY-MM-DD; default: today in Cambodia).")
@with_appcontext
def purge_command(dry_run: bool, today: datetime | None) -> None:
    """Erase the personal details of registrations whose consent was withdrawn at least
    REGISTRY_ERASURE_RETENTION_DAYS days ago (the counts stay exactly as they were)."""
    retention = int(current_app.config.get("ERASURE_RETENTION_DAYS", 0))
    day = today.date() if today else clock.today()
    due, result = purge(db.session, day, retention, dry_run=dry_run)
    if dry_run or result is None:
        db.session.rollback()
        click.echo(f"Due for erasure: {due} registrations (retention {retention} days, as of {day.isoformat()}); nothing changed")
        return
    db.session.commit()
    click.echo(f"Erased {result.erased} registrations (retention {retention} days, as of {day.isoformat()});"
               f" redacted {result.changes_redacted} history entries, {result.events_redacted} events"
               f" and {result.import_rows_redacted} import report rows; deleted {result.requests_deleted} change requests")
