"""`flask --app registry actors …`: the record lifecycle for scripts and the ministry's data
team, thin over registry.actors.lifecycle (the same services the web forms call).

`actors` is one click group; other features add their commands to it (`find`, `show`)
with `@actors.command(...)` in their own module, imported by registry.cli. Every command
that changes data takes `--by EMAIL`: the account's province limit applies and the history
and the event log name it (via "cli"). Exit 1, with the reason in words, on any refusal.
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any, NoReturn

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from registry import clock
from registry.actors import lifecycle
from registry.actors.models import DEACTIVATION_REASONS, Actor
from registry.actors.numbers import format_number, normalise_number
from registry.actors.validation import describe
from registry.extensions import db
from registry.i18n import translate
from registry.staff.models import StaffUser
from registry.staff.services import find_by_email, normalise_email

TERMINAL_LOCALE = "en"
DATE = click.DateTime(formats=["%Y-%m-%d"])


@click.group("actors")
def actors() -> None:
    """Find, show and change registrations (corrections, deactivation, merging)."""


def staff_account(email: str, roles: tuple[str, ...] | None = None) -> StaffUser:
    """The active staff account behind --by, of one of `roles` when given (exit 1 otherwise):
    the command line grants no more than the web pages do."""
    user = find_by_email(db.session, email)
    if user is None or not user.active:
        raise click.ClickException(f"--by: no active staff account {normalise_email(email)}")
    if roles is not None and user.role not in roles:
        raise click.ClickException(f"--by: a {user.role} account may not do this ({' or '.join(roles)} only)")
    return user


def find_actor(typed: str) -> Actor:
    """A registration by its number, with or without dashes (check digit verified)."""
    number = normalise_number(typed)
    if number is None:
        raise click.ClickException(f"“{typed[:20]}” is not a registration number (10 digits, e.g. 0000-0012-34;"
                                   " check the last digit)")
    actor = db.session.scalar(select(Actor).where(Actor.registration_number == number))
    if actor is None:
        raise click.ClickException(f"no registration {format_number(number)}")
    return actor


def _english(message: str, **params: Any) -> str:
    return translate(message, TERMINAL_LOCALE, **params)


def _fail(error: Exception) -> NoReturn:
    db.session.rollback()
    if isinstance(error, lifecycle.ChangeRefused):
        lines = [describe(e, _english) for e in error.errors]
        raise click.ClickException("refused:\n  " + "\n  ".join(lines))
    if isinstance(error, lifecycle.ConflictingRegistration):
        other = f" {format_number(error.registration_number)}" if error.registration_number else ""
        raise click.ClickException(f"refused: the person would then be the same as registration{other}"
                                   f"{f' (province {error.province_code})' if error.province_code else ''};"
                                   " merge the two instead")
    if isinstance(error, lifecycle.OutOfScope):
        # The same words as a number that does not exist: a province-limited account learns nothing.
        raise click.ClickException(f"no registration {format_number(error.registration_number)}")
    raise error


def _done(actor: Actor, what: str, **extra: Any) -> None:
    db.session.commit()
    click.echo(json.dumps({"number": format_number(actor.registration_number), "status": actor.status, "done": what, **extra},
                          ensure_ascii=False))


@actors.command("correct")
@click.argument("number")
@click.option("--set", "settings", multiple=True, required=True, metavar="FIELD=VALUE",
              help="A field and its new value, as on the form or in an import file (repeat for several).")
@click.option("--reason", required=True, help="Why (kept in the history).")
@click.option("--by", "by_email", required=True, help="Email of the staff account making the change.")
@click.option("--effective", type=DATE, default=None,
              help="A change of circumstances from this date (YYYY-MM-DD); without it, a correction.")
@with_appcontext
def correct_command(number: str, settings: tuple[str, ...], reason: str, by_email: str, effective: datetime | None) -> None:
    """Correct a registration, or record a change of circumstances with --effective."""
    by = staff_account(by_email, lifecycle.CHANGE_ROLES)
    values: dict[str, str] = {}
    for setting in settings:
        name, sep, value = setting.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"“{setting[:40]}”: write FIELD=VALUE", param_hint="--set")
        values[name.strip()] = value
    actor = find_actor(number)
    try:
        changed = lifecycle.correct(db.session, actor, values, reason, by, effective=effective.date() if effective else None,
                                    via="cli", now=clock.now())
    except (lifecycle.ChangeRefused, lifecycle.ConflictingRegistration, lifecycle.OutOfScope) as error:
        _fail(error)
    _done(actor, "change" if effective else "correction", fields=changed)


@actors.command("deactivate")
@click.argument("number")
@click.option("--reason", "reason_code", type=click.Choice(DEACTIVATION_REASONS), required=True,
              help="error and duplicate revise past figures; the others count from --effective.")
@click.option("--effective", type=DATE, required=True, help="The date it takes effect (YYYY-MM-DD).")
@click.option("--by", "by_email", required=True, help="Email of the staff account making the change.")
@click.option("--note", default=None, help="What happened (required with --reason other).")
@with_appcontext
def deactivate_command(number: str, reason_code: str, effective: datetime, by_email: str, note: str | None) -> None:
    """Deactivate a registration from a date."""
    by = staff_account(by_email, lifecycle.CHANGE_ROLES)
    actor = find_actor(number)
    try:
        lifecycle.deactivate(db.session, actor, reason_code, effective.date(), by, note=note, via="cli", now=clock.now())
    except (lifecycle.ChangeRefused, lifecycle.OutOfScope) as error:
        _fail(error)
    _done(actor, "deactivation")


@actors.command("reactivate")
@click.argument("number")
@click.option("--reason", required=True, help="Why (kept in the history).")
@click.option("--by", "by_email", required=True, help="Email of the staff account making the change.")
@click.option("--effective", type=DATE, default=None, help="Active again from this date (YYYY-MM-DD; default today).")
@with_appcontext
def reactivate_command(number: str, reason: str, by_email: str, effective: datetime | None) -> None:
    """Reactivate a deactivated registration (the person keeps the number)."""
    by = staff_account(by_email, lifecycle.CHANGE_ROLES)
    actor = find_actor(number)
    try:
        lifecycle.reactivate(db.session, actor, reason, by, effective=effective.date() if effective else None,
                             via="cli", now=clock.now())
    except (lifecycle.ChangeRefused, lifecycle.ConflictingRegistration, lifecycle.OutOfScope) as error:
        _fail(error)
    _done(actor, "reactivation")


@actors.command("merge")
@click.argument("keep")
@click.argument("duplicate")
@click.option("--reason", required=True, help="Why (kept in the history).")
@click.option("--by", "by_email", required=True, help="Email of the staff account making the change.")
@with_appcontext
def merge_command(keep: str, duplicate: str, reason: str, by_email: str) -> None:
    """Merge DUPLICATE into KEEP: DUPLICATE stops counting and its number resolves to KEEP."""
    by = staff_account(by_email, lifecycle.CHANGE_ROLES)
    kept, merged = find_actor(keep), find_actor(duplicate)
    try:
        lifecycle.merge(db.session, kept, merged, reason, by, via="cli", now=clock.now())
    except (lifecycle.ChangeRefused, lifecycle.OutOfScope) as error:
        _fail(error)
    _done(merged, "merge", into=format_number(kept.registration_number))
