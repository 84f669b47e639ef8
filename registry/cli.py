"""Thin command-line entry points over the same services the web uses."""
from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from redis.exceptions import RedisError
from sqlalchemy import select

from registry import clock
from registry.actors.commands import actors
from registry.actors.erasure_commands import purge_command
from registry.backup.commands import backup_command, check_backup_command, restore_command
from registry.duplicates.commands import find_duplicates_command
from registry.record_export import commands as _record_export_commands  # noqa: F401  (adds `actors export`)
from registry.records import commands as _record_commands  # noqa: F401  (adds `actors find` and `actors show`)
from registry.events.services import record
from registry.extensions import db
from registry.i18n import DEFAULT_LOCALE, LOCALES, translate
from registry.imports.headers import tool_columns
from registry.imports.models import ImportBatch
from registry.imports.reading import UnusableFile
from registry.imports.report import report_rows
from registry.imports.runner import BatchBusy, read_limits, run_import, upload_folder
from registry.imports.mapping_cli import chosen_mapping, needs_mapping_text
from registry.imports.mappings import summary as mapping_summary
from registry.imports.services import LegacyFontText, NeedsMapping, create_batch
from registry.imports.uploads import purge_uploads, save_upload
from registry.imports.jobs import enqueue_import, requeue_lost
from registry.jobs.queue import uses_queue
from registry.jobs.worker import run_worker
from registry.config import private_folder
from registry.spreadsheets import csv_chunks
from registry.staff.models import ROLES, StaffUser
from registry.staff import services as staff
from registry.staff.services import StaffError, create_user, normalise_email
from registry.indicators import services as indicators
from registry.stats.queries import summary
from registry.stats.tally import rebuild
from registry.tokens import services as tokens
from registry.verification.commands import verification_keys_command

TERMINAL_LOCALE = "en"  # what the commands print for operators; the reports they write follow --lang


@click.command("stats")
@click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Count actors active on this date: registered on or before it and not deactivated by then (YYYY-MM-DD).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@with_appcontext
def stats_command(as_of: datetime | None, as_json: bool) -> None:
    """Count active registered actors, in total and by category ("active as of the date")."""
    figures = summary(db.session, as_of.date() if as_of else None)
    if as_json:
        click.echo(json.dumps(figures, ensure_ascii=False))
        return
    click.echo(f"As of: {figures['as_of'] or 'all dates'}")
    click.echo(f"Total: {figures['total']}")
    for category, count in figures["by_category"].items():  # type: ignore[union-attr]
        click.echo(f"  {category}: {count}")


@click.command("load-indicators")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=False)
@click.option("--if-empty", is_flag=True, help="Load only when no indicators are stored yet (first run).")
@with_appcontext
def load_indicators_command(path: Path | None, if_empty: bool) -> None:
    """Load the ministry's annual indicators from a CSV (default: the dataset shipped with the app)."""
    try:
        if if_empty and path is None:
            result = indicators.load_if_empty(db.session, now=clock.now())
        else:
            result = indicators.load_file(db.session, path or indicators.DATASET, now=clock.now())
        db.session.commit()
    except indicators.IndicatorFileError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    if result is None:
        click.echo("Indicators already loaded; nothing to do.")
        return
    click.echo(f"Indicators: {result.added} added, {result.changed} changed (audited), {result.unchanged} unchanged")


@click.command("rebuild-tally")
@with_appcontext
def rebuild_tally_command() -> None:
    """Recount the maintained statistics from the actor table (a repair; normally never needed)."""
    counted = rebuild(db.session)
    db.session.commit()
    click.echo(f"Tally rebuilt from {counted} actors")


