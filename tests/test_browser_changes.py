"""Real Chromium, 360 px wide, JavaScript off: an outreach officer corrects a phone number on
the correction page (in Khmer, as staff first see it), is told what is missing, and the
correction is stored with its reason."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from registry.extensions import db
from tests.helpers import PASSWORD, make_user
from tests.import_files import good, write_csv
from tests.test_browser import CHROMIUM, PHONE, SCREENSHOTS, browser, fits_the_screen, server, type_code  # noqa: F401
from tests.test_browser_accounts import sign_in_with_password

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium not installed (make test installs it with apt-get when run as root)")


def test_an_officer_corrects_a_phone_on_a_phone_without_javascript(browser, server, app, runner, tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert runner.invoke(args=["import-actors", str(write_csv(tmp_path / "one.csv", [good(1)]))]).exit_code == 0
    make_user(app, "officer@example.org", "outreach")
    with app.app_context():
        number = db.session.scalar(sa.text("SELECT registration_number FROM actor"))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_context(locale="km-KH", viewport=PHONE, java_script_enabled=False).new_page()
    sign_in_with_password(page, server, "officer@example.org", PASSWORD)
    type_code(page, app, "officer@example.org")
    page.wait_for_url(lambda url: "/staff/login" not in url)

    page.goto(f"{server}/staff/actors/{number}/correct?lang=km")
    assert page.locator("html").get_attribute("lang") == "km"
    assert page.input_value("#phone") == "+85512000001" and fits_the_screen(page)
    assert page.locator("button.refresh").first.is_visible()  # the area lists work without JavaScript
    page.fill("#phone", "012 999 888")
    page.click("button.primary")  # no kind, no reason
    assert page.locator(".error-summary a[href='#field-kind']").is_visible()
    assert page.input_value("#phone") == "012 999 888" and fits_the_screen(page)  # what was typed is kept
    page.check("input[name=kind][value=correction]")
    page.fill("#reason", "លេខទូរសព្ទសរសេរខុស")
    page.screenshot(path=str(SCREENSHOTS / "correct-phone-360.png"), full_page=True)
    page.click("button.primary")
    page.wait_for_url(re.compile(rf"/staff/actors/{number}$"))
    with app.app_context():
        assert db.session.scalar(sa.text("SELECT phone FROM actor")) == "+85512999888"
        assert db.session.execute(sa.text("SELECT field, reason FROM actor_change")).one() == ("phone", "លេខទូរសព្ទសរសេរខុស")
    page.context.close()
