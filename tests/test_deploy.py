"""deploy/: the files parse, name commands and paths that exist, and agree with each other and
with the app (nginx's body limit, upstream and proxy hops; the variables the env example sets);
and gunicorn.conf.py, started for real as the web unit starts it, writes JSON logs and adds
up every process's request counters on /metrics."""
from __future__ import annotations

import configparser
import json
import os
import re
import shlex
import signal
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest
from flask import Flask
from prometheus_client.parser import text_string_to_metric_families

from registry import PROJECT_ROOT
from tests.test_serving import GUNICORN, serve, stop

DEPLOY = PROJECT_ROOT / "deploy"
INSTALLED_AT = "/opt/registry"  # where the units expect this repository
ENV_FILE = "/etc/registry/registry.env"
REDIS_TEST_DB = 12  # this module's own Redis database, emptied before and after
VARIABLE = re.compile(r"^#?\s*([A-Z][A-Z0-9_]*)=(.*)$")


def env_example() -> dict[str, str]:
    """Every variable the example names, set or shown commented out (value '' when commented)."""
    found = {}
    for line in (DEPLOY / "registry.env.example").read_text().splitlines():
        match = VARIABLE.match(line.strip())
        if match:
            found[match.group(1)] = match.group(2) if not line.startswith("#") else found.get(match.group(1), "")
    return found


def unit(name: str) -> configparser.ConfigParser:
    """A systemd unit read as an INI file (systemd's own syntax is a superset; keys keep their case)."""
    parser = configparser.ConfigParser(interpolation=None, strict=False, delimiters=("=",), comment_prefixes=("#", ";"))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((DEPLOY / "systemd" / name).read_text())
    return parser


def in_repository(path: str) -> Path:
    assert path.startswith(INSTALLED_AT + "/"), f"{path} is not under {INSTALLED_AT}"
    return PROJECT_ROOT / path[len(INSTALLED_AT) + 1:]


def read_by_the_app() -> str:
    """Every Python file of the app and gunicorn.conf.py, as one text to search for names."""
    sources = [p.read_text() for p in (PROJECT_ROOT / "registry").rglob("*.py")]
    return "\n".join(sources + [(PROJECT_ROOT / "gunicorn.conf.py").read_text()])


def test_the_env_example_sets_only_variables_the_app_reads_and_no_secret() -> None:
    variables = env_example()
    code = read_by_the_app()
    unread = [name for name in variables if f'"{name}"' not in code]
    assert unread == []
    assert {"REGISTRY_DATABASE_URL", "REGISTRY_REDIS_URL", "REGISTRY_PUBLIC_URL", "REGISTRY_PROXY_HOPS",
            "REGISTRY_LOG_FORMAT", "REGISTRY_BIND"} <= set(variables)
    assert variables["REGISTRY_LOG_FORMAT"] == "json" and variables["REGISTRY_PROXY_HOPS"] == "1"
    for secret in ("SECRET_KEY", "REGISTRY_DISCLOSURE_KEY", "REGISTRY_VERIFICATION_SECRET", "REGISTRY_SMS_HTTP_TOKEN"):
        assert variables.get(secret, "") == "", f"{secret} has a value in the example"
    assert ":" not in variables["REGISTRY_DATABASE_URL"].split("//", 1)[1].split("@")[0], "a password in the URL"
    for name, value in unit("registry-web.service").items("Service"):
        if name == "Environment":
            assert f'"{value.split("=", 1)[0]}"' in code


