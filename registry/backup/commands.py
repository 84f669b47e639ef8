"""`flask --app registry backup PATH`, `restore PATH` and `check-backup PATH` (README "Backups").

They print names, counts and digests only, never a row, a URL's password or a key; each
failure exits 1 with the reason."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from flask import current_app
from flask.cli import with_appcontext

from registry import clock
from registry.backup.archive import BackupRefused
from registry.backup.services import Restored, check_backup, make_backup, restore_backup
from registry.events.services import record
from registry.extensions import db

KEYS_APART = ("Not in the backup: SECRET_KEY, REGISTRY_DISCLOSURE_KEY and REGISTRY_VERIFICATION_SECRET"
              " (instance/ or the environment). Back them up apart (README \"Backups\").")


def _scripts() -> ScriptDirectory:
    return ScriptDirectory(current_app.extensions["migrate"].directory)


def _head() -> str:
    head = _scripts().get_current_head()
    assert head is not None
    return head


def _known(revision: str) -> bool:
    try:
        return _scripts().get_revision(revision) is not None
    except CommandError:
        return False


def _figures(manifest: dict[str, Any]) -> str:
    tables = manifest["tables"]
    tally = manifest.get("tally") or {}
    line = (f"{len(tables)} tables; {tables.get('actor', 0)} actors, {tables.get('event', 0)} events;"
            f" tally {tally.get('rows', 0)} cells (SHA-256 {str(tally.get('sha256', ''))[:12]}…)")
    if manifest.get("active"):
        line += f"; {manifest['active']['total']} active on {manifest['active']['as_of']}"
    return line


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=True, path_type=Path))
@click.option("--force", is_flag=True, help="Replace PATH if it exists.")
@click.option("--json", "as_json", is_flag=True, help="Print the manifest (counts and digests) as one JSON object.")
@with_appcontext
def backup_command(path: Path, force: bool, as_json: bool) -> None:
    """Write the whole database to PATH (one file, mode 600) while the app runs: SQLite's
    online backup, or pg_dump's custom format; with a manifest that restore checks."""
    head, now = _head(), clock.now()
    try:
        written = make_backup(db.session, path, head=head, now=now, force=force)
    except BackupRefused as refused:
        raise click.ClickException(str(refused)) from None
    except OSError as error:  # a full disk, a folder we may not write to
        raise click.ClickException(f"{error.strerror}: {error.filename or path}") from None
    manifest = written.manifest
    if manifest["revision"] == head:  # the event table as this code knows it
        record(db.session, "backup_made", now=now, subject="database",
               detail={"file": written.path.name, "bytes": written.bytes, "revision": manifest["revision"],
                       "sha256": manifest["payload"]["sha256"], "via": "command line"})
        db.session.commit()
    if as_json:
        click.echo(json.dumps(manifest, sort_keys=True))
        return
    click.echo(f"Backup written: {written.path} ({written.bytes} bytes, {manifest['database']},"
               f" revision {manifest['revision']})")
    click.echo(_figures(manifest))
    click.echo(KEYS_APART)


@click.command("check-backup")
@click.argument("path", type=click.Path(path_type=Path))
@with_appcontext
def check_backup_command(path: Path) -> None:
    """Read a backup through and check it is whole (its SHA-256); restores nothing."""
    try:
        manifest = check_backup(path)
    except BackupRefused as refused:
        raise click.ClickException(str(refused)) from None
    click.echo(f"{path.name}: whole. Made {manifest['made_at']} from {manifest['database']},"
               f" revision {manifest['revision']}")
    click.echo(_figures(manifest))


@click.command("restore")
@click.argument("path", type=click.Path(path_type=Path))
@with_appcontext
def restore_command(path: Path) -> None:
    """Restore PATH into the app's database, which must be empty (no tables), then check every
    table's row count and the tally against the backup, and the tally against a recount."""
    head = _head()
    try:
        restored = restore_backup(db.session, path, head=head, known=_known)
    except BackupRefused as refused:
        raise click.ClickException(str(refused)) from None
    except OSError as error:
        raise click.ClickException(f"{error.strerror}: {error.filename or path}") from None
    manifest = restored.manifest
    click.echo(f"Restored {path.name} (made {manifest['made_at']}, {manifest['database']},"
               f" revision {manifest['revision']}) into the empty database")
    _verdict(restored)
    if restored.found["revision"] == head:
        record(db.session, "backup_restored", now=clock.now(), subject="database",
               detail={"file": path.name, "made_at": manifest["made_at"], "revision": manifest["revision"],
                       "sha256": manifest["payload"]["sha256"], "via": "command line"})
        db.session.commit()
        return
    click.echo(f"The database is at revision {restored.found['revision']}; this code is at {head}."
               " Next: flask --app registry db upgrade (the recount of the tally needs this code's schema;"
               " run `flask --app registry rebuild-tally` only if the statistics look wrong after it).")


def _verdict(restored: Restored) -> None:
    if restored.problems:
        raise click.ClickException("the restored database is not what the backup holds: "
                                   + "; ".join(restored.problems)
                                   + ". Do not use it: drop it, and restore another copy into a new empty database.")
    found = restored.found
    click.echo(f"Checked: {len(found['tables'])} tables hold the backup's row counts;"
               f" the tally is the backup's ({(found['tally'] or {}).get('rows', 0)} cells)")
    if restored.recounted is False:
        raise click.ClickException("the tally is the backup's but differs from a recount of the actors (it was"
                                   " already off where the backup was made): run flask --app registry rebuild-tally")
    if restored.recounted:
        click.echo("Checked: the tally equals a recount of the actors")
