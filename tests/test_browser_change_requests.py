"""The issue's Done-when in real Chromium at 360 px with JavaScript off: a worker asks to change
their phone at /update; a province officer approves it; the record's history shows the request
as the reason; /status shows it applied. A wrong date of birth reveals nothing."""
from __future__ import annotations

import re

import pytest

from tests.helpers import PASSWORD, make_user
from tests.test_browser import CHROMIUM, PHONE, SCREENSHOTS, browser, fits_the_screen, server, type_code  # noqa: F401
from tests.test_browser_accounts import sign_in_with_password
from tests.test_change_requests import register, registered_earlier

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium not installed (make test installs it with apt-get when run as root)")


def prove(page, server: str, number: str, phone: str, born: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{server}/update")
    page.fill("#registration_number", number)
    page.fill("#phone", phone)
    page.fill("#date_of_birth", born)
    page.click("button.primary")


def test_a_worker_changes_their_phone_and_a_province_officer_approves(browser, server, app) -> None:  # type: ignore[no-untyped-def]
    number = register(app.test_client())  # Sok Dara, 012 345 678, born 25/01/1990, Phnom Penh (12)
    registered_earlier(app, number)
    make_user(app, "officer@example.org", "outreach", "12")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    worker = browser.new_context(locale="km-KH", viewport=PHONE, java_script_enabled=False).new_page()

    # A wrong date of birth, then a wrong number: the same answer, nothing about the person.
    answers = []
    for typed_number, born in ((number, "26/01/1990"), ("0000099994", "25/01/1990")):
        prove(worker, server, typed_number, "012 345 678", born)
        answers.append(worker.inner_text("div.notice-error"))
        main = worker.inner_text("main")
        assert "Sok Dara" not in main and "012 777 666" not in main
        assert worker.locator("#phone-value, #update-number").count() == 0
    assert answers[0] == answers[1] and answers[0]
    assert fits_the_screen(worker)

    prove(worker, server, number, "012 345 678", "25/01/1990")
    worker.wait_for_url(re.compile(r"/update$"))
    assert worker.inner_text("#update-number").replace("-", "") == number and fits_the_screen(worker)
    worker.fill("#phone", "012 777 666")
    worker.click("button[name=step][value=change]")
    worker.wait_for_url(re.compile(r"/update$"))
    assert "+85512777666" in worker.inner_text("#change-request")
    assert fits_the_screen(worker)
    worker.screenshot(path=str(SCREENSHOTS / "update-sent-360.png"), full_page=True)

    officer = browser.new_context(locale="km-KH", viewport=PHONE, java_script_enabled=False).new_page()
    sign_in_with_password(officer, server, "officer@example.org", PASSWORD)
    type_code(officer, app, "officer@example.org")
    officer.wait_for_url(lambda url: "/staff/login" not in url)
    officer.click('#staff-bar a[href="/staff/requests"]')
    officer.wait_for_url(re.compile(r"/staff/requests$"))
    assert fits_the_screen(officer)
    officer.locator("a.request-link").first.click()
    officer.wait_for_url(re.compile(r"/staff/requests/\d+$"))
    request_id = officer.url.rsplit("/", 1)[1]
    asked = officer.inner_text("#asked")
    assert "+85512345678" in asked and "+85512777666" in asked and fits_the_screen(officer)
    officer.screenshot(path=str(SCREENSHOTS / "change-request-360.png"), full_page=True)
    officer.click("#approve")
    officer.wait_for_url(re.compile(r"/staff/requests$"))
    officer.goto(f"{server}/staff/actors/{number}?lang=en")
    assert "+85512777666" in officer.inner_text("#phone-value")
    history = officer.inner_text("#history")
    assert f"Change request {request_id} from the person" in history and "+85512345678" in history
    assert fits_the_screen(officer)
    officer.context.close()

    worker.goto(f"{server}/status?lang=en")
    worker.fill("#registration_number", number)
    worker.fill("#phone", "012 777 666")
    worker.fill("#date_of_birth", "25/01/1990")
    worker.click("button.primary")
    assert "Approved on" in worker.inner_text("#change-request-state") and fits_the_screen(worker)
    worker.screenshot(path=str(SCREENSHOTS / "status-request-applied-360.png"), full_page=True)
    worker.context.close()
