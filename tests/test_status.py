"""Status look-up (number + phone + date of birth) and number recovery, never through the URL;
the "prove it is you" limits across clients."""
from __future__ import annotations

import random
import re
from typing import Iterator

import pytest

from tests.helpers import csrf_token, valid_form


@pytest.fixture
def registered(client) -> str:  # type: ignore[no-untyped-def]
    data = valid_form(category="employee")
    data["csrf_token"] = csrf_token(client, "/register")
    assert client.post("/register", data=data).status_code == 303
    html = client.get("/register/done").get_data(as_text=True)
    return re.search(r'registration-number">([0-9-]+)<', html).group(1)


def lookup(client, number: str, phone: str, born: str = "25/01/1990"):  # type: ignore[no-untyped-def]
    token = csrf_token(client, "/status")
    return client.post("/status", data={"registration_number": number, "phone": phone, "date_of_birth": born,
                                         "csrf_token": token})


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
    ["wrong phone", "wrong check digit", "unknown number", "garbage", "foreign phone", "wrong date of birth",
     "not a date"],
)
def test_any_wrong_answer_gets_the_same_not_found(app, registered: str, case: str) -> None:
    number, phone, born = registered, "012345678", "25/01/1990"
    if case == "wrong date of birth":
        born = "26/01/1990"
    elif case == "not a date":
        born = "yesterday"
    elif case == "wrong phone":
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
    response = lookup(client, number, phone, born)
    html = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "No registration matches these details" in html
    assert "Employee" not in html
    assert client.get("/certificate").status_code == 404


def test_status_form_posts_and_needs_csrf(client, registered: str) -> None:  # type: ignore[no-untyped-def]
    html = client.get("/status").get_data(as_text=True)
    assert 'method="post"' in html
    assert client.post("/status", data={"registration_number": registered, "phone": "012345678"}).status_code == 400


def test_empty_fields_are_named(client) -> None:  # type: ignore[no-untyped-def]
    response = lookup(client, "", "", "")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    for name in ("registration_number", "phone", "date_of_birth"):
        assert html.count(f'id="{name}-error"') == 1  # one message each, whole (not one per character)
    assert re.search(r'<p class="field-error" id="phone-error">[^<]{3,}</p>', html)


def recover(client, phone: str = "012 345 678", born: str = "1990-01-25", name: str = "SOK  dara"):  # type: ignore[no-untyped-def]
    token = csrf_token(client, "/status/recover")
    return client.post("/status/recover", data={"phone": phone, "date_of_birth": born, "full_name": name, "csrf_token": token})


def test_a_lost_number_comes_back_with_phone_birth_date_and_name(app, registered: str) -> None:
    client = app.test_client()
    client.get("/status?lang=en")
    found = recover(client)
    assert found.status_code == 200 and registered in found.get_data(as_text=True)
    for wrong in ({"phone": "012 345 679"}, {"born": "1990-01-26"}, {"name": "Sok Dary"}):
        response = recover(client, **wrong)
        html = response.get_data(as_text=True)
        assert response.status_code == 404 and "No registration matches these details" in html and registered not in html


REDIS_DB = 15  # these tests' own Redis database (emptied before and after)


@pytest.fixture(params=["memory", "redis"])
def limit_store(request: pytest.FixtureRequest) -> Iterator[str]:
    """Where the limits count: this process's memory, or Redis (counted by one script a request)."""
    if request.param == "memory":
        yield "memory://"
        return
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(f"redis://127.0.0.1:6379/{REDIS_DB}", socket_connect_timeout=1)
    try:
        client.flushdb()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    yield f"redis://127.0.0.1:6379/{REDIS_DB}"
    client.flushdb()
    client.close()


def rate_limited_app(database_url: str, store: str = "memory://"):  # type: ignore[no-untyped-def]
    from tests.helpers import make_app

    return make_app(database_url, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI=store)


