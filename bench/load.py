"""Campaign load test: the registry under gunicorn, on loopback, against a minimal Flask POST.

    .venv/bin/python bench/load.py [--database sqlite|postgresql] [--seconds 300] [--connections 8]

Starts two gunicorns with the project's gunicorn.conf.py (2 workers × 8 threads, rate limits
shared in Redis database 13, emptied before and after): the registry and bench/minimal_app.py,
both on one fresh database (a SQLite file, or a PostgreSQL database created for the run and
dropped after). Then, with N keep-alive connections (bench/load_client.py):

1. `--rounds` rounds of the minimal POST alone, then the registration POST alone (CSRF token
   from the session's form, a new person and address each), `--pair-seconds` each: their
   throughput ratio, back to back, so other work on the machine weighs on both alike;
2. the campaign mix for `--seconds`: form GET + registration POST + its page, status look-ups
   (GET + POST), public statistics (page + API).

Rate limits stay on: the server trusts one proxy hop (REGISTRY_PROXY_HOPS=1, as behind the
production proxy) and each visitor comes from its own address in X-Forwarded-For.
Prints per kind: requests/s, p50/p95/p99 ms, errors; the server's and the client's CPU per request.
`--profile`: where the registration POST goes, sampled in the workers (bench/load_profile.py).
"""
from __future__ import annotations

import argparse
import ipaddress
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import load_client as client  # noqa: E402
import load_profile  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from databases import fresh_postgres_database  # noqa: E402
from minimal_app import create_table  # noqa: E402

REDIS_URL = "redis://127.0.0.1:6379/13"  # this benchmark's own Redis database: emptied before and after
PYTHON = sys.executable
TICKS = os.sysconf("SC_CLK_TCK")


def loopback(host: str) -> str:
    """`host` if it is a loopback address, else exit: this test never loads another machine."""
    try:
        if ipaddress.ip_address(socket.gethostbyname(host)).is_loopback:
            return host
    except (OSError, ValueError):
        pass
    sys.exit(f"refused: {host} is not a loopback address (the load test runs on this machine only)")


def free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def empty_redis() -> None:
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()


@contextmanager
def database(kind: str, folder: Path, admin_url: str) -> Iterator[str]:
    """A fresh database with the registry's schema (migrated) and the minimal POST's table."""
    with ExitStack() as stack:
        if kind == "sqlite":
            url = f"sqlite:///{folder / 'load.sqlite3'}"
        else:
            url = stack.enter_context(fresh_postgres_database(admin_url, f"load_bench_{os.getpid()}"))
        from flask_migrate import upgrade

        from registry import create_app
        from registry.extensions import db

        app = create_app({"SQLALCHEMY_DATABASE_URI": url}, instance_path=str(folder / "instance"))
        with app.app_context():
            upgrade()
            db.engine.dispose()
        engine = sa.create_engine(url)
        create_table(engine)
        engine.dispose()
        yield url


class Server:
    """One gunicorn started with the project's settings; CPU read from /proc for its workers."""

    def __init__(self, name: str, app: str, host: str, url: str, folder: Path, extra_path: str | None = None) -> None:
        self.name, self.host, self.port = name, host, free_port(host)
        env = {**os.environ, "REGISTRY_BIND": f"{host}:{self.port}", "REGISTRY_DATABASE_URL": url,
               "MINIMAL_DATABASE_URL": url, "REGISTRY_REDIS_URL": REDIS_URL, "WEB_CONCURRENCY": "2",
               "REGISTRY_PROXY_HOPS": "1", "SECRET_KEY": "load-bench-only", "REGISTRY_DISCLOSURE_KEY": "load-bench-only",
               "REGISTRY_VERIFICATION_SECRET": "load-bench-only"}
        command = [PYTHON, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "--chdir", str(ROOT)]
        if extra_path:
            command += ["--pythonpath", extra_path]
        self.log = folder / f"{name}.log"
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen([*command, app], env=env, stdout=log, stderr=subprocess.STDOUT)
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                sys.exit(f"{self.name} server exited:\n{self.log.read_text()[-3000:]}")
            try:
                socket.create_connection((self.host, self.port), timeout=1).close()
                if len(self.workers()) == 2:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        sys.exit(f"{self.name} server did not start:\n{self.log.read_text()[-3000:]}")

    def workers(self) -> list[int]:
        try:
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        except OSError:
            return []
        return [int(pid) for pid in children]

    def cpu_seconds(self) -> float:
        """User + system CPU of the master and its workers so far."""
        total = 0
        for pid in (self.process.pid, *self.workers()):
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / TICKS

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class Phase:
    """One measured stretch: what the client recorded and what the server and client spent."""

    def __init__(self, server: Server, script: client.Script, shared: client.Shared, connections: int,
                 seconds: float) -> None:
        server_cpu = server.cpu_seconds()
        self.record, self.wall, self.client_cpu = client.drive(server.host, server.port, script, shared,
                                                               connections, seconds)
        self.server_cpu = server.cpu_seconds() - server_cpu
        self.requests = sum(len(v) for v in self.record.latencies.values())


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))] * 1000 if ordered else float("nan")