@click.command("create-user")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--province", "province_code", default=None, help="Limit the account to one province (2-digit code).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input instead of prompting.")
@with_appcontext
def create_user_command(email: str, role: str, province_code: str | None, password_stdin: bool) -> None:
    """Create a staff account (no default accounts or passwords exist)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = create_user(db.session, email, password, role, province_code, now=clock.now())
        record(db.session, "account_created", now=clock.now(), subject=f"staff_user {user.id}",
               detail={"email": user.email, "role": user.role, "province": user.province_code, "via": "command line"})
        db.session.commit()
    except StaffError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    click.echo(f"Created {user.role} account {user.email}" + (f" (province {user.province_code})" if user.province_code else ""))


def _account(email: str) -> StaffUser:
    user = staff.find_by_email(db.session, email)
    if user is None:
        raise click.ClickException(f"no staff account {normalise_email(email)}")
    return user


def _recorded(kind: str, user: StaffUser) -> None:
    record(db.session, kind, now=clock.now(), subject=f"staff_user {user.id}",
           detail={"email": user.email, "via": "command line"})
    db.session.commit()


@click.command("reset-password")
@click.argument("email")
@with_appcontext
def reset_password_command(email: str) -> None:
    """Give an account a temporary password (printed once; valid 72 hours, to be changed at the
    next sign-in) and end all its sessions. Its authenticator app stays (see reset-mfa)."""
    user = _account(email)
    password = staff.reset_password(db.session, user, now=clock.now())
    _recorded("password_reset", user)
    click.echo(f"Temporary password for {user.email} (valid 72 hours, shown once): {password}")


@click.command("reset-mfa")
@click.argument("email")
@with_appcontext
def reset_mfa_command(email: str) -> None:
    """Forget an account's authenticator app and recovery codes (a lost phone) and end all its
    sessions: the user sets up the app again at their next sign-in."""
    user = _account(email)
    staff.reset_mfa(db.session, user)
    _recorded("mfa_reset", user)
    click.echo(f"Authenticator app of {user.email} reset; they set it up again at their next sign-in")


@click.command("disable-user")
@click.argument("email")
@with_appcontext
def disable_user_command(email: str) -> None:
    """Disable an account: sign-in refused and every session ended at once."""
    user = _account(email)
    staff.set_active(db.session, user, False)
    _recorded("account_disabled", user)
    click.echo(f"Disabled {user.email}; its sessions have ended")


@click.command("enable-user")
@click.argument("email")
@with_appcontext
def enable_user_command(email: str) -> None:
    """Enable a disabled account again."""
    user = _account(email)
    staff.set_active(db.session, user, True)
    _recorded("account_enabled", user)
    click.echo(f"Enabled {user.email}")


@click.command("revoke-token")
@click.argument("token")
@with_appcontext
def revoke_token_command(token: str) -> None:
    """Revoke an API token at once, by its number or the identifier /staff/tokens shows (ier_…)."""
    found = tokens.find_token(db.session, token)
    if found is None:
        raise click.ClickException("no such API token: give its number or its identifier (ier_ and 12 characters)")
    if not tokens.revoke_token(db.session, found, by_id=None, now=clock.now()):
        raise click.ClickException(f"API token {found.id} ({found.identifier}) was revoked already")
    record(db.session, "api_token_revoked", now=clock.now(), subject=f"api_token {found.id}",
           detail={"name": found.name, "via": "command line"})
    db.session.commit()
    click.echo(f"Revoked API token {found.id} ({found.identifier}, “{found.name}”); it stops working now")


@click.command("import-actors")
@click.argument("path", type=click.Path(path_type=Path), required=False)
@click.option("--errors", "errors_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the rejected and duplicate rows, with reasons, to this CSV.")
@click.option("--by", "by_email", default=None, help="Email of the staff member the batch is recorded for.")
@click.option("--json", "as_json", is_flag=True, help="End with one JSON line of counts.")
@click.option("--lang", type=click.Choice(LOCALES), default=DEFAULT_LOCALE, show_default=True, help="Language of the reasons.")
@click.option("--resume", "resume_batch", type=int, default=None, help="Resume an interrupted batch by its number.")
@click.option("--latin-names", is_flag=True,
              help="The names are Latin letters: import even if they look like Khmer typed in a legacy (Limon/ABC) font.")
@click.option("--mapping", "mapping_name", default=None, help="Apply this saved import mapping (one the --by account sees).")
@click.option("--mapping-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Apply the import mapping in this JSON file (see the README).")
@click.option("--enqueue", is_flag=True,
              help="Put the import on the job queue (REGISTRY_REDIS_URL) for a worker, print the batch number and return.")
@with_appcontext
def import_actors_command(path: Path | None, errors_path: Path | None, by_email: str | None,
                          as_json: bool, lang: str, resume_batch: int | None, latin_names: bool,
                          mapping_name: str | None = None, mapping_file: Path | None = None,
                          enqueue: bool = False) -> None:
    """Import registrations from a CSV/TSV/TXT, a .zip holding one, or an XLSX, XLS or ODS file,
    through the web form's rules."""
    if enqueue:
        _enqueue(path, by_email, as_json, resume_batch, latin_names, mapping_name, mapping_file, errors_path)
        return
    if resume_batch is not None:
        batch_id = resume_batch
    else:
        batch_id = _new_batch(path, by_email, latin_names, mapping_name, mapping_file)
    try:
        batch = run_import(db.session, batch_id)
    except BatchBusy:
        raise click.ClickException(f"batch {batch_id} is being imported by another process, or is finished") from None
    if batch.status == "failed" and batch.failure:
        raise click.ClickException(translate(batch.failure["message"], TERMINAL_LOCALE, **batch.failure["params"]))
    if errors_path is not None:
        _write_report(batch, errors_path, lang)
    if batch.same_as_batch_id:
        click.echo(f"This file is identical to batch {batch.same_as_batch_id}; nothing was stored twice.")
    if batch.unknown_columns:
        click.echo("Ignored columns: " + ", ".join(batch.unknown_columns))
    if tools := tool_columns(batch.header):
        click.echo("Field tool columns (recognised, not stored): " + ", ".join(tools))
    click.echo(f"Batch {batch.id}: {batch.rows} rows, {batch.imported} imported, "
               f"{batch.duplicates} duplicates, {batch.rejected} rejected")
    if as_json:
        summary = {
            "rows": batch.rows, "imported": batch.imported, "duplicates": batch.duplicates,
            "rejected": batch.rejected, "errors_file": str(errors_path) if errors_path else None,
        }
        if batch.sheet_name is not None:
            summary["sheet"] = batch.sheet_name  # the sheet a workbook was read from
        click.echo(json.dumps(summary))


