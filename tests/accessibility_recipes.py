"""How to reach every page of the app, and the states behind its forms, for the accessibility
test: every GET route of the URL map is visited; one without arguments as it is, the others
(and the states behind forms) by a recipe; routes that are no HTML page are listed."""
from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

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
    "health.health": "JSON for load balancers", "health.ready": "JSON for load balancers",
    "metrics.metrics": "Prometheus text for a scraper",
    "api.dhis2": "JSON", "api.indicator_list": "JSON", "api.openapi": "JSON", "api.stats": "JSON",
    "registration.district_options": "JSON for the form's script",
    "registration.commune_options": "JSON for the form's script",
    "imports.progress": "JSON for the batch page's script",
    "registration.certificate_pdf": "a PDF download (the certificate page it mirrors is checked)",
    "assisted.certificate_pdf": "a PDF download (the certificate page it mirrors is checked)",
    "events.export": "a CSV download",
    "imports.report": "a CSV download",
    "records.certificate_pdf": "a PDF download (the staff certificate page it mirrors is checked)",
    "imports.template": "a CSV or XLSX download",
    "imports.xlsform": "an XLSX download (the XLSForm)",
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
    register_states_at(tour, "/register")


def register_states_at(tour: Tour, path: str) -> None:
    """The registration form (public or assisted) as it opens, then with every field wrong."""
    tour.goto(path)
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


def verify_form_states(tour: Tour) -> None:
    """/verify by number, phone and date of birth: the form, then a match, none, a field missing."""
    person, page = tour.site.person, tour.page
    tour.goto("/verify")
    tour.check()
    if not tour.every_state:
        return
    for number, phone, status in (("0000-0001-29", person["phone"], 404), (person["number"], "", 422),
                                  (person["number"], person["phone"], 200)):
        tour.goto("/verify")
        page.fill("#registration_number", number)
        page.fill("#phone", phone)
        page.fill("#date_of_birth", person["date_of_birth"])
        tour.submit("button.primary", status)
        tour.check({404: "no match", 422: "a field missing", 200: "valid"}[status])


def verify_token_states(tour: Tour) -> None:
    """/verify/<token>: the link on the certificate (valid), and an altered one (not valid)."""
    if not tour.registered:
        prove(tour)
    tour.goto("/certificate")
    path = urlsplit(tour.page.get_attribute("#verify-link", "href") or "").path
    tour.goto(path)
    tour.check("valid")
    if tour.every_state:
        tour.goto(path[:-1] + ("A" if path[-1] != "A" else "B"), 404)
        tour.check("not valid")


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


def mapping_states(tour: Tour) -> None:
    """The mapping step of a file with a form's own column names, as proposed, then confirmed
    with a required column left unmatched."""
    with tour.site.app.app_context():
        batch_id = db.session.scalar(sa.text("SELECT id FROM import_batch WHERE status = 'mapping'"))
    tour.goto(f"/staff/imports/{batch_id}/mapping")
    tour.check()
    if tour.every_state:
        tour.submit("button.primary", 422)  # "Worker type" left unmatched: no column category
        tour.check("a required column unmatched")


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


def export_states(tour: Tour) -> None:
    """The personal record export's confirmation page, and the page again without a language."""
    tour.goto(f"/staff/actors/{tour.site.person['number']}/export")
    tour.check()
    if not tour.every_state:
        return
    tour.page.evaluate("document.querySelectorAll('input[name=language]').forEach(e => { e.checked = false; })")
    tour.submit("#export-pdf", 422)
    tour.check("no language chosen")


ASSISTED = itertools.count(1)


def assisted_states(tour: Tour) -> None:
    """The assisted form empty, with every field wrong, then a person registered (their number
    kept on the tour for the confirmation and the certificate)."""
    register_states_at(tour, "/staff/register")
    n = next(ASSISTED)
    page = tour.page
    tour.goto("/staff/register")
    page.check("input[name=category][value=self_employed]")
    page.fill("#full_name", "Person Assisted")
    page.check("input[name=gender][value=female]")
    page.fill("#date_of_birth", f"{1 + n % 28:02d}/02/1991")
    page.fill("#phone", f"016 {n:03d} 555")
    page.select_option("#province", "12")
    page.wait_for_selector("#district option[value='1201']", state="attached")
    page.select_option("#district", "1201")
    page.wait_for_selector("#commune option[value='120101']", state="attached")
    page.select_option("#commune", "120101")
    page.select_option("#sector", "trade")
    page.check("input[name=consent]")
    tour.submit("button.primary", 200)  # the redirect to the confirmation, followed
    tour.assisted_number = page.url.split("?")[0].rsplit("/", 1)[1]  # type: ignore[attr-defined]


def with_assisted(suffix: str) -> Callable[[Tour], None]:
    def visit(tour: Tour) -> None:
        if not getattr(tour, "assisted_number", None):
            assisted_states(tour)
        tour.goto(f"/staff/register/{tour.assisted_number}{suffix}")  # type: ignore[attr-defined]
        tour.check()
    return visit


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


