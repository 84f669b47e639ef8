"""`flask --app registry actors find` and `actors show`: search and the record for scripts,
over the same services as /staff/actors. Without --by: full scope, audited as the command
line (an event with no account, via "cli"); with --by: that account's province limit, and a
registration outside it answers like one that does not exist."""
from __future__ import annotations

import json
from datetime import date
from typing import Any

import click
from flask.cli import with_appcontext

from registry import clock
from registry.actors.commands import actors, staff_account
from registry.actors.models import STATUSES, Actor
from registry.actors.numbers import format_number, normalise_number
from registry.actors.visibility import visible_actor
from registry.events.services import record
from registry.extensions import db
from registry.i18n import translate
from registry.records.history import history
from registry.records.search import COUNT_CAP, Query, SearchError, search
from registry.staff.models import StaffUser

LIMIT = 200  # rows a find prints at most; the count says how many matched


def _viewer(by_email: str | None) -> StaffUser | None:
    return staff_account(by_email) if by_email else None


def _audit(event_kind: str, by: StaffUser | None, *, subject: str | None = None, **detail: Any) -> None:
    record(db.session, event_kind, now=clock.now(), by_id=by.id if by else None, subject=subject, detail={"via": "cli", **detail})


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def summary(actor: Actor) -> dict[str, Any]:
    return {"number": format_number(actor.registration_number), "category": actor.category, "full_name": actor.full_name,
            "status": actor.status, "province": actor.province_code, "registered_on": actor.registered_on.isoformat()}


@actors.command("find")
@click.argument("query")
@click.option("--province", default=None, help="Only this province (its 2-digit code).")
@click.option("--status", type=click.Choice(STATUSES), default=None)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON list.")
@click.option("--by", "by_email", default=None, help="Search as this staff account (its province limit applies).")
@with_appcontext
def find_command(query: str, province: str | None, status: str | None, as_json: bool, by_email: str | None) -> None:
    """Find registrations by name, number, national ID or phone."""
    by = _viewer(by_email)
    wanted = Query(text=query, province_code=province or None, status=status)
    try:
        page = search(db.session, wanted, viewer_province=by.province_code if by else None, limit=LIMIT)
    except SearchError as error:
        raise click.ClickException(translate(error.message, "en", **error.params)) from None
    _audit("actor_searched", by, **wanted.as_detail(), count=page.count, kind=page.terms.kind)
    db.session.commit()
    found = [summary(actor) for actor in page.rows]
    if as_json:
        click.echo(json.dumps(found, ensure_ascii=False))
        return
    for row in found:
        click.echo(f"{row['number']}  {row['status']:<11}  {row['province']}  {row['registered_on']}  {row['full_name']}")
    click.echo(f"{'more than ' + str(COUNT_CAP) if page.more_than_cap else page.count} found")


def _by_number(typed: str, by: StaffUser | None) -> Actor:
    """The registration numbered `typed` that the account may see; "no registration" alike
    when it does not exist and when it is elsewhere (registry.actors.visibility)."""
    number = normalise_number(typed)
    if number is None:
        raise click.ClickException(f"“{typed[:20]}” is not a registration number (10 digits, e.g. 0000-0012-34;"
                                   " check the last digit)")
    actor = visible_actor(db.session, number, by)
    if actor is None:
        raise click.ClickException(f"no registration {format_number(number)}")
    return actor


@actors.command("show")
@click.argument("number")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--by", "by_email", default=None, help="Show as this staff account (its province limit applies).")
@with_appcontext
def show_command(number: str, as_json: bool, by_email: str | None) -> None:
    """Show a registration: every field, its status and its history."""
    by = _viewer(by_email)
    actor = _by_number(number, by)
    _audit("actor_viewed", by, subject=f"actor {actor.id}")
    db.session.commit()
    survivor = db.session.get(Actor, actor.merged_into_id) if actor.merged_into_id else None
    shown = {**summary(actor), "gender": actor.gender, "date_of_birth": actor.date_of_birth.isoformat(),
             "national_id": actor.national_id, "phone": actor.phone, "district": actor.district_code,
             "commune": actor.commune_code, "sector": actor.sector, "business_name": actor.business_name,
             "workers": actor.workers, "channel": actor.channel,
             "import_batch": actor.import_batch_id, "source_row": actor.source_row,
             "status": {"code": actor.status, "reason": actor.status_reason, "note": actor.status_note,
                        "effective": _day(actor.status_effective),
                        "merged_into": format_number(survivor.registration_number) if survivor else None},
             "history": [{"at": e.at.isoformat(), "by": e.by or e.via, "kind": e.kind, "field": e.field, "old": e.old,
                          "new": e.new, "reason": e.reason, "effective": _day(e.effective)} for e in history(db.session, actor)]}
    if as_json:
        click.echo(json.dumps(shown, ensure_ascii=False, default=str))
        return
    for key, value in shown.items():
        if key != "history":
            click.echo(f"{key}: {value}")
    for entry in shown["history"]:
        click.echo(f"{entry['at']}  {entry['by']}  {entry['kind']}  {entry['field']}: {entry['old']} -> {entry['new']}  ({entry['reason']})")