def _enqueue(path: Path | None, by_email: str | None, as_json: bool, resume_batch: int | None, latin_names: bool,
             mapping_name: str | None, mapping_file: Path | None, errors_path: Path | None) -> None:
    """--enqueue: the batch goes to a worker, which may run on another host: the file is copied
    into the upload folder (shared by the workers) and deleted, as an upload, when it ends."""
    if not uses_queue(current_app):
        raise click.UsageError("--enqueue needs the job queue: set REGISTRY_REDIS_URL")
    if errors_path is not None:
        raise click.UsageError("--errors cannot be used with --enqueue: download the report from the batch page")
    if resume_batch is not None:
        if db.session.get(ImportBatch, resume_batch) is None:
            raise click.ClickException(f"--resume: no batch {resume_batch}")
        batch_id = resume_batch
    else:
        if path is None:
            raise click.UsageError("give a PATH, or --resume BATCH")
        if not path.is_file():
            raise click.ClickException(f"{path}: no such file")
        with path.open("rb") as source:
            copy = save_upload(source, upload_folder(), path.name)
        try:
            batch_id = _new_batch(copy, by_email, latin_names, mapping_name, mapping_file, filename=path.name)
        except BaseException:
            copy.unlink(missing_ok=True)  # no file is kept without its batch
            raise
    try:
        job = enqueue_import(current_app, db.session, batch_id)
    except RedisError:
        raise click.ClickException(f"the job queue (Redis) did not answer: batch {batch_id} is recorded, "
                                   "and a worker will queue it once Redis answers") from None
    if as_json:
        click.echo(json.dumps({"batch": batch_id, "job": job}))
    elif job is None:
        click.echo(f"Batch {batch_id} is already on the job queue")
    else:
        click.echo(f"Batch {batch_id} queued (job {job})")


