"""Accessibility as a test: axe-core (vendored, tests/vendor/axe-core) in real Chromium on every
page of the app, in Khmer and English, signed out and signed in as each role that may open it,
and in the pages' error states: no violation of WCAG 2.0/2.1 A and AA or of axe's best practices,
nor of WCAG 3.1.2 (tests/accessibility_checks.py).

Every GET route is covered (tests/accessibility_recipes.py): one without arguments is visited as
it is, so a page added later is checked with no change; `RECIPES` reach the others and the states
behind a form; `NOT_PAGES` says, for each route that is no HTML page, what it is. The last test
fails when a GET route or a template was never checked.

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
from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest
from flask import Flask, template_rendered
from werkzeug.serving import make_server

from tests.accessibility_checks import AXE, AXE_SHA256, Site, Tour, phone, report
from tests.accessibility_recipes import (
    AUDIENCES, LANGUAGES, NOT_PAGES, RECIPES, ROLES, get_routes, go_round, seed,
)
from tests.helpers import OPEN_APPS, PASSWORD, POSTGRES_URL, close_app, empty_postgres, make_app, mfa_code
from tests.test_browser import CHROMIUM, browser, type_code  # noqa: F401  (browser: the module's Chromium)

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium not installed (make test installs it with apt-get when run as root)")
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


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
        page = phone(browser).new_page()
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
    page = phone(browser).new_page()
    tour = Tour(site, page, lang, "planted")
    tour.goto("/")
    page.evaluate("html => document.querySelector('main').insertAdjacentHTML('beforeend', html)",
                  f'<img src="/favicon.ico"><h4>A level skipped</h4>{planted}')
    tour.check()
    page.context.close()
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
    context = phone(browser)
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
    tour.submit("#sign-out", 200)

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
    tour.submit("#sign-out", 200)

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
