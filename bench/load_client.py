"""The load test's client: threads, one keep-alive HTTP connection each, acting as visitors.

A visitor has its own cookies (the session that holds the CSRF token) and, when the server
trusts one proxy hop, its own address (X-Forwarded-For), as people reaching the site through
the production proxy do. Each request's latency is recorded under its kind; a request that
fails or answers an unexpected status counts as an error of that kind.
"""
from __future__ import annotations

import http.client
import itertools
import random
import re
import threading
import time
import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable
from urllib.parse import urlencode

CSRF_FIELD = re.compile(rb'name="csrf_token" value="([^"]+)"')
NUMBER = re.compile(rb"\b(\d{4}-\d{4}-\d{2})\b")
SYLLABLES = ("Sok", "Dara", "Chan", "Vanna", "Srey", "Pich", "Rith", "Sophea", "Bopha", "Kosal", "Nary", "Vibol",
             "Chenda", "Ratha", "Sothea", "Mealea", "Phalla", "Rotha", "Sovann", "Kanha", "Leakena", "Piseth")
PREFIXES = ("012", "015", "017", "092", "098", "010", "011", "077")
SECTORS = ("trade", "food_service", "agriculture", "manufacturing", "transport", "repair")
# (province, district, commune) codes the visitors live in: several provinces, so the tally's
# upserts touch several rows of each level, as a national campaign does.
COMMUNES = ("120101", "120109", "120201", "010201", "020101", "030101", "080101", "170101", "180101", "210101")


def person(i: int) -> dict[str, str]:
    """The i-th distinct person of a run: unique phone and national ID, scattered (not
    consecutive: near-identical phones would fill the duplicate review queue)."""
    rng = random.Random(i)
    category = ("employee", "self_employed", "micro_enterprise")[i % 3]
    commune = COMMUNES[i % len(COMMUNES)]
    return {
        "category": category,
        "full_name": f"{rng.choice(SYLLABLES)} {rng.choice(SYLLABLES)} {rng.choice(SYLLABLES)}",
        "gender": ("female", "male")[rng.getrandbits(1)],
        "date_of_birth": f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{rng.randint(1960, 2005)}",
        "national_id": f"{(i * 104729 + 17) % 10**9:09d}" if i % 2 else "",
        "phone": f"{PREFIXES[i % len(PREFIXES)]} {(i // len(PREFIXES) * 7919 + 11) % 10**6:06d}",
        "province": commune[:2], "district": commune[:4], "commune": commune,
        "sector": SECTORS[i % len(SECTORS)],
        "business_name": "Sok Dara Shop" if category == "micro_enterprise" else "",
        "workers": "3" if category == "micro_enterprise" else "",
    }


