"""How to reach every page of the app, and the states behind its forms, for the accessibility
test: every GET route of the URL map is visited; one without arguments as it is, the others
(and the states behind forms) by a recipe; routes that are no HTML page are listed."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from registry.extensions import db
from tests.accessibility_checks import Tour
from tests.helpers import make_user

LANGUAGES = ("km", "en")
ROLES = ("outreach", "ministry", "admin")
AUDIENCES = ("signed out",) + ROLES

# GET routes that are no HTML page (POST-only routes are no GET route and need no entry).
NOT_PAGES = {
    "static": "CSS, scripts, fonts",
    "stale_static": "a redirect from an old static address to the current one",
    "favicon": "an image",
    "api.dhis2": "JSON", "api.indicator_list": "JSON", "api.openapi": "JSON", "api.stats": "JSON",
    "registration.district_options": "JSON for the form's script",
    "registration.commune_options": "JSON for the form's script",
    "imports.progress": "JSON for the batch page's script",
    "registration.certificate_pdf": "a PDF download (the certificate page it mirrors is checked)",
    "imports.report": "a CSV download",
    "records.certificate_pdf": "a PDF download (the staff certificate page it mirrors is checked)",
    "imports.template": "a CSV or XLSX download",
    "dashboard.export": "a CSV or XLSX download",
}
# Steps of signing in, reached only half-way through it: visited by test_sign_in_steps.
SIGN_IN_STEPS = {"staff.code", "staff.enrol", "staff.new_password"}


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


def tokens_states(tour: Tour) -> None:
    page = tour.page
    tour.goto("/staff/tokens")
    tour.check()
    tour.submit("#make-token", 422)  # no name, no scope, no lifetime
    tour.check("nothing chosen")
    # A name, as people give them: what people type is of no language the page can know, and the
    # language-of-parts check lets capitalised names pass in either language.
    page.fill("#name", f"DHIS2 Server {tour.lang.upper()}")
    page.locator("input[name=scopes]").first.check()
    page.locator("input[name=days]").first.check()
    tour.submit("#make-token", 200)
    tour.check("a new token")
    tour.goto("/staff/tokens")
    tour.submit("button.revoke", 200)
    tour.check("a token revoked")


def records_states(tour: Tour) -> None:
    """Staff search: the empty form, a term that cannot be searched, results with a next page."""
    tour.goto("/staff/actors")
    tour.check()
    tour.page.fill("#q", "12")
    tour.submit("#search", 422)
    tour.check("a term that is no number, phone or name")
    tour.page.fill("#q", "person")
    tour.submit("#search", 200)
    tour.check("results")


def record_page(suffix: str) -> Callable[[Tour], None]:
    """A record, or its certificate printed again by staff."""
    def visit(tour: Tour) -> None:
        tour.goto(f"/staff/actors/{tour.site.person['number']}{suffix}")
        tour.check()
    return visit


RECIPES: dict[str, Callable[[Tour], None]] = {
    "records.index": records_states,
    "records.record": record_page(""),
    "records.certificate": record_page("/certificate"),
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
    "tokens.index": tokens_states,
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


def seed(app: Flask, folder: Path) -> tuple[list[int], int, dict[str, str]]:
    """What the recipes need: an account per role (and some to sign in for the first time, or with
    a temporary password), registrations, two import batches with rows not stored, indicators."""
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