def test_one_number_is_tried_from_many_clients_ten_times_an_hour_at_most(database_url: str, limit_store: str) -> None:
    app = rate_limited_app(database_url, limit_store)
    first = app.test_client()
    data = valid_form(category="employee")
    data["csrf_token"] = csrf_token(first, "/register")
    assert first.post("/register", data=data).status_code == 303
    number = re.search(r'registration-number">([0-9-]+)<', first.get("/register/done").get_data(as_text=True)).group(1)
    codes = []
    for day in range(1, 13):  # twelve guesses of the date of birth, each from a new client
        codes.append(lookup(app.test_client(), number, "012345678", f"{day:02d}/02/1990").status_code)
    assert codes[:10] == [404] * 10 and codes[10:] == [429, 429]
    # Even the right answer is withheld now: the number is what is limited, not the address.
    assert lookup(app.test_client(), number, "012345678").status_code == 429


def test_registrations_naming_one_national_id_are_limited_across_clients(database_url: str, limit_store: str) -> None:
    app = rate_limited_app(database_url, limit_store)
    codes = []
    for n in range(7):  # a probe for "is 123456789 registered?" from seven clients
        client = app.test_client()
        data = valid_form(national_id="123456789", phone=f"012 000 {n:03d}", full_name=f"Probe {chr(65 + n)}")
        data["csrf_token"] = csrf_token(client, "/register")
        codes.append(client.post("/register", data=data).status_code)
    assert codes[0] == 303 and codes[1:5] == [409] * 4 and codes[5:] == [429, 429]


def test_the_duplicate_answer_reveals_nothing_and_reads_the_same_for_either_rule(app, registered: str) -> None:
    def notice(**overrides: str) -> str:
        client = app.test_client()
        client.get("/register?lang=en")
        data = valid_form(**overrides)
        data["csrf_token"] = csrf_token(client, "/register")
        response = client.post("/register", data=data)
        assert response.status_code == 409
        return re.search(r'<div class="notice notice-error" role="alert">(.*?)</div>', response.get_data(as_text=True), re.S).group(1)

    holder = app.test_client()
    data = valid_form(category="self_employed", national_id="111222333", phone="017 111 222", full_name="Keo Mony")
    data["csrf_token"] = csrf_token(holder, "/register")
    assert holder.post("/register", data=data).status_code == 303
    by_contact = notice(category="employee")  # same phone, birth date and name as `registered`
    by_national_id = notice(category="self_employed", national_id="111 222 333", phone="012 999 888", full_name="Other Name")
    assert by_contact == by_national_id
    assert registered not in by_contact and "Tonle Basak" not in by_contact and "Keo Mony" not in by_contact
    assert "/status/recover" in by_contact


def test_limits_counted_in_one_round_trip_refuse_as_one_limit_at_a_time(database_url: str, limit_store: str) -> None:
    """spend_each (one Redis script for a request's limits) refuses exactly where spend() called
    for each value in turn does, through limits' own strategy (the reference, in memory): the
    same answers, and a value after a refused one is not counted."""
    from registry.actors import proof

    def answers(store: str) -> list[str | None]:
        app, said = rate_limited_app(database_url, store), []
        with app.test_request_context():
            for number, phone in tries:
                try:
                    proof.spend_each([("number", number), ("phone", phone)])
                    said.append(None)
                except proof.TooManyAttempts as refused:
                    said.append(str(refused))
        return said

    rng = random.Random(14)  # number A refused (11th try): phone y not counted, so B's 5th try with y still passes
    tries = [("A", "x")] * 5 + [("A", "y")] * 6 + [("B", "y")] * 5 + [(rng.choice("ABCD"), rng.choice("xy")) for _ in range(40)]
    reference = []
    app = rate_limited_app(database_url)
    with app.test_request_context():
        for number, phone in tries:
            try:
                proof.spend("number", number)
                proof.spend("phone", phone)
                reference.append(None)
            except proof.TooManyAttempts as refused:
                reference.append(str(refused))
    assert {"number", "phone", None} <= set(reference)  # both limits reached, and some tries allowed
    assert answers(limit_store) == reference
