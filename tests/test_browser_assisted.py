"""Real Chromium, 360 px wide, in Khmer: an outreach officer registers two people in a row
on a phone (JavaScript on for the first, off for the second), each with their own number,
certificate and PDF, without signing out."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers import PASSWORD, count_actors, make_user
from tests.test_browser import (  # noqa: F401
    CHROMIUM, PHONE, SCREENSHOTS, browser, fill_person, fits_the_screen, server, type_code,
)

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium not installed (make test installs it with apt-get when run as root)")


def sign_in(page, base: str, app, email: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/staff/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button.primary")
    type_code(page, app, email)
    page.wait_for_url(re.compile(r"/staff/imports"))


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
def test_an_officer_registers_two_people_in_a_row_on_a_phone(browser, server, app, javascript: bool) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "officer@example.org", "outreach", "12")
    context = browser.new_context(locale="km-KH", viewport=PHONE, java_script_enabled=javascript, accept_downloads=True)
    page = context.new_page()
    sign_in(page, server, app, "officer@example.org")
    page.click('#staff-bar a[href="/staff/register"]')
    page.wait_for_url(re.compile(r"/staff/register$"))
    assert fits_the_screen(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    numbers = []
    for name, phone in (("សុខ ដារា", "012 345 678"), ("ចាន់ វណ្ណា", "017 654 321")):
        assert page.input_value("#full_name") == ""  # a fresh, empty form each time
        fill_person(page, category="self_employed", name=name, gender="female", born="25/01/1990", phone=phone,
                    area=("12", "1201", "120101"), sector="trade", javascript=javascript)
        page.check("input[name=consent]")
        page.click("button.primary")
        page.wait_for_url(re.compile(r"/staff/register/\d{10}$"))
        number = page.inner_text("#registration-number")
        assert fits_the_screen(page)
        with page.expect_download() as download:
            page.click("#download-certificate")
        assert download.value.suggested_filename == f"certificate-{number}.pdf"
        assert Path(download.value.path()).read_bytes().startswith(b"%PDF-")
        page.click("#print-certificate")
        page.wait_for_url(re.compile(r"/certificate$"))
        assert page.inner_text("#certificate-number") == number and name in page.content()
        page.screenshot(path=str(SCREENSHOTS / f"assisted-certificate-{len(numbers)}.png"), full_page=True)
        page.go_back()
        page.click("#register-another")
        page.wait_for_url(re.compile(r"/staff/register$"))
        numbers.append(number)
    assert len(set(numbers)) == 2 and count_actors(app) == 2
    context.close()
