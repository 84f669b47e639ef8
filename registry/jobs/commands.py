"""`flask worker`: run imports from the job queue (README "Job queue")."""
from __future__ import annotations

import os
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from registry.config import private_folder


@click.command("worker")
@click.option("--burst", is_flag=True, help="Quit once the queue is empty (default: wait for jobs).")
@click.option("--name", default=None, help="The worker's name, shown on the batches it runs (default: host.pid).")
@with_appcontext
def worker_command(burst: bool, name: str | None) -> None:
    """Run imports from the job queue (REGISTRY_REDIS_URL), at a lower CPU priority than the
    web server. Start any number, on any host that reaches the database, Redis and the
    upload folder."""
    from registry.jobs.worker import run_worker

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not app.config.get("REDIS_URL"):
        raise click.ClickException("REGISTRY_REDIS_URL is not set: without Redis, imports run in the web process")
    if name is not None and not (0 < len(name) <= 100 and name.isprintable() and ":" not in name):
        raise click.BadParameter("1 to 100 printable characters, no colon", param_hint="--name")
    _check_upload_folder(Path(app.config["IMPORT_UPLOAD_FOLDER"]), Path(app.instance_path))
    os.nice(app.config["WORKER_NICE"])  # registrations in the web server win the CPU
    run_worker(app, name=name, burst=burst)


def _check_upload_folder(folder: Path, instance_path: Path) -> None:
    """Refuse to work without the uploads: a worker on a host where the shared folder is not
    mounted would otherwise find no file and end batches for good. The default folder (one
    host) is created."""
    if folder == instance_path / "imports":
        private_folder(folder)
    elif not folder.is_dir():
        raise click.ClickException(
            f"REGISTRY_IMPORT_UPLOAD_FOLDER {folder} is not a folder on this host: mount the shared upload folder there")