def test_the_units_run_commands_that_exist(app: Flask) -> None:
    web, worker = unit("registry-web.service"), unit("registry-worker@.service")
    for parsed in (web, worker):
        assert {"Unit", "Service", "Install"} <= set(parsed.sections())
        service = parsed["Service"]
        assert (service["User"], service["WorkingDirectory"], service["EnvironmentFile"]) == ("registry", INSTALLED_AT, ENV_FILE)
        assert service["ProtectSystem"] == "strict" and service["NoNewPrivileges"] == "yes"
        assert in_repository(service["ReadWritePaths"]).name == "instance"  # the app's instance folder
        assert parsed["Install"]["WantedBy"] == "multi-user.target"
    command = shlex.split(web["Service"]["ExecStart"])
    assert Path(command[0]).name == "gunicorn" and Path(command[0]).parent == Path(INSTALLED_AT, ".venv", "bin")
    assert command[1] == "-c" and in_repository(command[2]).is_file() and command[3] == "registry:create_app()"
    assert web["Service"]["Type"] == "notify"  # gunicorn tells systemd when it is ready
    assert web["Service"]["Environment"] == "REGISTRY_METRICS_DIR=/run/registry-web/metrics"
    assert web["Service"]["RuntimeDirectory"] == "registry-web"

    command = shlex.split(worker["Service"]["ExecStart"])
    assert Path(command[0]) == Path(INSTALLED_AT, ".venv", "bin", "flask") and command[1:4] == ["--app", "registry", "worker"]
    assert "%i" in worker["Service"]["ExecStart"] and "%i" in worker["Unit"]["Description"]  # a template: one unit a worker
    commands = app.cli.list_commands(app.app_context())  # type: ignore[arg-type]
    if "worker" not in commands:
        pytest.skip("`flask worker` comes with the job queue (branch helper-queue): the worker unit's command is "
                    "checked once it is merged")
    assert "--name" in {opt for param in app.cli.get_command(None, "worker").params for opt in param.opts}  # type: ignore[arg-type,union-attr]


class Block:
    """An nginx block: its name ("server", "location = /metrics") and what it holds."""

    def __init__(self, name: str) -> None:
        self.name, self.directives, self.blocks = name, [], []  # type: ignore[var-annotated]

    def get(self, name: str) -> list[list[str]]:
        return [words[1:] for words in self.directives if words[0] == name]

    def block(self, name: str) -> "Block":
        return next(b for b in self.blocks if b.name == name)


def nginx_config(text: str) -> Block:
    """The file as a tree of blocks; braces must balance and every directive end with ';'
    (what `nginx -t` checks first: nginx is not installed here)."""
    tokens = re.findall(r'"[^"]*"|\'[^\']*\'|[{};]|[^\s{};]+', re.sub(r"#[^\n]*", "", text))
    stack, words = [Block("")], []
    for token in tokens:
        if token == "{":
            stack[-1].blocks.append(Block(" ".join(words)))
            stack.append(stack[-1].blocks[-1])
            words = []
        elif token == "}":
            assert not words and len(stack) > 1, f"unterminated directive {words}, or a }} without its {{"
            stack.pop()
        elif token == ";":
            stack[-1].directives.append(words)
            words = []
        else:
            words.append(token.strip("\"'"))
    assert len(stack) == 1 and not words, "unbalanced braces or a directive without ';'"
    return stack[0]


