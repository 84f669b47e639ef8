"""Real Chromium, 360 px wide, JavaScript off, in Khmer: a ministry officer makes an API token,
copies it off the page once, a program reads with it, and the officer revokes it."""
from __future__ import annotations

import json
import re
import urllib.error
import urllib.request

import pytest

from tests.helpers import PASSWORD, make_user
from tests.test_browser import CHROMIUM, PHONE, SCREENSHOTS, browser, fits_the_screen, server, type_code  # noqa: F401

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium not installed (make test installs it with apt-get when run as root)")


def read_api(url: str, token: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - our own test server
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def test_a_ministry_officer_makes_copies_and_revokes_a_token_on_a_phone(browser, server, app) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "minister@example.org", "ministry")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_context(locale="km-KH", viewport=PHONE, java_script_enabled=False).new_page()
    page.goto(f"{server}/staff/login")
    page.fill("#email", "minister@example.org")
    page.fill("#password", PASSWORD)
    page.click("button.primary")
    type_code(page, app, "minister@example.org")
    page.wait_for_url(re.compile(r"/dashboard"))
    page.click('#staff-bar a[href="/staff/tokens"]')
    page.wait_for_url(re.compile(r"/staff/tokens$"))
    assert fits_the_screen(page)

    page.click("#make-token")  # nothing filled in: the fields say what is missing
    assert page.locator("#name-error").is_visible() and page.locator("#scopes-error").is_visible() and fits_the_screen(page)
    page.fill("#name", "ម៉ាស៊ីន DHIS2 របស់ក្រសួង")
    for scope in ("statistics", "exact_counts", "dhis2"):
        page.check(f"input[name=scopes][value={scope}]")
    page.check("input[name=days][value='365']")
    page.click("#make-token")
    token = page.inner_text("#api-token").strip()
    assert re.fullmatch(r"ier_[0-9a-f]{12}_[A-Za-z0-9_-]{43}", token)
    assert token in page.inner_text("#curl-example") and fits_the_screen(page)
    page.screenshot(path=str(SCREENSHOTS / "api-token-created-360.png"), full_page=True)

    status, payload = read_api(f"{server}/api/v1/stats", token)
    assert status == 200 and payload["exact"] is True
    assert read_api(f"{server}/api/v1/dhis2/dataValueSet", token)[0] == 200

    page.click("#done")
    page.wait_for_url(re.compile(r"/staff/tokens$"))
    assert token not in page.content() and token[:16] in page.content()
    page.locator("section.token", has_text="DHIS2").locator("button.revoke").click()
    page.wait_for_url(re.compile(r"/staff/tokens$"))
    assert page.locator("section.token-revoked").count() == 1 and fits_the_screen(page)
    page.screenshot(path=str(SCREENSHOTS / "api-tokens-360.png"), full_page=True)
    status, payload = read_api(f"{server}/api/v1/stats", token)
    assert status == 401 and payload["error"]["field"] == "Authorization"
    page.context.close()
