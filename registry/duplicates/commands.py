"""`flask find-duplicates`: the whole registry searched for possible duplicates (cron), the
same scan as the benchmark; prints what it found, never a personal value."""
from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime, time, timezone

import click
from flask.cli import with_appcontext
from sqlalchemy import func, select

from registry import clock
from registry.actors.models import Actor
from registry.duplicates.scan import MAX_BLOCK, scan
from registry.events.services import record
from registry.extensions import db


@click.command("find-duplicates")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Only pairs with a registration stored on or after this date (YYYY-MM-DD); default: all.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as one JSON object.")
@with_appcontext
def find_duplicates_command(since: datetime | None, as_json: bool) -> None:
    """Search every active registration for possible duplicates and add them to the review
    queue (/staff/duplicates). Pairs already in the queue, or dismissed, are left as they are."""
    now = clock.now()
    since_id = 0
    if since is not None:
        start = datetime.combine(since.date(), time(), tzinfo=timezone.utc)
        since_id = db.session.scalar(select(func.min(Actor.id)).where(Actor.created_at >= start)) or -1
        db.session.commit()  # end that read: the scan reads on a connection of its own (no write lock held)
    if since_id == -1:
        report = None
    else:
        report = scan(db.session, now=now, since_id=since_id)
    figures = asdict(report) if report else {"read": 0, "candidates": 0, "found": 0, "new": 0, "closed": 0, "cut_blocks": 0, "seconds": 0.0}
    figures["seconds"] = round(figures["seconds"], 1)
    record(db.session, "duplicates_found", now=now, detail={"via": "command line", **figures,
                                                            "since": since.date().isoformat() if since else None})
    db.session.commit()
    if as_json:
        click.echo(json.dumps(figures))
        return
    click.echo(f"Read {figures['read']} active registrations in {figures['seconds']} s: {figures['candidates']} candidate"
               f" pairs, {figures['found']} possible duplicates, {figures['new']} new in the queue;"
               f" {figures['closed']} pairs closed (a registration no longer active)"
               + (f"; {figures['cut_blocks']} blocks too large were cut at {MAX_BLOCK} registrations" if figures["cut_blocks"] else ""))
