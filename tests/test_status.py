"""Status lookup by registration number and phone, never through the URL."""
from __future__ import annotations

import re

import pytest

from tests.helpers import csrf_token, valid_form


@pytest.fixture
def registered(client) -> str:  # type: ignore[no-untyped-def]
    data = valid_form(category="employee")
    data["csrf_token"] = csrf_token(client, "/register")
    assert client.post("/register", data=data).status_code == 303
    html = client.get("/register/done").get_data(as_text=True)
    return re.search(r'registration-number">([0-9-]+)<', html).group(1)


def lookup(client, number: str, phone: str):  # type: ignore[no-untyped-def]
    token = csrf_token(client, "/status")
    return client.post("/status", data={"registration_number": number, "phone": phone, "csrf_token": token})


def test_number_and_phone_show_category_area_and_date(app, registered: str) -> None:
    client = app.test_client()
    client.get("/status?lang=en")
    response = lookup(client, registered.replace("-", " "), "+855 12 345 678")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Employee of an informal business" in html
    assert "Tonle Basak, Chamkar Mon, Phnom Penh" in html
    assert re.search(r"\d\d/\d\d/\d{4}", html)
    assert "Sok Dara" not in html  # no more than the issue asks for
    assert client.get("/certificate").status_code == 200


def test_khmer_digits_are_accepted(app, registered: str) -> None:
    digits = registered.replace("-", "").translate(str.maketrans("0123456789", "០១២៣៤៥៦៧៨៩"))
    assert lookup(app.test_client(), digits, "០១២៣៤៥៦៧៨").status_code == 200


@pytest.mark.parametrize(
    "case",
    ["wrong phone", "wrong check digit", "unknown number", "garbage", "foreign phone"],
)
def test_any_wrong_pair_gets_the_same_not_found(app, registered: str, case: str) -> None:
    number, phone = registered, "012345678"
    if case == "wrong phone":
        phone = "012345679"
    elif case == "wrong check digit":
        number = registered[:-1] + str((int(registered[-1]) + 1) % 10)
    elif case == "unknown number":
        number = "0000099994"
    elif case == "garbage":
        number = "<b>abc</b>"
    elif case == "foreign phone":
        phone = "+66812345678"
    client = app.test_client()
    client.get("/status?lang=en")
    response = lookup(client, number, phone)
    html = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "No registration matches this number and phone number" in html
    assert "Employee" not in html
    assert client.get("/certificate").status_code == 404


def test_status_form_posts_and_needs_csrf(client, registered: str) -> None:  # type: ignore[no-untyped-def]
    html = client.get("/status").get_data(as_text=True)
    assert 'method="post"' in html
    assert client.post("/status", data={"registration_number": registered, "phone": "012345678"}).status_code == 400


def test_empty_fields_are_named(client) -> None:  # type: ignore[no-untyped-def]
    response = lookup(client, "", "")
    assert response.status_code == 422
    assert 'id="registration_number-error"' in response.get_data(as_text=True)
