"""Real Chromium on a 360-px-wide phone screen: Khmer form, JS-enhanced and JS-free paths."""
from __future__ import annotations

import re
import shutil
import threading
from pathlib import Path
from typing import Iterator

import pytest
from werkzeug.serving import make_server

from tests.conftest import count_actors

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


def fits_the_screen(page) -> bool:  # type: ignore[no-untyped-def]
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_worker_registers_in_khmer_on_a_phone_with_javascript(browser, server, app) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(f"{server}/register")
    assert page.locator("html").get_attribute("lang") == "km"
    assert fits_the_screen(page)
    assert not page.locator("button.refresh").first.is_visible()  # JS replaces the refresh buttons
    assert not page.locator("#micro-enterprise").is_visible()

    page.check("input[name=category][value=micro_enterprise]")
    assert page.locator("#micro-enterprise").is_visible()
    page.fill("#full_name", "ស្រី ពៅ")
    page.check("input[name=gender][value=female]")
    page.fill("#date_of_birth", "០៨/០៣/១៩៨៨")
    page.fill("#phone", "097 1234 567")
    page.select_option("#province", "17")
    page.wait_for_selector("#district option[value='1702']", state="attached")
    page.select_option("#district", "1702")
    page.wait_for_selector("#commune option[value='170201']", state="attached")
    page.select_option("#commune", "170201")
    page.select_option("#sector", "food_service")
    page.fill("#business_name", "ហាងបាយ ពៅ")
    page.fill("#workers", "3")
    page.check("input[name=consent]")
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
    page.screenshot(path=str(SCREENSHOTS / "certificate-360.png"), full_page=True)
    assert count_actors(app) == 1
    context.close()


def test_worker_registers_with_javascript_off(browser, server, app) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{server}/register?lang=en")
    page.check("input[name=category][value=self_employed]")
    page.fill("#full_name", "Sok Dara")
    page.check("input[name=gender][value=male]")
    page.fill("#date_of_birth", "25/01/1990")
    page.fill("#phone", "012 345 678")
    page.select_option("#province", "12")
    page.click("button.refresh[value=province]")
    page.select_option("#district", "1201")
    page.click("button.refresh[value=district]")
    page.select_option("#commune", "120101")
    page.select_option("#sector", "trade")
    page.check("input[name=consent]")
    assert page.input_value("#full_name") == "Sok Dara"  # kept across the refreshes
    page.click("button.primary")
    page.wait_for_url(re.compile(r"/register/done$"))
    assert "You are registered" in page.content()
    assert count_actors(app) == 1
    context.close()


def test_certificate_prints_on_one_a4_page(browser, server, app) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{server}/register?lang=en")
    page.check("input[name=category][value=employee]")
    page.fill("#full_name", "Chan Sophea")
    page.check("input[name=gender][value=female]")
    page.fill("#date_of_birth", "1995-03-08")
    page.fill("#phone", "011 222 333")
    page.select_option("#province", "02")
    page.wait_for_selector("#district option[value='0203']", state="attached")
    page.select_option("#district", "0203")
    page.wait_for_selector("#commune option[value='020301']", state="attached")
    page.select_option("#commune", "020301")
    page.select_option("#sector", "repair")
    page.check("input[name=consent]")
    page.click("button.primary")
    page.wait_for_url(re.compile(r"/register/done$"))
    page.goto(f"{server}/certificate")
    page.emulate_media(media="print")
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "certificate.pdf").write_bytes(pdf)
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1  # exactly one page object
    context.close()


def test_outreach_officer_uploads_a_file_and_watches_it_finish(browser, server, app, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import PASSWORD, make_user
    from tests.import_files import mixed_rows, write_xlsx

    make_user(app, "officer@example.org", "outreach")
    path = write_xlsx(tmp_path / "market.xlsx", [row for row, _, _ in mixed_rows()])
    context = browser.new_context(viewport=PHONE, accept_downloads=True)
    page = context.new_page()
    page.goto(f"{server}/staff/imports?lang=en")
    page.fill("#email", "officer@example.org")
    page.fill("#password", PASSWORD)
    page.click("button.primary")
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
