"""Real Chromium on a 360-px-wide phone screen: Khmer form, JS-enhanced and JS-free paths.
Every browser is set up as a Cambodian phone (locale km-KH: Accept-Language is honoured)."""
from __future__ import annotations

import re
import shutil
import threading
from pathlib import Path
from typing import Iterator

import pytest
from werkzeug.serving import make_server

from tests.helpers import count_actors

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium not installed (make test installs it with apt-get when run as root)"
)
PHONE = {"width": 360, "height": 740}
SCREENSHOTS = Path(__file__).resolve().parent.parent / "instance" / "screenshots"


@pytest.fixture
def server(app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        yield browser
        browser.close()


def type_code(page, app, email: str) -> None:  # type: ignore[no-untyped-def]
    """The second sign-in step: the code the authenticator app shows."""
    from tests.helpers import mfa_code

    page.wait_for_url(re.compile(r"/staff/login/code"))
    page.fill("#code", mfa_code(app, email))
    page.click("button.primary")


def fits_the_screen(page) -> bool:  # type: ignore[no-untyped-def]
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def fill_person(page, *, category: str, name: str, gender: str, born: str, phone: str,  # type: ignore[no-untyped-def]
                area: tuple[str, str, str], sector: str, javascript: bool = True) -> None:
    """Fill the registration form as a person would; area lists load by JS or by the refresh buttons."""
    province, district, commune = area
    page.check(f"input[name=category][value={category}]")
    page.fill("#full_name", name)
    page.check(f"input[name=gender][value={gender}]")
    page.fill("#date_of_birth", born)
    page.fill("#phone", phone)
    page.select_option("#province", province)
    if javascript:
        page.wait_for_selector(f"#district option[value='{district}']", state="attached")
    else:
        page.click("button.refresh[value=province]")
    page.select_option("#district", district)
    if javascript:
        page.wait_for_selector(f"#commune option[value='{commune}']", state="attached")
    else:
        page.click("button.refresh[value=district]")
    page.select_option("#commune", commune)
    page.select_option("#sector", sector)
    page.check("input[name=consent]")


def test_worker_registers_in_khmer_on_a_phone_with_javascript(browser, server, app) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(locale="km-KH", viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(f"{server}/register")
    assert page.locator("html").get_attribute("lang") == "km"
    assert fits_the_screen(page)
    assert not page.locator("button.refresh").first.is_visible()  # JS replaces the refresh buttons
    assert not page.locator("#micro-enterprise").is_visible()

    fill_person(page, category="micro_enterprise", name="ស្រី ពៅ", gender="female", born="០៨/០៣/១៩៨៨",
                phone="097 1234 567", area=("17", "1702", "170201"), sector="food_service")
    assert page.locator("#micro-enterprise").is_visible()
    page.fill("#business_name", "ហាងបាយ ពៅ")
    page.fill("#workers", "3")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "register-360.png"), full_page=True)
    page.click("button.primary")

    page.wait_for_url(re.compile(r"/register/done$"))
    number = page.inner_text("#registration-number")
    assert re.fullmatch(r"\d{4}-\d{4}-\d{2}", number)
    assert fits_the_screen(page)
    page.click("a.primary")
    page.wait_for_url(re.compile(r"/certificate$"))
    assert page.inner_text("#certificate-number") == number
    assert page.is_visible("#print") and not page.is_visible(".print-hint")  # JavaScript runs: a Print button
    page.screenshot(path=str(SCREENSHOTS / "certificate-360.png"), full_page=True)
    assert count_actors(app) == 1
    context.close()


def test_worker_registers_with_javascript_off(browser, server, app) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(locale="km-KH", viewport=PHONE, java_script_enabled=False, accept_downloads=True)
    page = context.new_page()
    page.goto(f"{server}/register?lang=en")
    fill_person(page, category="self_employed", name="Sok Dara", gender="male", born="25/01/1990",
                phone="012 345 678", area=("12", "1201", "120101"), sector="trade", javascript=False)
    assert page.input_value("#full_name") == "Sok Dara"  # kept across the refreshes
    page.click("button.primary")
    page.wait_for_url(re.compile(r"/register/done$"))
    assert "You are registered" in page.content()
    number = page.inner_text("#registration-number")
    with page.expect_download() as download:  # a plain link: no JavaScript needed
        page.click("text=Download certificate (PDF)")
    assert download.value.suggested_filename == f"certificate-{number}.pdf"
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF-")
    assert count_actors(app) == 1
    page.goto(f"{server}/certificate")
    assert not page.is_visible("#print") and page.is_visible(".print-hint")  # no JavaScript: the hint says how
    context.close()


@pytest.mark.parametrize("longest", [False, True], ids=["usual", "longest-values"])
def test_certificate_prints_on_one_a4_page(browser, server, app, longest: bool) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(locale="km-KH")
    page = context.new_page()
    page.goto(f"{server}/register?lang=en")
    fill_person(page, category="micro_enterprise" if longest else "employee", name="W" * 100 if longest else "Chan Sophea",
                gender="female", born="1995-03-08", phone="011 222 333", area=("02", "0203", "020301"), sector="repair")
    if longest:
        page.fill("#business_name", "W" * 120)
        page.fill("#workers", "10")
    page.click("button.primary")
    page.wait_for_url(re.compile(r"/register/done$"))
    page.goto(f"{server}/certificate")
    page.emulate_media(media="print")
    # The frame fills the printed page (the rows share the height), and long names wrap inside it.
    assert page.evaluate("document.querySelector('.certificate').getBoundingClientRect().height") > 900
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / f"certificate{'-longest' if longest else ''}.pdf").write_bytes(pdf)
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1  # exactly one page object
    context.close()