@dataclass
class Record:
    """What one thread saw: latencies (seconds) and errors per kind."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))

    def merge(self, other: "Record") -> None:
        for kind, values in other.latencies.items():
            self.latencies[kind].extend(values)
        for kind, found in other.errors.items():
            for what, n in found.items():
                self.errors[kind][what] += n


class Unexpected(Exception):
    """An answer the visitor cannot go on from (already counted as an error)."""


class Visitor:
    """One person's browser on a thread's connection: cookies, an address, the last page."""

    def __init__(self, connection: "Connection", address: str | None) -> None:
        self.connection, self.address, self.cookies = connection, address, {}  # type: dict[str, str]

    def request(self, kind: str, method: str, path: str, expect: int, form: dict[str, str] | None = None) -> bytes:
        headers = {"Accept-Language": "km,en;q=0.5", "Accept-Encoding": "gzip"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if self.address:
            headers["X-Forwarded-For"] = self.address
        body = None
        if form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        status, response_headers, data = self.connection.send(kind, method, path, body, headers)
        for cookie in response_headers:
            name, _, rest = cookie.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        if status != expect:
            self.connection.record.errors[kind][str(status)] += 1
            raise Unexpected(kind)
        return data

    def csrf_token(self, kind: str, path: str) -> str:
        match = CSRF_FIELD.search(self.request(kind, "GET", path, 200))
        if not match:
            self.connection.record.errors[kind]["no csrf token"] += 1
            raise Unexpected(kind)
        return match.group(1).decode()


class Connection:
    """One keep-alive connection; reconnects after a failure (counted as an error)."""

    def __init__(self, host: str, port: int, record: Record) -> None:
        self.host, self.port, self.record = host, port, record
        self.http = http.client.HTTPConnection(host, port, timeout=30)

    def send(self, kind: str, method: str, path: str, body: bytes | None,
             headers: dict[str, str]) -> tuple[int, list[str], bytes]:
        start = time.perf_counter()
        try:
            self.http.request(method, path, body=body, headers=headers)
            response = self.http.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as error:
            self.record.errors[kind][type(error).__name__] += 1
            self.http.close()
            self.http = http.client.HTTPConnection(self.host, self.port, timeout=30)
            raise Unexpected(kind) from None
        self.record.latencies[kind].append(time.perf_counter() - start)
        if response.getheader("Content-Encoding") == "gzip":
            data = zlib.decompress(data, 31)
        return response.status, response.headers.get_all("Set-Cookie") or [], data


class Shared:
    """What the threads share: the next person, the next address, people registered so far."""

    def __init__(self, first_person: int, addresses: bool) -> None:
        self.people = itertools.count(first_person)  # next() is atomic under the GIL
        self.addresses = itertools.count(1) if addresses else None
        self.registered: list[tuple[str, str, str]] = []  # (number, phone, date of birth)

    def address(self) -> str | None:
        if self.addresses is None:
            return None
        n = next(self.addresses)
        return f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"


Script = Callable[[Connection, Shared, random.Random], None]


def minimal_posts(connection: Connection, shared: Shared, _rng: random.Random) -> None:
    visitor = Visitor(connection, None)
    data = person(next(shared.people))
    data.pop("business_name"), data.pop("workers")
    visitor.request("minimal POST", "POST", "/minimal", 303, data)


def registration_posts(connection: Connection, shared: Shared, _rng: random.Random) -> None:
    """One session (its form GET not counted), then registration POSTs with its token, each
    from a new address: the registration POST alone, for the ratio to the minimal POST."""
    visitor = getattr(connection, "visitor", None)
    if visitor is None:
        visitor = connection.visitor = Visitor(connection, shared.address())  # type: ignore[attr-defined]
        visitor.token = visitor.csrf_token("session GET (not counted)", "/register")  # type: ignore[attr-defined]
    visitor.address = shared.address()
    form = {**person(next(shared.people)), "consent": "y", "csrf_token": visitor.token}  # type: ignore[attr-defined]
    visitor.request("registration POST", "POST", "/register", 303, form)


def registrant(connection: Connection, shared: Shared, _rng: random.Random) -> None:
    visitor = Visitor(connection, shared.address())
    token = visitor.csrf_token("form GET", "/register")
    data = person(next(shared.people))
    visitor.request("registration POST", "POST", "/register", 303, {**data, "consent": "y", "csrf_token": token})
    page = visitor.request("done GET", "GET", "/register/done", 200)
    match = NUMBER.search(page)
    if match:
        shared.registered.append((match.group(1).decode(), data["phone"], data["date_of_birth"]))


def status_checker(connection: Connection, shared: Shared, rng: random.Random) -> None:
    if not shared.registered:
        return registrant(connection, shared, rng)
    number, phone, born = rng.choice(shared.registered)
    visitor = Visitor(connection, shared.address())
    token = visitor.csrf_token("status GET", "/status")
    visitor.request("status POST", "POST", "/status", 200,
                    {"registration_number": number, "phone": phone, "date_of_birth": born, "csrf_token": token})


def stats_reader(connection: Connection, shared: Shared, rng: random.Random) -> None:
    visitor = Visitor(connection, shared.address())
    visitor.request("stats page", "GET", "/stats", 200)
    visitor.request("stats API", "GET", "/api/v1/stats" + rng.choice(("", "?province=12", "?category=employee")), 200)


# The campaign: most visitors register; some check their status; some read the statistics.
CAMPAIGN: tuple[tuple[Script, int], ...] = ((registrant, 6), (status_checker, 2), (stats_reader, 2))


def campaign(connection: Connection, shared: Shared, rng: random.Random) -> None:
    scripts, weights = zip(*CAMPAIGN)
    rng.choices(scripts, weights)[0](connection, shared, rng)


def drive(host: str, port: int, script: Script, shared: Shared, connections: int, seconds: float) -> tuple[Record, float, float]:
    """Run `script` in a loop on `connections` threads for `seconds`; the merged record, the
    wall time and the client's own CPU seconds (this process: the measuring costs that much)."""
    records = [Record() for _ in range(connections)]
    deadline = time.perf_counter() + seconds

    def loop(record: Record, seed: int) -> None:
        connection, rng = Connection(host, port, record), random.Random(seed)
        while time.perf_counter() < deadline:
            try:
                script(connection, shared, rng)
            except Unexpected:
                pass
        connection.http.close()

    threads = [threading.Thread(target=loop, args=(r, i)) for i, r in enumerate(records)]
    cpu, start = time.process_time(), time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    merged = Record()
    for record in records:
        merged.merge(record)
    return merged, wall, cpu
