"""PostgreSQL: `pg_dump --format=custom` from a snapshot exported by a transaction that also
measures it (the manifest's counts are the dump's, however busy the registry), and
`pg_restore` in one transaction (a failed restore leaves the database empty).

The client programs get the password in PGPASSWORD, never on their command line (which any
user of the machine may read); their messages are passed on without DETAIL and CONTEXT
lines, which may quote a row."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import IO, Any, Callable, Iterable

from sqlalchemy import URL, Engine
from sqlalchemy.orm import Session

from registry.backup.archive import BackupRefused

PAYLOAD = "database.pgdump"
QUOTING_ROWS = ("DETAIL:", "CONTEXT:", "Command was:")
RESTORE_OPTIONS = (
    "--single-transaction", "--exit-on-error",
    # Objects belong to the account that restores (the app's), whoever owned them before;
    # grants to other roles are made again by hand on the new server (README "Backups").
    "--no-owner", "--no-privileges",
)


def client(url: URL) -> tuple[str, dict[str, str]]:
    """The libpq connection URI without the password, and an environment carrying it."""
    bare = URL.create("postgresql", username=url.username, host=url.host, port=url.port,
                      database=url.database, query=url.query)  # (URL.set(password=None) keeps it)
    uri = bare.render_as_string(hide_password=False)
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    return uri, env


def program(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupRefused(f"{name} not found: install the PostgreSQL client programs"
                            " (the server's major version or newer)")
    return found


def messages(stderr: bytes) -> str:
    lines = [line.strip() for line in stderr.decode(errors="replace").splitlines()]
    kept = [line for line in lines if line and not any(word in line for word in QUOTING_ROWS)]
    return "; ".join(kept[:5]) or "no message"


def dump(engine: Engine, work: Path, *, measure: Callable[[Session], dict[str, Any]]) -> tuple[Path, dict[str, Any]]:
    """pg_dump's custom-format file in `work` and the figures of the very same snapshot."""
    payload = work / PAYLOAD
    uri, env = client(engine.url)
    with engine.connect() as connection:
        connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            connection.exec_driver_sql("SET TRANSACTION READ ONLY")
            snapshot = connection.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
            done = subprocess.run(
                [program("pg_dump"), "--format=custom", f"--snapshot={snapshot}", "--no-password",
                 f"--file={payload}", f"--dbname={uri}"],
                env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
            if done.returncode != 0:
                raise BackupRefused(f"pg_dump failed: {messages(done.stderr)}")
            with Session(bind=connection) as session:
                figures = measure(session)
    return payload, figures


def load(chunks: Iterable[bytes], url: URL) -> None:
    """Feed the (already checked) payload to pg_restore; BackupRefused with its message if it fails."""
    uri, env = client(url)
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(
            [program("pg_restore"), *RESTORE_OPTIONS, "--no-password", f"--dbname={uri}"],
            env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=errors)
        _feed(process, chunks)
        if process.wait() != 0:
            errors.seek(0)
            raise BackupRefused(f"pg_restore failed, nothing was restored (one transaction): {messages(errors.read())}")


def _feed(process: subprocess.Popen[bytes], chunks: Iterable[bytes]) -> None:
    stdin: IO[bytes] = process.stdin  # type: ignore[assignment]
    try:
        for chunk in chunks:
            stdin.write(chunk)
    except BrokenPipeError:
        pass  # pg_restore stopped on an error: its message says which
    except BaseException:
        process.kill()  # before it sees the end of its input and commits what it has
        process.wait()
        raise
    try:
        stdin.close()
    except BrokenPipeError:
        pass