def test_the_nginx_site_redirects_to_https_and_keeps_metrics_in() -> None:
    config = nginx_config((DEPLOY / "nginx" / "registry.conf").read_text())
    plain, tls = [b for b in config.blocks if b.name == "server"]
    assert plain.get("listen") == [["80"], ["[::]:80"]] and tls.get("listen") == [["443", "ssl", "http2"], ["[::]:443", "ssl", "http2"]]
    assert plain.block("location /").get("return") == [["301", "https://$host$request_uri"]]
    assert tls.get("ssl_protocols") == [["TLSv1.2", "TLSv1.3"]]
    assert tls.get("ssl_certificate") and tls.get("ssl_certificate_key")
    hsts = [h for h in tls.get("add_header") if h[0] == "Strict-Transport-Security"]
    assert len(hsts) == 1 and hsts[0][-1] == "always" and tls.get("proxy_hide_header") == [["Strict-Transport-Security"]]
    assert int(re.search(r"max-age=(\d+)", hsts[0][1]).group(1)) >= 365 * 86400  # type: ignore[union-attr]
    # The body limit is the app's, as the env example sets it (nginx's m is MiB).
    upload_bytes = int(env_example()["REGISTRY_MAX_UPLOAD_BYTES"])
    assert tls.get("client_max_body_size") == [[f"{upload_bytes // (1024 * 1024)}m"]]
    from registry.config import from_environment

    assert upload_bytes == from_environment(PROJECT_ROOT / "instance")["MAX_CONTENT_LENGTH"]  # the app's default
    headers = dict(tls.get("proxy_set_header"))  # type: ignore[arg-type]
    assert headers["X-Forwarded-For"] == "$remote_addr" and headers["X-Forwarded-Proto"] == "$scheme"
    assert headers["X-Request-ID"] == "$request_id" and headers["Host"] == "$host"
    assert config.block("upstream registry_web").get("server") == [[env_example()["REGISTRY_BIND"]]]
    # nginx closes an idle upstream connection before gunicorn does: never a POST on one being closed.
    idle = config.block("upstream registry_web").get("keepalive_timeout")
    assert idle and int(idle[0][0].rstrip("s")) < int(env_example()["REGISTRY_KEEPALIVE_SECONDS"])
    assert tls.block("location /").get("proxy_pass") == [["http://registry_web"]]
    metrics = tls.block("location = /metrics")
    assert ["all"] in metrics.get("deny") and ["all"] not in metrics.get("allow")
    assert all(a[0].startswith(("10.", "172.16.", "192.168.")) for a in metrics.get("allow"))
    log_format = " ".join(config.get("log_format")[0])
    assert "$uri" in log_format and not re.search(r"\$(request_uri|args|query_string|request)\b", log_format)
    assert {tuple(a) for a in plain.get("access_log") + tls.get("access_log")} == {
        ("/var/log/nginx/registry.access.log", "registry_path")}


def test_a_postgresql_server_runs_with_every_deployed_setting() -> None:
    """deploy/postgresql/registry.conf, included by a real PostgreSQL server (a private cluster
    of this test's own): no entry in error, and every one in effect but those the test cluster
    sets after it (its own durability: it is thrown away). The server logs no parameter values."""
    import sqlalchemy as sa

    from tests.private_postgres import PrivateCluster

    conf = DEPLOY / "postgresql" / "registry.conf"
    settings = dict(re.findall(r"^([a-z_]+) = (\S+)", conf.read_text(), re.MULTILINE))
    assert {"shared_buffers", "max_wal_size", "wal_compression", "max_locks_per_transaction",
            "log_parameter_max_length"} <= set(settings)
    cluster = PrivateCluster(settings=conf)
    try:
        engine = sa.create_engine(cluster.url())
        with engine.connect() as connection:
            errors = connection.execute(sa.text(
                "SELECT name, error FROM pg_file_settings WHERE sourcefile = :conf AND error IS NOT NULL"),
                {"conf": str(conf)}).all()
            in_effect = dict(connection.execute(sa.text(
                "SELECT name, current_setting(name) FROM pg_settings WHERE sourcefile = :conf"), {"conf": str(conf)}).all())
        engine.dispose()
    finally:
        cluster.remove()
    assert errors == []
    overridden = {"synchronous_commit"}  # the test cluster's own, written after the include
    assert set(in_effect) == set(settings) - overridden
    assert {name: in_effect[name] for name in in_effect} == {name: settings[name] for name in in_effect}
    assert in_effect["log_parameter_max_length"] == "0"


