"""Real Chromium, 360 px wide, JavaScript off: a worker registers as `សុខ ដារ៉ា`, the same
woman is registered again as `Sok Dara` with a phone one digit apart; the province's officer
finds the pair in the queue (in Khmer, as staff first see it), compares the two side by side
with the reasons in words, and merges them: one active registration is left."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from registry.extensions import db
from tests.helpers import PASSWORD, make_user
from tests.test_browser import CHROMIUM, PHONE, SCREENSHOTS, browser, fill_person, fits_the_screen, server, type_code  # noqa: F401
from tests.test_browser_accounts import sign_in_with_password

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium not installed (make test installs it with apt-get when run as root)")


def test_an_officer_merges_khmer_and_latin_registrations_of_one_woman(browser, server, app) -> None:  # type: ignore[no-untyped-def]
    worker = browser.new_context(locale="km-KH", viewport=PHONE, java_script_enabled=False).new_page()
    for name, phone in (("សុខ ដារ៉ា", "012 345 678"), ("Sok Dara", "012 345 679")):
        worker.goto(f"{server}/register")
        fill_person(worker, category="self_employed", name=name, gender="female", born="25/01/1990", phone=phone,
                    area=("12", "1201", "120101"), sector="trade", javascript=False)
        worker.click("button.primary")
        worker.wait_for_url(re.compile(r"/register/done$"))
    worker.context.close()

    make_user(app, "officer@example.org", "outreach", "12")
    page = browser.new_context(locale="km-KH", viewport=PHONE, java_script_enabled=False).new_page()
    sign_in_with_password(page, server, "officer@example.org", PASSWORD)
    type_code(page, app, "officer@example.org")
    page.wait_for_url(lambda url: "/staff/login" not in url)
    page.goto(f"{server}/staff/duplicates?lang=km")
    assert page.locator("html").get_attribute("lang") == "km" and fits_the_screen(page)
    page.click("a.pair-link")
    page.wait_for_url(re.compile(r"/staff/duplicates/\d+$"))
    assert page.locator("#pair-reasons li").count() == 2 and fits_the_screen(page)
    assert "សុខ ដារ៉ា" in page.inner_text("#side-by-side") and "Sok Dara" in page.inner_text("#side-by-side")
    page.click("#merge")  # which one stays not chosen
    assert page.locator(".error-summary a[href='#field-keep']").is_visible() and fits_the_screen(page)
    page.check("input[name=keep][value=first]")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "duplicate-pair-360.png"), full_page=True)
    page.click("#merge")
    page.wait_for_url(re.compile(r"/staff/duplicates$"))
    assert page.locator("#queue-empty").is_visible()
    with app.app_context():
        assert db.session.scalars(sa.text("SELECT full_name FROM actor WHERE status = 'active'")).all() == ["សុខ ដារ៉ា"]
        assert db.session.scalar(sa.text("SELECT status FROM duplicate_pair")) == "merged"
    page.context.close()