def _new_batch(path: Path | None, by_email: str | None, latin_names: bool,
               mapping_name: str | None = None, mapping_file: Path | None = None, filename: str | None = None) -> int:
    if path is None:
        raise click.UsageError("give a PATH, or --resume BATCH")
    if not path.is_file():
        raise click.ClickException(f"{path}: no such file")
    filename = filename or path.name
    user = None
    if by_email:
        user = db.session.scalar(select(StaffUser).where(StaffUser.email == normalise_email(by_email)))
        if user is None:
            raise click.ClickException(f"--by: no staff account {by_email}")
    province = user.province_code if user else None
    mapping, mapping_id = chosen_mapping(db.session, mapping_name, mapping_file, province, TERMINAL_LOCALE)
    try:
        batch = create_batch(
            db.session, path.resolve(), filename, uploaded_by_id=user.id if user else None,
            province_code=province, now=clock.now(), limits=read_limits(),
            latin_names=latin_names, mapping=mapping, mapping_id=mapping_id,
        )
        if mapping is not None:
            record(db.session, "import_mapping_applied", now=clock.now(), by_id=user.id if user else None,
                   subject=f"batch {batch.id}", detail={**mapping_summary(mapping, mapping_name), "mapping_id": mapping_id,
                                                        "via": "command line"})
        db.session.commit()
    except NeedsMapping as error:
        db.session.rollback()
        raise click.ClickException(needs_mapping_text(db.session, error, province, filename)) from None
    except UnusableFile as error:
        db.session.rollback()
        hint = " (here: --latin-names)" if isinstance(error, LegacyFontText) else ""
        raise click.ClickException(f"{filename}: {translate(error.message, TERMINAL_LOCALE, **error.params)}{hint}") from None
    return batch.id


@click.command("purge-uploads")
@click.option("--days", type=click.IntRange(min=1), default=30, show_default=True,
              help="Delete the files of imports that stopped and were not resumed for this many days.")
@with_appcontext
def purge_uploads_command(days: int) -> None:
    """Delete uploaded files no import needs (each import deletes its own when it ends)."""
    deleted = purge_uploads(db.session, upload_folder(), now=clock.now(), keep_unfinished=timedelta(days=days))
    db.session.commit()
    click.echo(f"Deleted {len(deleted)} uploaded files")


@click.command("worker")
@click.option("--burst", is_flag=True, help="Quit once the queue is empty (default: wait for jobs).")
@click.option("--name", default=None, help="The worker's name, shown on the batches it runs (default: host.pid).")
@with_appcontext
def worker_command(burst: bool, name: str | None) -> None:
    """Run imports from the job queue (REGISTRY_REDIS_URL), at a lower CPU priority than the
    web server. Start any number, on any host that reaches the database, Redis and the
    upload folder (README "Job queue")."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not uses_queue(app):
        raise click.ClickException("REGISTRY_REDIS_URL is not set: without Redis, imports run in the web process")
    if name is not None and not (0 < len(name) <= 100 and name.isprintable() and ":" not in name):
        raise click.BadParameter("1 to 100 printable characters, no colon", param_hint="--name")
    folder = upload_folder()
    if folder == Path(app.instance_path) / "imports":
        private_folder(folder)  # the default, on one host: created as the web server would
    elif not folder.is_dir():  # a host without the shared mount would end batches for want of their file
        raise click.ClickException(
            f"REGISTRY_IMPORT_UPLOAD_FOLDER {folder} is not a folder on this host: mount the shared upload folder there")
    run_worker(app, name=name, burst=burst, maintenance=[requeue_lost])


def _write_report(batch: ImportBatch, errors_path: Path, lang: str) -> None:
    def tr(message: str, **params: object) -> str:
        return translate(message, lang, **params)

    with errors_path.open("w", encoding="utf-8", newline="") as out:
        for block in csv_chunks(report_rows(db.session, batch, tr, viewer_province=batch.province_code)):
            out.write(block)


commands = [stats_command, create_user_command, import_actors_command, purge_uploads_command, load_indicators_command,
            rebuild_tally_command, reset_password_command, reset_mfa_command, disable_user_command, enable_user_command,
            revoke_token_command, actors, purge_command, verification_keys_command, find_duplicates_command,
            backup_command, restore_command, check_backup_command, worker_command]
