"""A PostgreSQL cluster of the fault tests' own (initdb/pg_ctl, its own port and folder), to
stop and restart at will: the shared server is never touched. Run as the `postgres` OS user
when the tests run as root (initdb refuses root); fsync off (its data is thrown away)."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Iterator

import pytest
import sqlalchemy as sa

from tests.helpers import migrate_to_head

BIN_FOLDERS = ("/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/14/bin")
TEMPLATE = "registry_template"


def _tool(name: str) -> str | None:
    for folder in BIN_FOLDERS:
        if (Path(folder) / name).is_file():
            return str(Path(folder) / name)
    return shutil.which(name)


def _user_exists(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateCluster:
    """initdb'd into a temporary folder; `start`, `stop`, `restart` by pg_ctl (fast mode)."""

    def __init__(self, settings: Path | None = None) -> None:
        """`settings`: a configuration file included after the cluster's own (a deployed
        conf.d file), before this test cluster's port, folder and durability settings."""
        initdb, pg_ctl = _tool("initdb"), _tool("pg_ctl")
        if not initdb or not pg_ctl:
            pytest.skip("PostgreSQL's initdb/pg_ctl are not installed")
        self.pg_ctl = pg_ctl
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user and (shutil.which("runuser") is None or not _user_exists("postgres")):
            pytest.skip("running as root without a `postgres` OS user to run initdb as")
        self.folder = Path(tempfile.mkdtemp(prefix="registry-faults-pg-"))
        self.data = self.folder / "data"
        self.port = _free_port()
        self.databases = 0
        if self.as_user:
            shutil.chown(self.folder, "postgres", "postgres")
        self._run([initdb, "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync",
                   "--locale", "C.UTF-8"])
        with open(self.data / "postgresql.conf", "a") as conf:
            if settings is not None:
                conf.write(f"\ninclude '{settings}'")
            conf.write(f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                       f"unix_socket_directories = '{self.folder}'\nfsync = off\n"
                       "synchronous_commit = off\nfull_page_writes = off\nmax_connections = 40\n")
        self.start()

    def _run(self, command: list[str]) -> None:
        result = subprocess.run([*self.as_user, *command], capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr

    def _ctl(self, *args: str) -> None:
        self._run([self.pg_ctl, "-D", str(self.data), "-l", str(self.folder / "server.log"), "-w", "-t", "60", *args])

    def start(self) -> None:
        self._ctl("start")

    def stop(self) -> None:
        self._ctl("stop", "-m", "fast")

    def restart(self) -> None:
        self._ctl("restart", "-m", "fast")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _admin(self, statement: str) -> None:
        engine = sa.create_engine(self.url(), isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(sa.text(statement))
        engine.dispose()

    def migrated_template(self) -> None:
        self._admin(f"CREATE DATABASE {TEMPLATE}")
        migrate_to_head(self.url(TEMPLATE))

    def fresh_database(self) -> str:
        """A new database copied from the migrated template: its URL."""
        self.databases += 1
        name = f"registry_{self.databases}"
        self._admin(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
        return self.url(name)

    def remove(self) -> None:
        try:
            self._ctl("stop", "-m", "immediate")
        except AssertionError:
            pass  # already stopped
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture(scope="module")
def private_cluster() -> Iterator[PrivateCluster]:
    """One private cluster for a test module, migrated to head once (as a template database)."""
    cluster = PrivateCluster()
    try:
        cluster.migrated_template()
        yield cluster
    finally:
        cluster.remove()


@pytest.fixture
def private_database(private_cluster: PrivateCluster) -> Iterator[str]:
    """A fresh migrated database on the private cluster, which is running when the test ends."""
    url = private_cluster.fresh_database()
    yield url
    try:
        private_cluster.start()  # a test that stopped it must not leave the next without one
    except AssertionError:
        pass  # running already