def events_states(tour: Tour) -> None:
    tour.goto("/staff/events")
    tour.check()
    tour.goto("/staff/events?kind=sign_in&from=2020-01-01&to=2030-12-31&subject=batch 1")
    tour.check("filtered")
    tour.goto("/staff/events?kind=nonsense&from=2025-13-01&account=x", 400)
    tour.check("every filter wrong")


def registrations(tour: Tour) -> tuple[str, str, str]:
    """Two active self-employed registrations without a national ID and the deactivated one
    (seed): the change pages' recipes change nothing, so every tour finds them the same."""
    with tour.site.app.app_context():
        first, second = db.session.scalars(sa.text(
            "SELECT registration_number FROM actor WHERE status = 'active' AND category = 'self_employed' "
            "AND national_id IS NULL ORDER BY id LIMIT 2")).all()
        deactivated = db.session.scalar(sa.text("SELECT registration_number FROM actor WHERE status = 'deactivated'"))
    return first, second, deactivated


def correct_states(tour: Tour) -> None:
    first, second, _deactivated = registrations(tour)
    page = tour.page
    tour.goto(f"/staff/actors/{first}/correct")
    tour.check()
    page.fill("#phone", "1")
    page.fill("#date_of_birth", "31/02/1990")
    tour.submit("button.primary", 422)  # no kind, no reason: every one named
    tour.check("every field wrong")
    with tour.site.app.app_context():
        other = db.session.execute(sa.text("SELECT full_name, phone FROM actor WHERE registration_number = :n"),
                                   {"n": second}).one()
    tour.goto(f"/staff/actors/{first}/correct")
    page.fill("#full_name", other.full_name)
    page.fill("#phone", other.phone)
    page.check("input[name=kind][value=correction]")
    page.fill("#reason", "Same person")
    tour.submit("button.primary", 409)
    tour.check("the same person as another registration")


def deactivate_states(tour: Tour) -> None:
    first, _second, _deactivated = registrations(tour)
    tour.goto(f"/staff/actors/{first}/deactivate")
    tour.check()
    tour.page.fill("#effective", "soon")
    tour.submit("button.primary", 422)
    tour.check("no reason, no date")


def reactivate_states(tour: Tour) -> None:
    _first, _second, deactivated = registrations(tour)
    tour.goto(f"/staff/actors/{deactivated}/reactivate")
    tour.check()
    tour.submit("button.primary", 422)
    tour.check("no reason")


def merge_states(tour: Tour) -> None:
    first, second, _deactivated = registrations(tour)
    page = tour.page
    tour.goto(f"/staff/actors/{first}/merge")
    tour.check()
    page.fill("#other", first)
    tour.submit("button.primary", 422)  # into itself, no reason
    tour.check("refused")
    page.fill("#other", second)
    page.fill("#reason", "Same person, two phones")
    tour.submit("button.primary", 200)
    tour.check("both side by side")


def update_states(tour: Tour) -> None:
    """/update: the proof (as on /status), then the request form, wrong and sent."""
    person, page = tour.site.person, tour.page
    tour.goto("/update")
    if page.locator("button[name=step][value=finish]").count():  # proved on /status before: finish first
        tour.submit("button[name=step][value=finish]", 200)
    tour.check()
    if not tour.every_state:
        return
    for number, status in (("0000-0001-29", 404), (person["number"], 303)):
        tour.goto("/update")
        page.fill("#registration_number", number)
        page.fill("#phone", person["phone"])
        page.fill("#date_of_birth", person["date_of_birth"])
        tour.submit("button.primary", 404 if status == 404 else 200)
        tour.check("no match" if status == 404 else "proved: the request form")
    page.fill("#phone", "1")
    tour.submit("button[name=step][value=change]", 422)
    tour.check("a field wrong")
    page.fill("#phone", "012 000 999")
    tour.submit("button[name=step][value=change]", 200)
    tour.check("request sent")


def pending_request(tour: Tour) -> int:
    """A pending change request of the seeded person (sent through the service when none is)."""
    from registry import clock
    from registry.actors.models import Actor
    from registry.change_requests import services

    with tour.site.app.app_context():
        number = tour.site.person["number"]
        actor = db.session.scalar(sa.select(Actor).where(Actor.registration_number == number))
        found = db.session.scalar(sa.text("SELECT id FROM change_request WHERE actor_id = :a AND status = 'pending'"),
                                  {"a": actor.id})
        if found is None:
            found = services.submit(db.session, actor, "change", {"sector": "transport"}, now=clock.now()).id
            db.session.commit()
    return int(found)


def requests_states(tour: Tour) -> None:
    pending_request(tour)
    tour.goto("/staff/requests")
    tour.check()


def request_states(tour: Tour) -> None:
    """A request beside the record; a rejection without its reason (nothing is decided)."""
    request_id = pending_request(tour)
    tour.goto(f"/staff/requests/{request_id}")
    tour.check()
    tour.submit("#reject", 422)
    tour.check("no reason")


