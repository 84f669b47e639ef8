"""Thin command-line entry points over the same services the web uses."""
from __future__ import annotations

import json
from datetime import datetime

import click
from flask.cli import with_appcontext

from registry.extensions import db
from registry.stats.queries import summary


@click.command("stats")
@click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Count actors registered on or before this date (YYYY-MM-DD).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@with_appcontext
def stats_command(as_of: datetime | None, as_json: bool) -> None:
    """Count registered actors, in total and by category."""
    figures = summary(db.session, as_of.date() if as_of else None)
    if as_json:
        click.echo(json.dumps(figures, ensure_ascii=False))
        return
    click.echo(f"As of: {figures['as_of'] or 'all dates'}")
    click.echo(f"Total: {figures['total']}")
    for category, count in figures["by_category"].items():  # type: ignore[union-attr]
        click.echo(f"  {category}: {count}")


commands = [stats_command]
