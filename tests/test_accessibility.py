"""Accessibility as a test: axe-core (vendored, tests/vendor/axe-core) in real Chromium on every
page of the app, in Khmer and English, signed out and signed in as each role that may open it,
and in the pages' error states: no violation of WCAG 2.0/2.1 A and AA or of axe's best practices.

Every GET route is covered: one without arguments is visited as it is (a page added later is
checked with no change here); `RECIPES` reach the others and the states behind a form;
`NOT_PAGES` says, for each route that is no HTML page, what it is. The last test fails when
a GET route or a template was never checked.

One viewport, the phone's 360 px: the markup is the same at every width and the stylesheet
changes one thing below 40rem (the indicator table reflows into cards), so every rule axe
judges on what is shown is judged at the width where most people read and where content
overflows first (scrollable regions); colours are the same at every width.
"""
from __future__ import annotations

import hashlib
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pyotp
import pytest
import sqlalchemy as sa
from flask import Flask, template_rendered
from werkzeug.exceptions import HTTPException
from werkzeug.serving import make_server

from registry.extensions import db
from tests.helpers import OPEN_APPS, PASSWORD, POSTGRES_URL, close_app, empty_postgres, make_app, make_user, mfa_code
from tests.test_browser import CHROMIUM, PHONE, browser, type_code  # noqa: F401  (browser: the module's Chromium)

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium not installed (make test installs it with apt-get when run as root)")

AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"  # 4.14.1, see its README
AXE_SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
RUN_AXE = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => n.target.join(' '))}));
}"""
# WCAG 3.1.2 (Language of Parts, AA), which axe does not judge: Khmer script outside an element
# marked lang="km", or English prose (three lower-case words outside quotes and brackets, which
# hold values and codes; addresses aside; proper names are capitalised and allowed) inside one
# marked, or defaulting to, Khmer.
LANGUAGE_OF_PARTS = r"""() => {
  const khmer = /[\u1780-\u17FF\u19E0-\u19FF]/u;
  const values = /«[^»]*»|“[^”]*”|"[^"]*"|\([^)]*\)|\S*[@\/]\S*|\S+\.\S+/g;  // quoted, codes, addresses
  const prose = (text) => (text.replace(values, '').match(/\b[a-z]{2,}\b/g) || []).length >= 3;
  const found = [];
  const judge = (element, text, where) => {
    const part = (element.closest('[lang]') || document.documentElement).lang;
    if ((part !== 'km' && khmer.test(text)) || (part === 'km' && prose(text))) {
      found.push(`${where} in lang="${part}": ${text.trim().slice(0, 60)}`);
    }
  };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const element = walker.currentNode.parentElement;
    if (!element.closest('script, style, code, kbd, samp')) {  // computer text (keys, passwords) is no language
      judge(element, walker.currentNode.textContent, element.tagName.toLowerCase());
    }
  }
  for (const element of document.querySelectorAll('[title], [aria-label], [alt], [placeholder]')) {
    for (const name of ['title', 'aria-label', 'alt', 'placeholder']) {
      if (element.hasAttribute(name)) judge(element, element.getAttribute(name), `${element.tagName.toLowerCase()}[${name}]`);
    }
  }
  judge(document.documentElement, document.title, 'title');
  return [document.documentElement.lang, found];
}"""
LANGUAGES = ("km", "en")
ROLES = ("outreach", "ministry", "admin")
AUDIENCES = ("signed out",) + ROLES
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"

# GET routes that are no HTML page (POST-only routes are no GET route and need no entry).
NOT_PAGES = {
    "static": "CSS, scripts, fonts",
    "favicon": "an image",
    "api.dhis2": "JSON", "api.indicator_list": "JSON", "api.openapi": "JSON", "api.stats": "JSON",
    "registration.district_options": "JSON for the form's script",
    "registration.commune_options": "JSON for the form's script",
    "imports.progress": "JSON for the batch page's script",
    "imports.report": "a CSV download",
    "imports.template": "a CSV or XLSX download",
    "dashboard.export": "a CSV or XLSX download",
}
# Steps of signing in, reached only half-way through it: visited by test_sign_in_steps.
SIGN_IN_STEPS = {"staff.code", "staff.enrol", "staff.new_password"}


@dataclass
class Site:
    app: Flask
    base: str
    batches: list[int]
    indicator_id: int
    person: dict[str, str]  # what a registered worker types to prove who they are
    rendered: set[str] = field(default_factory=set)  # templates rendered while the module ran
    checked: set[str] = field(default_factory=set)  # endpoints axe ran on
    tours: set[str] = field(default_factory=set)


@dataclass
class Tour:
    """One browser page going round the site in one language as one audience; what axe finds is kept."""
    site: Site
    page: object
    lang: str
    audience: str
    found: list[str] = field(default_factory=list)
    every_state: bool = True  # False: the page as it opens only (a public page seen by staff)
    registered: bool = False  # a registration in the session (done, certificate)

    def url(self, path: str) -> str:
        return f"{self.site.base}{path}{'&' if '?' in path else '?'}lang={self.lang}"

    def goto(self, path: str, status: int = 200) -> None:
        response = self.page.goto(self.url(path))
        assert response is not None and response.status == status, f"{path}: {response and response.status}, not {status}"
        kind = response.headers.get("content-type", "")
        assert kind.startswith("text/html"), f"{path} is {kind}, no page: list it in NOT_PAGES with what it is"

    def submit(self, selector: str, status: int) -> None:
        with self.page.expect_navigation() as navigation:
            self.page.click(selector)
        assert navigation.value.status == status, f"{self.page.url}: {navigation.value.status}, not {status}"

    def check(self, state: str = "") -> None:
        if not self.page.evaluate("typeof window.axe !== 'undefined'"):
            self.page.evaluate(AXE.read_text(encoding="utf-8"))
        path, query = urlsplit(self.page.url).path, re.sub(r"&?lang=\w+", "", urlsplit(self.page.url).query)
        try:
            self.site.checked.add(self.site.app.url_map.bind("").match(path)[0])
        except HTTPException:
            pass  # the page for an address that is none
        where = f"[{self.audience}, {self.lang}] {path}{f'?{query}' if query else ''}{f' ({state})' if state else ''}"
        for v in self.page.evaluate(RUN_AXE, TAGS):
            self.found.append(f"{where}: {v['id']} ({v['impact']}): {v['help']}\n      " + "\n      ".join(v["nodes"]))
        document_lang, parts = self.page.evaluate(LANGUAGE_OF_PARTS)
        assert document_lang == self.lang or path == "/certificate", f"{where} is in {document_lang}"  # (in both)
        if parts:
            self.found.append(f"{where}: language-of-parts (WCAG 3.1.2): text in another language needs its lang\n      "
                              + "\n      ".join(parts))


# How to reach a page (and the states behind its forms); every other GET route is visited as it is.


def states(*paths: str) -> Callable[[Tour], None]:
    """Pages opened by address only (a filter, a drill-down), each checked."""
    def visit(tour: Tour) -> None:
        for path in paths if tour.every_state else paths[:1]:
            tour.goto(path)
            tour.check()
    return visit


def register_states(tour: Tour) -> None:
    tour.goto("/register")
    tour.check()
    if not tour.every_state:
        return
    page = tour.page
    page.check("input[name=category][value=micro_enterprise]")  # its own fields shown, and wrong too
    for selector, wrong in (("#full_name", "4"), ("#date_of_birth", "31/02/1990"), ("#national_id", "12"),
                            ("#phone", "1"), ("#workers", "99")):
        page.fill(selector, wrong)
    tour.submit("button.primary", 422)
    tour.check("every field wrong")


def prove(tour: Tour, *, match: bool = True) -> None:
    """The status look-up; a registration found is put in the session (done, certificate)."""
    person = tour.site.person
    tour.goto("/status")
    tour.page.fill("#registration_number", person["number"] if match else "0000-0001-29")
    tour.page.fill("#phone", person["phone"])
    tour.page.fill("#date_of_birth", person["date_of_birth"])
    tour.submit("button.primary", 200 if match else 404)
    tour.registered = tour.registered or match


def status_states(tour: Tour) -> None:
    tour.goto("/status")
    tour.check()
    if not tour.every_state:
        return
    prove(tour, match=False)
    tour.check("no match")
    tour.page.fill("#phone", "")
    tour.submit("button.primary", 422)
    tour.check("a field missing")
    prove(tour)
    tour.check("found")


def recover_states(tour: Tour) -> None:
    person, page = tour.site.person, tour.page
    tour.goto("/status/recover")
    tour.check()
    if not tour.every_state:
        return
    for name, status in (("Nobody Here", 404), (person["full_name"], 200)):
        tour.goto("/status/recover")
        page.fill("#phone", person["phone"])
        page.fill("#date_of_birth", person["date_of_birth"])
        page.fill("#full_name", name)
        tour.submit("button.primary", status)
        tour.check("found" if status == 200 else "no match")


def with_registration(path: str) -> Callable[[Tour], None]:
    def visit(tour: Tour) -> None:
        if not tour.registered:
            prove(tour)
        tour.goto(path)
        tour.check()
    return visit


def login_states(tour: Tour) -> None:
    tour.goto("/staff/login")
    tour.check()
    if tour.every_state:
        tour.page.fill("#email", "ministry@example.org")
        tour.page.fill("#password", "not the password at all")
        tour.submit("button.primary", 401)
        tour.check("wrong password")


def indicator_states(tour: Tour) -> None:
    tour.goto(f"/dashboard/indicators/{tour.site.indicator_id}")
    tour.check()
    tour.page.fill("#value", "many")
    tour.submit("button.primary", 400)
    tour.check("a wrong value")


def imports_states(tour: Tour) -> None:
    tour.goto("/staff/imports")
    tour.check()
    tour.submit("button.primary", 422)  # no file, no consent
    tour.check("nothing sent")


def batch_states(tour: Tour) -> None:
    for batch_id in tour.site.batches:  # rows not stored; the same file again
        tour.goto(f"/staff/imports/{batch_id}")
        tour.check()


def account_states(tour: Tour) -> None:
    tour.goto("/staff/account")
    tour.check()
    tour.page.fill("#current_password", "not the password at all")
    tour.page.fill("#new_password", "short")
    tour.submit("#change-password", 422)
    tour.check("every field wrong")


RECIPES: dict[str, Callable[[Tour], None]] = {
    "registration.register": register_states,
    "registration.status": status_states,
    "registration.recover": recover_states,
    "registration.done": with_registration("/register/done"),
    "registration.certificate": with_registration("/certificate"),
    "staff.login": login_states,
    "dashboard.index": states("/dashboard", "/dashboard?year=2024", "/dashboard?year=2024&area=12"),
    "dashboard.public": states("/stats", "/stats?year=2024", "/stats?year=2024&area=12", "/stats?year=2024&area=1201"),
    "dashboard.edit_indicator": indicator_states,
    "imports.index": imports_states,
    "imports.batch": batch_states,
    "accounts.account": account_states,
}


def roles_of(app: Flask, endpoint: str) -> frozenset[str]:
    return getattr(app.view_functions[endpoint], "allowed_roles", frozenset())


def get_routes(app: Flask) -> list:  # type: ignore[type-arg]
    return sorted((r for r in app.url_map.iter_rules() if "GET" in (r.methods or ())), key=lambda r: r.rule)


def visit_as_it_is(tour: Tour, path: str, takes_arguments: bool) -> None:
    """A route without a recipe: asked for first (a download is no page to open), then opened."""
    fix = "give it a recipe in RECIPES, or list it in NOT_PAGES if it is no HTML page"
    assert not takes_arguments, f"{path} takes arguments: {fix}"
    answer = tour.page.request.get(tour.url(path), max_redirects=0)
    kind = answer.headers.get("content-type", "")
    assert answer.status == 200 and kind.startswith("text/html"), f"{path} answers {answer.status} {kind}: {fix}"
    tour.goto(path)
    tour.check()


def go_round(tour: Tour) -> None:
    """Every page this audience may open, then the error pages it can meet."""
    app = tour.site.app
    for rule in get_routes(app):
        if rule.endpoint in NOT_PAGES or rule.endpoint in SIGN_IN_STEPS:
            continue
        roles = roles_of(app, rule.endpoint)
        if roles and tour.audience not in roles:
            continue
        # A public page differs for staff only by the staff bar, which every staff page shows: signed
        # in, it is checked as it opens; its other states once, signed out.
        tour.every_state = bool(roles) or tour.audience == "signed out"
        if rule.endpoint in RECIPES:
            RECIPES[rule.endpoint](tour)
        else:
            visit_as_it_is(tour, rule.rule, bool(rule.arguments))
    tour.goto("/no-such-page", 404)
    tour.check("not found")
    forbidden = [r.rule for r in get_routes(app) if roles_of(app, r.endpoint) and tour.audience in ROLES
                 and tour.audience not in roles_of(app, r.endpoint) and not r.arguments]
    if forbidden:
        tour.goto(forbidden[0], 403)
        tour.check("not allowed")


def report(found: list[str]) -> str:
    return f"{len(found)} accessibility violations (axe-core, {', '.join(TAGS)}):\n  " + "\n  ".join(found)


# The site: one app, one server and one Chromium for the module.


def seed(app: Flask, folder: Path) -> tuple[list[int], int, dict[str, str]]:
    from tests.import_files import good, mixed_rows, write_csv

    for role in ROLES:
        make_user(app, f"{role}@example.org", role)
    for lang in LANGUAGES:
        make_user(app, f"newcomer-{lang}@example.org", "outreach", enrol_mfa=False)
        make_user(app, f"temporary-{lang}@example.org", "ministry")
    runner = app.test_cli_runner()
    many = write_csv(folder / "many.csv", [good(100 + i, category=("employee", "self_employed", "micro_enterprise")[i % 3],
                                               business_name="Shop", workers="2", gender=("female", "male")[i % 2],
                                               province=("12", "17")[i % 2], district=("1201", "1702")[i % 2],
                                               commune=("120101", "170201")[i % 2]) for i in range(60)])
    mixed = write_csv(folder / "market.csv", [row for row, _, _ in mixed_rows()])
    for path in (many, mixed, mixed):  # the last: the same file again
        result = runner.invoke(args=["import-actors", str(path), "--by", "outreach@example.org"])
        assert result.exit_code == 0, result.output
    assert runner.invoke(args=["load-indicators"]).exit_code == 0
    with app.app_context():
        batches = list(db.session.scalars(sa.text("SELECT id FROM import_batch ORDER BY id")))[1:]
        indicator_id = db.session.scalar(sa.text("SELECT min(id) FROM indicator"))
        number = db.session.scalar(sa.text("SELECT registration_number FROM actor WHERE full_name = 'Person BA'"))
    person = {"number": number, "phone": "012 000 001", "date_of_birth": "25/01/1990", "full_name": "Person BA"}
    return batches, indicator_id, person


@pytest.fixture(scope="module")
def site(migrated_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("accessibility")
    url = POSTGRES_URL
    if not url:
        shutil.copyfile(migrated_database, folder / "registry.sqlite3")
        url = f"sqlite:///{folder / 'registry.sqlite3'}"
    app = make_app(url)
    OPEN_APPS.remove(app)  # lives as long as the module, closed below
    site = Site(app, "", *seed(app, folder))

    def rendered(_sender: Flask, template, context, **_extra) -> None:  # type: ignore[no-untyped-def]
        site.rendered.add(template.name)

    template_rendered.connect(rendered, app)
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    site.base = f"http://127.0.0.1:{httpd.server_port}"
    yield site
    httpd.shutdown()
    thread.join()
    template_rendered.disconnect(rendered, app)
    close_app(app)
    if POSTGRES_URL:
        empty_postgres(POSTGRES_URL)


def sign_in(page, site: Site, email: str, password: str = PASSWORD) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{site.base}/staff/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button.primary")


@pytest.fixture(scope="module")
def pages(browser, site: Site) -> Iterator[dict[str, object]]:  # type: ignore[no-untyped-def]
    """A phone-sized page for each audience, signed in once for the module."""
    made: dict[str, object] = {}
    for audience in AUDIENCES:
        page = browser.new_context(locale="km-KH", viewport=PHONE, is_mobile=True, has_touch=True).new_page()
        if audience in ROLES:
            sign_in(page, site, f"{audience}@example.org")
            type_code(page, site.app, f"{audience}@example.org")
            page.wait_for_url(lambda url: "/staff/login" not in url)
        made[audience] = page
    yield made
    for page in made.values():
        page.context.close()


def test_the_vendored_axe_is_the_published_one() -> None:
    assert hashlib.sha256(AXE.read_bytes()).hexdigest() == AXE_SHA256


def test_every_get_route_is_a_page_checked_or_listed(site: Site) -> None:
    routes = {r.endpoint: r for r in get_routes(site.app)}
    assert not set(NOT_PAGES) - set(routes), "NOT_PAGES lists routes that are gone"
    assert not set(RECIPES) - set(routes), "RECIPES has recipes for routes that are gone"
    unreachable = [r.rule for e, r in routes.items() if r.arguments and e not in RECIPES | NOT_PAGES]
    assert not unreachable, f"GET routes with arguments nobody fills: add a recipe to RECIPES or list them in NOT_PAGES: {unreachable}"


@pytest.mark.parametrize(("lang", "planted"), [("en", "<p>ភាសាខ្មែរ</p>"), ("km", "<p>the words of an English sentence</p>")])
def test_the_checks_find_faults_planted_in_a_page(browser, site: Site, lang: str, planted: str) -> None:  # type: ignore[no-untyped-def]
    """The harness itself: axe runs in the page and the language check reads it."""
    page = browser.new_page(viewport=PHONE)
    tour = Tour(site, page, lang, "planted")
    tour.goto("/")
    page.evaluate("html => document.querySelector('main').insertAdjacentHTML('beforeend', html)",
                  f'<img src="/favicon.ico"><h4>A level skipped</h4>{planted}')
    tour.check()
    page.close()
    found = "\n".join(tour.found)
    for rule in ("image-alt (critical)", "heading-order (moderate)", "language-of-parts"):
        assert rule in found, found


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("audience", AUDIENCES)
def test_every_page_has_no_accessibility_violation(site: Site, pages, audience: str, lang: str) -> None:  # type: ignore[no-untyped-def]
    tour = Tour(site, pages[audience], lang, audience)
    go_round(tour)
    site.tours.add(f"{audience} {lang}")
    if tour.found:
        pytest.fail(report(tour.found), pytrace=False)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_sign_in_steps_have_no_accessibility_violation(browser, site: Site, pages, lang: str) -> None:  # type: ignore[no-untyped-def]
    """Setting up the app (and the recovery codes), a code and its mistakes, a temporary password
    given by an admin and replaced at sign-in."""
    context = browser.new_context(locale="km-KH", viewport=PHONE, is_mobile=True, has_touch=True)
    tour = Tour(site, context.new_page(), lang, "signing in")
    page = tour.page
    page.goto(tour.url("/"))  # the language, kept in the session

    sign_in(page, site, f"newcomer-{lang}@example.org")
    page.wait_for_url(re.compile(r"/staff/login/enrol"))
    tour.check()
    page.fill("#code", "000000")
    tour.submit("button.primary", 401)
    tour.check("a wrong code")
    page.fill("#code", pyotp.TOTP(page.inner_text("#mfa-secret").replace(" ", "")).now())
    tour.submit("button.primary", 200)
    tour.check("recovery codes")
    page.click("#sign-out")

    sign_in(page, site, "ministry@example.org")
    page.wait_for_url(re.compile(r"/staff/login/code"))
    tour.check()
    page.fill("#code", "000000")
    tour.submit("form[action$='/login/code'] button", 401)
    tour.check("a wrong code")
    page.fill("#recovery_code", "not-a-code")
    tour.submit("form[action$='/login/recovery'] button", 401)
    tour.check("a wrong recovery code")
    page.fill("#code", mfa_code(site.app, "ministry@example.org"))
    tour.submit("form[action$='/login/code'] button", 200)  # on to the dashboard
    page.click("#sign-out")

    admin = Tour(site, pages["admin"], lang, "admin")
    admin.goto("/staff/accounts")
    temporary = admin.page.locator("section.account", has_text=f"temporary-{lang}@example.org")
    with admin.page.expect_navigation():
        temporary.locator("button.reset-password").click()
    admin.check("a temporary password")
    password = admin.page.inner_text("#temporary-password")
    admin.goto("/staff/accounts")
    with admin.page.expect_navigation():
        admin.page.locator("section.account", has_text=f"newcomer-{lang}@example.org").locator("button.reset-mfa").click()
    admin.check("a message")

    sign_in(page, site, f"temporary-{lang}@example.org", password)
    type_code(page, site.app, f"temporary-{lang}@example.org")
    page.wait_for_url(re.compile(r"/staff/login/new-password"))
    tour.check()
    page.fill("#new_password", "short")
    tour.submit("button.primary", 422)
    tour.check("a password too short")
    context.close()
    site.tours.add(f"signing in {lang}")
    if tour.found + admin.found:
        pytest.fail(report(tour.found + admin.found), pytrace=False)


def test_every_page_and_template_was_checked(site: Site) -> None:
    expected = {f"{a} {lang}" for a in AUDIENCES + ("signing in",) for lang in LANGUAGES}
    if site.tours != expected:
        pytest.skip("runs after the whole module only")
    pages = {r.endpoint for r in get_routes(site.app)} - set(NOT_PAGES)
    assert not pages - site.checked, f"GET routes axe never ran on: {sorted(pages - site.checked)}"
    templates = {p.relative_to(TEMPLATES).as_posix() for p in TEMPLATES.rglob("*.html")
                 if not p.name.startswith("_") and p.name != "base.html"}
    assert not templates - site.rendered, (f"templates never shown to axe: add a recipe to RECIPES (or a step to "
                                           f"test_sign_in_steps): {sorted(templates - site.rendered)}")