def _duplicate_pair(tour: Tour) -> int:
    """A pair in the review queue (two active registrations of one province; stored once,
    whichever recipe comes first: the recipes decide nothing, so every tour finds it)."""
    from registry import clock
    from registry.duplicates.blocking import Found
    from registry.duplicates.services import store

    with tour.site.app.app_context():
        first, second = db.session.scalars(sa.text(
            "SELECT id FROM actor WHERE status = 'active' AND category = 'self_employed' AND province_code = '12'"
            " ORDER BY id LIMIT 2")).all()
        store(db.session, [Found(first, second, 85, ("same_birth_roman", "phone_near"), "12")], source="scan", now=clock.now())
        db.session.commit()
        return db.session.scalar(sa.text("SELECT id FROM duplicate_pair WHERE first_actor_id = :a AND second_actor_id = :b"),
                                 {"a": first, "b": second})


def duplicates_states(tour: Tour) -> None:
    _duplicate_pair(tour)
    tour.goto("/staff/duplicates")
    tour.check()


def duplicate_pair_states(tour: Tour) -> None:
    tour.goto(f"/staff/duplicates/{_duplicate_pair(tour)}")
    tour.check()
    if not tour.every_state:
        return
    tour.page.fill("#reason", "")
    tour.submit("#merge", 422)  # which one stays not chosen, no reason
    tour.check("refused")


RECIPES: dict[str, Callable[[Tour], None]] = {
    "updates.update": update_states,
    "change_requests.index": requests_states,
    "change_requests.show": request_states,
    "duplicates.index": duplicates_states,
    "duplicates.pair": duplicate_pair_states,
    "records.index": records_states,
    "records.record": record_page(""),
    "records.certificate": record_page("/certificate"),
    "assisted.register": assisted_states,
    "assisted.done": with_assisted(""),
    "assisted.certificate": with_assisted("/certificate"),
    "events.index": events_states,
    "registration.register": register_states,
    "registration.status": status_states,
    "registration.recover": recover_states,
    "registration.done": with_registration("/register/done"),
    "registration.certificate": with_registration("/certificate"),
    "verify.by_number": verify_form_states,
    "verify.check": verify_token_states,
    "staff.login": login_states,
    "dashboard.index": states("/dashboard", "/dashboard?year=2024", "/dashboard?year=2024&area=12"),
    "dashboard.public": states("/stats", "/stats?year=2024", "/stats?year=2024&area=12", "/stats?year=2024&area=1201"),
    "dashboard.edit_indicator": indicator_states,
    "imports.index": imports_states,
    "imports.batch": batch_states,
    "import_mappings.batch_mapping": mapping_states,
    "accounts.account": account_states,
    "tokens.index": tokens_states,
    "record_export.confirm": export_states,
    "changes.correct": correct_states,
    "changes.deactivate": deactivate_states,
    "changes.reactivate": reactivate_states,
    "changes.merge": merge_states,
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


def _waiting_for_mapping(app: Flask, folder: Path) -> None:
    """An upload of outreach@example.org whose columns are a field tool's own: it waits for the mapping step."""
    from registry import clock
    from registry.imports.services import create_batch
    from tests.import_files import HEADER, good, write_csv

    header = ["Worker type", "Name", "Sex", "Born", "ID card", "Mobile", "Province", "District", "Commune",
              "Line of work", "Shop", "Staff", "Date"]
    uploads = Path(app.config["IMPORT_UPLOAD_FOLDER"])
    uploads.mkdir(parents=True, exist_ok=True)
    path = write_csv(uploads / "kobo.csv", [good(200 + i, category="Street vendor") for i in range(3)], header)
    assert HEADER[0] == "category"
    with app.app_context():
        by_id = db.session.scalar(sa.text("SELECT id FROM staff_user WHERE email = 'outreach@example.org'"))
        create_batch(db.session, path, path.name, uploaded_by_id=by_id, province_code=None, now=clock.now(), mapping_step=True)
        db.session.commit()


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
    with app.app_context():  # one registration deactivated, for the reactivation page
        leaving = db.session.scalar(sa.text("SELECT max(registration_number) FROM actor WHERE category = 'self_employed'"))
    result = runner.invoke(args=["actors", "deactivate", leaving, "--reason", "left", "--effective", "2025-01-10",
                                 "--by", "admin@example.org"])
    assert result.exit_code == 0, result.output
    _waiting_for_mapping(app, folder)
    with app.app_context():
        batches = list(db.session.scalars(sa.text("SELECT id FROM import_batch ORDER BY id")))[1:]
        indicator_id = db.session.scalar(sa.text("SELECT min(id) FROM indicator"))
        number = db.session.scalar(sa.text("SELECT registration_number FROM actor WHERE full_name = 'Person BA'"))
    person = {"number": number, "phone": "012 000 001", "date_of_birth": "25/01/1990", "full_name": "Person BA"}
    return batches, indicator_id, person

