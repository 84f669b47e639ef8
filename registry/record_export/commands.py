"""`flask --app registry actors export NUMBER --format json|pdf --output FILE --by EMAIL`: the
same export as the staff page, for the account named (its province limit applies; the
export is in the event log, via "cli")."""
from __future__ import annotations

import json
from pathlib import Path

import click
from flask.cli import with_appcontext

from registry import clock
from registry.actors.commands import actors, find_actor, staff_account
from registry.actors.lifecycle import OutOfScope, check_scope
from registry.actors.numbers import format_number
from registry.extensions import db
from registry.i18n import DEFAULT_LOCALE, LOCALES
from registry.record_export.pdf import build_record_pdf
from registry.record_export.services import FORMATS, personal_record, recorded

EXPORT_ROLES = ("outreach", "admin")


@actors.command("export")
@click.argument("number")
@click.option("--format", "fmt", type=click.Choice(FORMATS), required=True, help="json or pdf.")
@click.option("--output", type=click.Path(dir_okay=False, writable=True, path_type=Path), required=True,
              help="The file to write (created with mode 0600: it holds personal data).")
@click.option("--by", "email", required=True, help="The staff account asking (outreach or admin; its province limit applies).")
@click.option("--lang", type=click.Choice(LOCALES), default=DEFAULT_LOCALE, show_default=True,
              help="Language of the labels.")
@with_appcontext
def export_command(number: str, fmt: str, output: Path, email: str, lang: str) -> None:
    """Write what the registry holds about one person (every field, status, history, staff access)."""
    user = staff_account(email)
    if user.role not in EXPORT_ROLES:
        raise click.ClickException(f"--by: a {user.role} account may not export personal records (outreach or admin)")
    actor = find_actor(number)
    try:
        check_scope(user, actor)
    except OutOfScope:  # the same words as a number that does not exist
        raise click.ClickException(f"no registration {format_number(actor.registration_number)}") from None
    now = clock.now()
    content = personal_record(db.session, actor, lang, now=now)
    body = build_record_pdf(content) if fmt == "pdf" else json.dumps(content, ensure_ascii=False, indent=2).encode()
    recorded(db.session, actor, fmt, user.id, via="cli", now=now)
    output.touch(mode=0o600)
    output.chmod(0o600)
    output.write_bytes(body)
    db.session.commit()
    click.echo(json.dumps({"number": content["registration_number"], "format": fmt, "bytes": len(body),
                           "output": str(output)}))