def test_outreach_officer_uploads_a_file_and_watches_it_finish(browser, server, app, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.helpers import PASSWORD, make_user
    from tests.import_files import mixed_rows, write_xlsx

    make_user(app, "officer@example.org", "outreach")
    path = write_xlsx(tmp_path / "market.xlsx", [row for row, _, _ in mixed_rows()])
    context = browser.new_context(locale="km-KH", viewport=PHONE, accept_downloads=True)
    page = context.new_page()
    page.goto(f"{server}/staff/imports?lang=en")
    page.fill("#email", "officer@example.org")
    page.fill("#password", PASSWORD)
    page.click("button.primary")
    type_code(page, app, "officer@example.org")
    page.wait_for_url(re.compile(r"/staff/imports(\?.*)?$"))
    page.set_input_files("#file", str(path))
    page.check("input[name=consent]")
    page.click("button.primary")
    page.wait_for_url(re.compile(r"/staff/imports/\d+$"))
    page.wait_for_selector("#report:not([hidden])", timeout=30_000)  # the JS poller shows the report link
    assert page.inner_text("#imported") == "4"
    assert page.inner_text("#rows") == page.inner_text("#total")
    assert fits_the_screen(page)
    with page.expect_download() as download:
        page.click("#report-link")
    report = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert report.splitlines()[0].startswith("row,outcome,errors,category")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "import-360.png"), full_page=True)
    context.close()


def test_ministry_dashboard_and_public_stats_fit_a_phone_and_print(browser, server, app, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.helpers import PASSWORD, make_user
    from tests.import_files import good, write_csv

    runner = app.test_cli_runner()
    rows = [good(i, category=("employee", "self_employed")[i % 2]) for i in range(40)]
    assert runner.invoke(args=["import-actors", str(write_csv(tmp_path / "r.csv", rows))]).exit_code == 0
    assert runner.invoke(args=["load-indicators"]).exit_code == 0
    make_user(app, "minister@example.org", "ministry")
    context = browser.new_context(locale="km-KH", viewport=PHONE)
    page = context.new_page()
    page.goto(f"{server}/stats?year=2024")  # public, Khmer by default
    assert page.inner_text("#total") == "40"
    assert page.locator(".breakdown").count() == page.locator(".breakdown details.as-table").count() >= 5  # each once
    assert page.locator("ul.meters meter").count() >= 10 and page.locator(".chart svg").count() >= 1
    assert fits_the_screen(page)
    page.goto(f"{server}/dashboard?year=2024&lang=en")
    page.fill("#email", "minister@example.org")
    page.fill("#password", PASSWORD)
    page.click("button.primary")
    type_code(page, app, "minister@example.org")
    page.wait_for_url(re.compile(r"/dashboard"))
    page.goto(f"{server}/dashboard?year=2024")
    assert page.inner_text("#indicator-IE_ACTORS_TOTAL td.live") == "40"
    # The indicator table reflows into cards: nothing scrolls inside its box at 360 px.
    assert page.evaluate("(() => { const t = document.querySelector('#indicators');"
                         " return t.scrollWidth <= t.parentElement.clientWidth; })()")
    assert fits_the_screen(page)
    page.click("#by_area a[href*='area=12']")  # drill down from the table of provinces
    page.wait_for_url(re.compile(r"area=12"))
    assert page.inner_text("#total") == "40"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "dashboard-360.png"), full_page=True)
    assert page.pdf(format="A4")[:4] == b"%PDF"
    context.close()


def test_staff_bar_fits_a_phone_and_signs_out_without_javascript(browser, server, app) -> None:  # type: ignore[no-untyped-def]
    from tests.helpers import PASSWORD, make_user

    make_user(app, "administrator.of.the.registry@example.org", "admin")
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{server}/staff/login")  # Khmer, the default: the longer labels
    page.fill("#email", "administrator.of.the.registry@example.org")
    page.fill("#password", PASSWORD)
    page.click("button.primary")
    type_code(page, app, "administrator.of.the.registry@example.org")
    page.wait_for_url(re.compile(r"/staff$"))
    bar = page.locator("#staff-bar")
    assert bar.is_visible() and "administrator.of.the.registry@example.org" in bar.inner_text()
    with app.test_request_context():
        from registry.web.navigation import pages_for

        offered = len(pages_for("admin"))  # every staff page an admin may open (9 today)
    assert bar.locator("a").count() == offered and bar.locator("a[aria-current=page]").get_attribute("href") == "/staff"
    assert fits_the_screen(page)
    for link in [*bar.locator("a").all(), bar.locator("#sign-out")]:  # every link and the button inside the screen's width
        box = link.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "staff-bar-360.png"), full_page=True)
    page.click("#sign-out")
    page.wait_for_url(re.compile(r"/$|/\?"))
    assert page.locator("#staff-bar").count() == 0
    context.close()
