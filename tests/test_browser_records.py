"""Real Chromium, at 360 px with JavaScript off and on a desktop: a ministry officer finds a
person by a Khmer name spaced differently, by a phone typed +855 12 345 678 and by a number
without dashes, and opens the record; the search terms never reach the address bar."""
from __future__ import annotations

import re

import pytest

from tests.helpers import PASSWORD, make_user
from tests.test_browser import CHROMIUM, PHONE, SCREENSHOTS, browser, fits_the_screen, server, type_code  # noqa: F401
from tests.test_records import PEOPLE, store

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium not installed (make test installs it with apt-get when run as root)")
DESKTOP = {"width": 1280, "height": 900}


@pytest.mark.parametrize(("viewport", "javascript"), [(PHONE, False), (DESKTOP, True)], ids=["360px-no-js", "desktop"])
def test_an_officer_finds_a_person_three_ways_and_opens_the_record(browser, server, app, viewport, javascript) -> None:  # type: ignore[no-untyped-def]
    numbers = store(app, PEOPLE)
    make_user(app, "ministry@example.org", "ministry")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_context(locale="km-KH", viewport=viewport, java_script_enabled=javascript).new_page()
    page.goto(f"{server}/staff/login")
    page.fill("#email", "ministry@example.org")
    page.fill("#password", PASSWORD)
    page.click("button.primary")
    type_code(page, app, "ministry@example.org")
    page.wait_for_url(re.compile(r"/dashboard"))
    page.click('#staff-bar a[href="/staff/actors"]')
    page.wait_for_url(re.compile(r"/staff/actors$"))
    assert fits_the_screen(page)

    for typed, expected in (("សុខដារា", numbers[0]), ("+855 12 345 678", numbers[0]), (numbers[2], numbers[2])):
        page.goto(f"{server}/staff/actors")
        page.fill("#q", typed)
        page.click("#search")
        page.wait_for_url(re.compile(r"/staff/actors\?search=\d+$"))
        links = page.locator("a.record-link")
        assert links.count() == 1, typed
        assert links.first.inner_text().replace("-", "") == expected
        assert fits_the_screen(page)
    page.screenshot(path=str(SCREENSHOTS / f"records-search-{viewport['width']}.png"), full_page=True)

    page.locator("a.record-link").first.click()
    page.wait_for_url(re.compile(rf"/staff/actors/{numbers[2]}$"))
    assert page.inner_text("#record-number").replace("-", "") == numbers[2]
    assert "+85517444555" in page.inner_text("#phone-value") and fits_the_screen(page)
    page.screenshot(path=str(SCREENSHOTS / f"records-record-{viewport['width']}.png"), full_page=True)
    page.context.close()