def kind_lines(phases: list[Phase]) -> list[str]:
    merged, wall = client.Record(), sum(p.wall for p in phases)
    for phase in phases:
        merged.merge(phase.record)
    lines = [f"  {'kind':<28}{'requests':>9}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}  errors"]
    for kind in sorted(set(merged.latencies) | set(merged.errors)):
        values = merged.latencies.get(kind, [])
        errors = ", ".join(f"{what}×{n}" for what, n in sorted(merged.errors.get(kind, {}).items())) or "0"
        lines.append(f"  {kind:<28}{len(values):>9}{len(values) / wall:>9.1f}{percentile(values, .5):>9.1f}"
                     f"{percentile(values, .95):>9.1f}{percentile(values, .99):>9.1f}  {errors}")
    requests = sum(p.requests for p in phases)
    lines.append(f"  all: {requests / wall:.1f} req/s over {wall:.0f} s; CPU per request: server "
                 f"{1000 * sum(p.server_cpu for p in phases) / max(requests, 1):.2f} ms, client (this process) "
                 f"{1000 * sum(p.client_cpu for p in phases) / max(requests, 1):.2f} ms")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--postgres-admin-url", default=os.environ.get("BENCH_POSTGRES_ADMIN_URL",
                                                                       "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"),
                        help="a PostgreSQL account that may create and drop the run's database")
    parser.add_argument("--seconds", type=float, default=300, help="the campaign mix (default 300)")
    parser.add_argument("--pair-seconds", type=float, default=20, help="each POST-alone stretch (default 20)")
    parser.add_argument("--rounds", type=int, default=3, help="minimal POST / registration POST rounds (default 3)")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--profile", action="store_true",
                        help="sample the registry's workers with py-spy during the registration-alone stretches")
    args = parser.parse_args()
    host = loopback(args.host)
    folder = Path(tempfile.mkdtemp(prefix="load-bench-"))
    servers: list[Server] = []
    empty_redis()
    try:
        with database(args.database, folder, args.postgres_admin_url) as url:
            registry = Server("registry", f"registry:create_app(instance_path={str(folder / 'instance')!r})", host, url, folder)
            minimal = Server("minimal", "minimal_app:create_app()", host, url, folder, extra_path=str(ROOT / "bench"))
            servers += [registry, minimal]
            people = client.Shared(0, addresses=True)
            for server, script in ((minimal, client.minimal_posts), (registry, client.campaign)):
                client.drive(host, server.port, script, people, args.connections, 5)  # warm-up, not counted
            pairs = []
            for _ in range(args.rounds):
                first = Phase(minimal, client.minimal_posts, people, args.connections, args.pair_seconds)
                samplers = load_profile.start(registry.workers(), args.pair_seconds, folder) if args.profile else []
                pairs.append((first, Phase(registry, client.registration_posts, people, args.connections, args.pair_seconds)))
                for sampler in samplers:
                    sampler.wait()
            mix = Phase(registry, client.campaign, people, args.connections, args.seconds)
            for server in servers:
                server.stop()
            report(args, pairs, mix)
            if args.profile:
                print("\nregistration POST alone, the registry's own functions by share of GIL samples (py-spy):")
                print("\n".join(load_profile.top(folder)))
    finally:
        for server in servers:
            if server.process.poll() is None:
                server.stop()
        empty_redis()
        shutil.rmtree(folder, ignore_errors=True)


def report(args: argparse.Namespace, pairs: list[tuple[Phase, Phase]], mix: Phase) -> None:
    print(f"database: {args.database}; {args.connections} connections; gunicorn 2 workers × 8 threads; "
          f"client: {args.connections} threads, keep-alive, in this process; load average {os.getloadavg()[0]:.1f}")
    print(f"\nPOST alone, {args.rounds} rounds of {args.pair_seconds:.0f} s each, back to back:")
    ratios = []
    for i, (minimal, registration) in enumerate(pairs, 1):
        rates = [p.requests / p.wall for p in (minimal, registration)]
        ratios.append(rates[1] / rates[0])
        p99 = [percentile(p.record.latencies[kind], .99) for p, kind in ((minimal, "minimal POST"), (registration, "registration POST"))]
        cpu = [1000 * p.server_cpu / max(p.requests, 1) for p in (minimal, registration)]
        errors = sum(sum(e.values()) for p in (minimal, registration) for e in p.record.errors.values())
        print(f"  round {i}: minimal {rates[0]:,.0f} req/s (p99 {p99[0]:.1f} ms, server CPU {cpu[0]:.2f} ms/req); "
              f"registration {rates[1]:,.0f} req/s (p99 {p99[1]:.1f} ms, server CPU {cpu[1]:.2f} ms/req); "
              f"ratio {ratios[-1]:.3f}; errors {errors}")
    print(f"  ratio registration POST / minimal POST: {min(ratios):.3f}–{max(ratios):.3f} (median {sorted(ratios)[len(ratios) // 2]:.3f})")
    for name, phases in (("minimal POST", [m for m, _ in pairs]), ("registration POST", [r for _, r in pairs])):
        print(f"\n{name} alone, all rounds:")
        print("\n".join(kind_lines(phases)))
    print(f"\ncampaign mix, {args.seconds:.0f} s:")
    print("\n".join(kind_lines([mix])))


if __name__ == "__main__":
    main()
