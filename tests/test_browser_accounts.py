"""Real Chromium, 360 px wide, JavaScript off: a user made by the CLI sets up MFA by reading the
key off the page, signs in with a code, changes their password; an admin resets their app and
disables them in the pages; the disabled user's open session is refused."""
from __future__ import annotations

import re

import pyotp
import pytest

from tests.helpers import PASSWORD, make_user, mfa_code
from tests.test_browser import CHROMIUM, PHONE, SCREENSHOTS, browser, fits_the_screen, server, type_code  # noqa: F401

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium not installed (make test installs it with apt-get when run as root)")
NEW_PASSWORD = "four mangoes under the bridge"


def sign_in_with_password(page, base: str, email: str, password: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/staff/login?lang=en")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button.primary")


def test_staff_member_sets_up_mfa_changes_password_and_is_disabled_by_an_admin(browser, server, app) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "officer@example.org", "outreach", enrol_mfa=False)  # the CLI's create-user, nothing more
    make_user(app, "admin@example.org", "admin")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    officer = browser.new_context(locale="km-KH", viewport=PHONE, java_script_enabled=False).new_page()

    # First sign-in: the password, then setting up the app from the key written on the page.
    sign_in_with_password(officer, server, "officer@example.org", PASSWORD)
    officer.wait_for_url(re.compile(r"/staff/login/enrol"))
    assert officer.locator(".qr svg").is_visible() and fits_the_screen(officer)
    officer.screenshot(path=str(SCREENSHOTS / "mfa-enrol-360.png"), full_page=True)
    secret = officer.inner_text("#mfa-secret").replace(" ", "")
    officer.fill("#code", pyotp.TOTP(secret).now())
    officer.click("button.primary")
    assert officer.locator("#recovery-codes li").count() == 8 and fits_the_screen(officer)
    officer.click("#continue")
    officer.wait_for_url(re.compile(r"/staff/imports"))

    # Sign out, and in again with a code.
    officer.click("#sign-out")
    officer.wait_for_url(re.compile(r"/$|/\?"))
    sign_in_with_password(officer, server, "officer@example.org", PASSWORD)
    type_code(officer, app, "officer@example.org")
    officer.wait_for_url(re.compile(r"/staff/imports"))

    # Change the password: the current one, a code, the new one twice.
    officer.click("#staff-bar >> text=Your account")
    officer.wait_for_url(re.compile(r"/staff/account$"))
    officer.fill("#current_password", PASSWORD)
    officer.fill("#code", mfa_code(app, "officer@example.org"))
    officer.fill("#new_password", NEW_PASSWORD)
    officer.fill("#confirm", NEW_PASSWORD)
    officer.click("#change-password")
    officer.wait_for_url(re.compile(r"/staff/account$"))
    assert "Your password is changed" in officer.content() and fits_the_screen(officer)
    officer.screenshot(path=str(SCREENSHOTS / "account-360.png"), full_page=True)

    # An admin resets the officer's app, then disables the account.
    admin = browser.new_context(locale="km-KH", viewport=PHONE, java_script_enabled=False).new_page()
    sign_in_with_password(admin, server, "admin@example.org", PASSWORD)
    type_code(admin, app, "admin@example.org")
    admin.wait_for_url(re.compile(r"/staff$"))  # the admins' staff home
    admin.click("#staff-bar >> text=Staff accounts")
    officer_row = admin.locator("section.account", has_text="officer@example.org")
    assert "app set up" in officer_row.inner_text()
    officer_row.locator("button.reset-mfa").click()
    admin.wait_for_url(re.compile(r"/staff/accounts$"))
    assert "app not set up" in admin.locator("section.account", has_text="officer@example.org").inner_text()
    admin.locator("section.account", has_text="officer@example.org").locator("button.disable").click()
    admin.wait_for_url(re.compile(r"/staff/accounts$"))
    assert "disabled and signed out everywhere" in admin.content() and fits_the_screen(admin)
    admin.screenshot(path=str(SCREENSHOTS / "staff-accounts-360.png"), full_page=True)

    # The officer's open session is refused; so is signing in again.
    officer.goto(f"{server}/staff/account?lang=en")
    officer.wait_for_url(re.compile(r"/staff/login"))
    assert officer.locator("#email").is_visible()
    sign_in_with_password(officer, server, "officer@example.org", NEW_PASSWORD)
    assert "Wrong email or password" in officer.content()
    officer.context.close()
    admin.context.close()