def test_the_gunicorn_config_gives_the_deployed_settings(tmp_path: Path) -> None:
    settings = env_example()
    environment = {**{k: v for k, v in os.environ.items() if not k.startswith(("REGISTRY_", "PROMETHEUS_"))},
                   **{k: v for k, v in settings.items() if v}, "REGISTRY_METRICS_DIR": str(tmp_path / "metrics")}
    printed = subprocess.run([str(GUNICORN), "-c", "gunicorn.conf.py", "--print-config", "registry:create_app()"],
                             cwd=PROJECT_ROOT, env=environment, capture_output=True, text=True, timeout=60, check=True).stdout
    config = dict(re.findall(r"^(\w+)\s+= (.*)$", printed, re.M))
    assert config["bind"] == f"['{settings['REGISTRY_BIND']}']"
    assert (config["workers"], config["threads"]) == (settings["WEB_CONCURRENCY"], settings["REGISTRY_THREADS"])
    assert config["keepalive"] == settings["REGISTRY_KEEPALIVE_SECONDS"]
    assert config["accesslog"] == "None"  # the app's request line instead
    assert "'()': 'registry.logs.json_formatter'" in config["logconfig_dict"]
    assert (tmp_path / "metrics").is_dir()


@pytest.fixture
def redis_db() -> Iterator[str]:
    try:
        import redis

        client = redis.Redis.from_url(f"redis://127.0.0.1:6379/{REDIS_TEST_DB}", socket_connect_timeout=1)
        client.flushdb()
    except Exception:  # noqa: BLE001 - no Redis here
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    yield f"redis://127.0.0.1:6379/{REDIS_TEST_DB}"
    client.flushdb()
    client.close()


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=30) as answer:
            return answer.status, dict(answer.headers), answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_gunicorn_as_deployed_logs_json_and_counts_every_process(database_url: str, redis_db: str, tmp_path: Path) -> None:
    folder = tmp_path / "metrics"
    folder.mkdir()
    (folder / "counter_999999.db").write_bytes(b"left by an earlier run")
    process, base = serve(database_url, REGISTRY_REDIS_URL=redis_db, WEB_CONCURRENCY="2", REGISTRY_THREADS="2",
                          REGISTRY_LOG_FORMAT="json", REGISTRY_METRICS_DIR=str(folder))
    try:
        ids = [f"test-{n:04d}-request" for n in range(12)]
        for request_id in ids:
            status, headers, _body = get(base + "/register", {"X-Request-ID": request_id})
            assert status == 200 and headers["X-Request-ID"] == request_id
        assert get(base + "/no-such-page")[0] == 404
        status, headers, body = get(base + "/metrics")
        assert status == 200 and headers["Content-Type"].startswith("text/plain; version=0.0.4")
        found = samples(body)
        # serve() asked for /register once before returning: 13 pages, 1 not found, whichever process served them.
        assert found[("registry_http_requests_total", (("status_class", "2xx"),))] == 13
        assert found[("registry_http_requests_total", (("status_class", "4xx"),))] == 1
        assert not (folder / "counter_999999.db").exists()  # emptied at start
        assert len(list(folder.glob("counter_*.db"))) >= 1  # each process's own file: multiprocess mode
        assert get(base + "/metrics", {"X-Forwarded-For": "198.51.100.4"})[0] == 401
    finally:
        output = stop(process)
    lines = [json.loads(line) for line in output.splitlines() if line.strip()]  # every line one JSON object
    assert any(line["logger"] == "gunicorn.error" and "Booting worker" in line["message"] for line in lines)
    # The master indexed the gazetteer once (inherited by each worker it forks); each worker
    # compiled the templates before its first request (registry.warm_up).
    assert sum(line["message"].startswith("gazetteer indexed for every worker in ") for line in lines) == 1
    assert sum(line["message"].startswith("worker ready: the gazetteer and ") for line in lines) == 2
    served = {line["request_id"]: line for line in lines if line["logger"] == "registry.request"}
    assert set(ids) <= set(served) and all(served[i]["path"] == "/register" and served[i]["status"] == 200 for i in ids)
    assert not any(line.get("path") == "/metrics" and line.get("status") == 200 for line in lines)  # probes: DEBUG
