"""Staff navigation: each role lands on its work, a bar on every page says who is signed in,
offers exactly the pages the role may open, marks the current one and signs out."""
from __future__ import annotations

import re

import pytest

from registry.web.navigation import STAFF_PAGES
from tests.helpers import PASSWORD, csrf_token, finish_sign_in, make_user, sign_in

LANDING = {"outreach": "/staff/imports", "ministry": "/dashboard", "admin": "/staff"}
PAGES = {  # what each role may open, as the bar must offer it
    "outreach": {"/staff/actors", "/staff/requests", "/staff/register", "/staff/duplicates", "/staff/imports", "/staff/account"},
    "ministry": {"/staff/actors", "/dashboard", "/staff/tokens", "/staff/account"},
    "admin": {"/staff", "/staff/actors", "/staff/requests", "/staff/register", "/staff/duplicates", "/staff/imports", "/dashboard", "/staff/tokens", "/staff/accounts", "/staff/events", "/staff/account"},
}
BAR = re.compile(r'<nav class="staff-bar[^>]*>(.*?)</nav>', re.S)


def bar(page: str) -> str:
    found = BAR.search(page)
    assert found, "no staff bar on the page"
    return found.group(1)


def bar_links(page: str) -> set[str]:
    return set(re.findall(r'<a href="([^"?]+)"', bar(page)))


def signed_in(app, role: str):  # type: ignore[no-untyped-def]
    email = f"{role}@example.org"
    make_user(app, email, role)
    client = app.test_client()
    response = sign_in(client, email)
    return client, response


@pytest.mark.parametrize("role", sorted(LANDING))
def test_each_role_lands_on_its_work(app, role: str) -> None:  # type: ignore[no-untyped-def]
    client, response = signed_in(app, role)
    assert response.status_code == 303 and response.headers["Location"] == LANDING[role]
    assert client.get(LANDING[role]).status_code == 200


def test_a_safe_next_page_still_comes_first(app) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "admin@example.org", "admin")
    client = app.test_client()
    token = csrf_token(client, "/staff/login")
    response = client.post("/staff/login?next=/staff/events", data={"email": "admin@example.org", "password": PASSWORD, "csrf_token": token})
    assert finish_sign_in(client, response, "admin@example.org").headers["Location"] == "/staff/events"


@pytest.mark.parametrize("role", sorted(PAGES))
def test_the_bar_offers_exactly_the_pages_of_the_role(app, role: str) -> None:  # type: ignore[no-untyped-def]
    client, _ = signed_in(app, role)
    page = client.get(LANDING[role] + "?lang=en").get_data(as_text=True)
    labels = {"outreach": "Outreach", "ministry": "Ministry", "admin": "Administrator"}
    assert f"Signed in as {role}@example.org ({labels[role]})" in bar(page)
    assert bar_links(page) == PAGES[role]
    assert re.search(rf'<a href="{LANDING[role]}"[^>]*aria-current="page"', bar(page))
    assert bar(page).count("aria-current") == 1
    with app.test_request_context():  # what the bar leaves out is refused, what it offers opens
        from flask import url_for

        every_path = {url_for(p.endpoint) for p in STAFF_PAGES}
    for path in every_path:
        assert client.get(path).status_code == (200 if path in PAGES[role] else 403), path
    # The bar is on public pages too while signed in.
    assert bar_links(client.get("/?lang=en").get_data(as_text=True)) == PAGES[role]


def test_outreach_has_no_dashboard_and_ministry_no_imports(app) -> None:  # type: ignore[no-untyped-def]
    outreach, _ = signed_in(app, "outreach")
    ministry, _ = signed_in(app, "ministry")
    assert "/dashboard" not in bar(outreach.get("/staff/imports").get_data(as_text=True))
    assert "/staff/imports" not in bar(ministry.get("/dashboard").get_data(as_text=True))


def test_nobody_signed_in_sees_no_bar(client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/?lang=en").get_data(as_text=True)
    assert 'class="staff-bar' not in page and "Signed in as" not in page


def test_sign_out_from_the_bar(app) -> None:  # type: ignore[no-untyped-def]
    client, _ = signed_in(app, "ministry")
    form = re.search(r'<form method="post" action="([^"]+)"><input type="hidden" name="csrf_token" value="([^"]+)">',
                     bar(client.get("/dashboard").get_data(as_text=True)))
    assert form and form.group(1) == "/staff/logout"
    response = client.post(form.group(1), data={"csrf_token": form.group(2)})
    assert response.status_code == 303
    assert client.get("/dashboard").status_code == 302  # to the sign-in page
    assert 'class="staff-bar' not in client.get("/").get_data(as_text=True)


def test_staff_home_is_for_admins_and_links_their_pages(app) -> None:  # type: ignore[no-untyped-def]
    admin, _ = signed_in(app, "admin")
    home = admin.get("/staff?lang=en").get_data(as_text=True)
    listed = set(re.findall(r'<a href="([^"]+)"', home.split('id="staff-home"')[1].split("</ul>")[0]))
    assert listed == PAGES["admin"] - {"/staff"}
    for role in ("outreach", "ministry"):
        other, _ = signed_in(app, role)
        assert other.get("/staff").status_code == 403
