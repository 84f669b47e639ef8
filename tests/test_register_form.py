"""Self-registration through the web form, as a worker's phone would use it."""
from __future__ import annotations

import re

import pytest

from tests.helpers import count_actors, csrf_token, valid_form

KHMER = re.compile(r"[\u1780-\u17ff]")


def post_form(client, **overrides: str):  # type: ignore[no-untyped-def]
    data = valid_form(**overrides)
    data["csrf_token"] = csrf_token(client, "/register")
    return client.post("/register", data=data)


def field_errors(response) -> dict[str, str]:  # type: ignore[no-untyped-def]
    html = response.get_data(as_text=True)
    return dict(re.findall(r'<p class="field-error" id="([a-z_]+)-error">([^<]*)</p>', html))


def test_form_is_khmer_by_default_and_english_on_request(client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/register").get_data(as_text=True)
    assert '<html lang="km">' in page and KHMER.search(page.split("<main", 1)[1])
    page = client.get("/register?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in page and "Full name" in page
    # The choice persists without the query string.
    assert '<html lang="en">' in client.get("/register").get_data(as_text=True)
    assert '<html lang="km">' in client.get("/register?lang=km").get_data(as_text=True)


def test_form_fields_are_named_after_the_registration_codes(client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/register").get_data(as_text=True)
    for name in ("category", "full_name", "gender", "date_of_birth", "national_id", "phone",
                 "province", "district", "commune", "sector", "business_name", "workers", "consent"):
        assert f'name="{name}"' in page, name
    assert '<option value="12"' in page  # province options carry the official codes
    assert 'name="viewport"' in page


def test_successful_registration_gives_number_and_certificate(client, app) -> None:  # type: ignore[no-untyped-def]
    response = post_form(client, full_name="សុខ ដារា", gender="ស្រី", date_of_birth="២៥/០១/១៩៩០")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/register/done")
    assert "សុខ" not in response.headers["Location"]
    done = client.get("/register/done").get_data(as_text=True)
    number = re.search(r'id="registration-number">([0-9-]+)<', done).group(1)
    assert re.fullmatch(r"\d{4}-\d{4}-\d{2}", number)
    certificate = client.get("/certificate")
    assert certificate.status_code == 200
    html = certificate.get_data(as_text=True)
    assert number in html and "សុខ ដារា" in html
    assert "វិញ្ញាបនបត្រចុះឈ្មោះ" in html and "Certificate of registration" in html
    with client.get("/static/css/certificate.css", follow_redirects=True) as stylesheet:
        assert "size: A4" in stylesheet.get_data(as_text=True)
    assert count_actors(app) == 1


def test_micro_enterprise_registration_stores_business_fields(client, app) -> None:  # type: ignore[no-untyped-def]
    response = post_form(client, category="micro_enterprise", business_name="Dara Noodles", workers="3")
    assert response.status_code == 303
    assert "Dara Noodles" in client.get("/certificate").get_data(as_text=True)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"category": ""}, "category"),
        ({"full_name": "Sok 2"}, "full_name"),
        ({"gender": "x"}, "gender"),
        ({"date_of_birth": "31/02/1990"}, "date_of_birth"),
        ({"date_of_birth": "01/01/2020"}, "date_of_birth"),
        ({"national_id": "12345"}, "national_id"),
        ({"phone": "+66 81 234 5678"}, "phone"),
        ({"province": ""}, "province"),
        ({"district": "0203"}, "district"),
        ({"commune": "120201"}, "commune"),
        ({"sector": "mining"}, "sector"),
        ({"category": "micro_enterprise", "business_name": "", "workers": "3"}, "business_name"),
        ({"category": "micro_enterprise", "business_name": "Shop", "workers": "20"}, "workers"),
        ({"consent": ""}, "consent"),
    ],
)
def test_each_invalid_field_is_shown_beside_it_and_nothing_is_stored(client, app, overrides, field) -> None:  # type: ignore[no-untyped-def]
    client.get("/register?lang=en")
    response = post_form(client, **overrides)
    assert response.status_code == 422
    errors = field_errors(response)
    assert field in errors, errors
    assert set(errors) == {field}
    assert count_actors(app) == 0


def test_invalid_form_keeps_values_and_escapes_them(client, app) -> None:  # type: ignore[no-untyped-def]
    response = post_form(client, full_name='<script>alert(1)</script>', phone="012 345 678")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "<script>alert(1)</script>" not in html
    assert 'value="&lt;script&gt;alert(1)&lt;/script&gt;"' in html
    assert 'value="012 345 678"' in html
    assert re.search(r'<option value="1201"\s+selected', html)
    assert count_actors(app) == 0


def test_errors_are_in_khmer_by_default(client) -> None:  # type: ignore[no-untyped-def]
    errors = field_errors(post_form(client, phone="1"))
    assert KHMER.search(errors["phone"])


def test_duplicate_is_refused_without_revealing_the_other_registration(client, app) -> None:  # type: ignore[no-untyped-def]
    assert post_form(client).status_code == 303
    first_number = re.search(r'registration-number">([0-9-]+)<', client.get("/register/done").get_data(as_text=True)).group(1)
    other = app.test_client()
    other.get("/register?lang=en")
    response = post_form(other, full_name="SOK dara", phone="+855 12 345 678", date_of_birth="1990-01-25")
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "already registered" in html
    assert first_number not in html and first_number.replace("-", "") not in html
    assert count_actors(app) == 1


def test_post_without_csrf_token_is_refused_and_stores_nothing(client, app) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/register", data=valid_form())
    assert response.status_code == 400
    bad = client.post("/register", data={**valid_form(), "csrf_token": "forged"})
    assert bad.status_code == 400
    assert count_actors(app) == 0


def test_area_lists_work_without_javascript(client, app) -> None:  # type: ignore[no-untyped-def]
    data = {"province": "17", "refresh": "province", "full_name": "Keep Me", "csrf_token": csrf_token(client, "/register")}
    response = client.post("/register", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<option value="1702"' in html  # districts of Siem Reap are offered
    assert 'value="Keep Me"' in html and "field-error" not in html
    data.update(district="1702", refresh="district")
    html = client.post("/register", data=data).get_data(as_text=True)
    assert '<option value="170201"' in html
    assert count_actors(app) == 0


def test_area_lists_for_javascript_are_json_in_the_reader_language(client) -> None:  # type: ignore[no-untyped-def]
    districts = client.get("/areas/districts?province=17").get_json()
    assert {"code": "1702", "name": "អង្គរធំ"} in districts
    communes = client.get("/areas/communes?district=1702&lang=en").get_json()
    assert any(c["code"] == "170201" and c["name"].isascii() for c in communes)
    assert client.get("/areas/districts?province=99").get_json() == []


def test_session_cookie_is_secure_and_pages_carry_security_headers(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/register")
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"


def test_confirmation_and_certificate_need_a_registration_in_this_session(client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/register/done").status_code == 404
    assert client.get("/certificate").status_code == 404


def test_places_sharing_a_name_show_their_code(client) -> None:  # type: ignore[no-untyped-def]
    communes = client.get("/areas/communes?district=2503&lang=en").get_json()
    assert {"code": "250314", "name": "Kokir (250314)"} in communes
    assert {"code": "250301", "name": "Chan Mul"} in communes


def test_an_invisible_character_does_not_make_a_second_registration(client, app) -> None:  # type: ignore[no-untyped-def]
    assert post_form(client, full_name="សុខ ដារ៉ា").status_code == 303
    again = client.application.test_client()
    assert post_form(again, full_name="សុ\u17b4ខ ដា\u034fរ៉ា\u200b").status_code == 409
    assert count_actors(app) == 1


def test_a_khmer_form_with_every_field_wrong_shows_only_khmer_words_and_a_linked_summary(client) -> None:  # type: ignore[no-untyped-def]
    response = post_form(client, category="worker", full_name="Sok 4", gender="x", date_of_birth="31/02/1990",
                         national_id="12", phone="1", province="99", district="", commune="", sector="mining", consent="")
    assert response.status_code == 422
    main = response.get_data(as_text=True).split("<main", 1)[1]
    shown = re.sub(r"<[^>]+>", " ", main.split("</form>")[0].split("<form", 1)[0])  # the messages, not the inputs
    for code in ("employee", "micro_enterprise", "self_employed", "food_service", "personal_services", "female", "male"):
        assert code not in shown, code
    summary = re.search(r'<div class="notice notice-error error-summary"[^>]*autofocus[^>]*>(.*?)</div>', main, re.S).group(1)
    links = re.findall(r'<a href="#field-([a-z_]+)">', summary)
    assert links[:3] == ["category", "full_name", "gender"] and "sector" in links and "consent" in links
    for name in links:
        assert f'id="field-{name}"' in main


def test_allowed_values_read_as_labels_in_the_form_and_with_codes_in_the_report() -> None:
    from datetime import date

    from registry.actors.validation import describe, validate_registration
    from registry.i18n import translate

    _reg, errors = validate_registration(valid_form(sector="mining"), today=date(2025, 1, 1))
    english = describe(errors[0], lambda m, **p: translate(m, "en", **p), with_field=False)
    assert "Food service" in english and "food_service" not in english
    report = describe(errors[0], lambda m, **p: translate(m, "en", **p), with_codes=True)
    assert "Food service (food_service)" in report and report.startswith("Sector:")


def test_area_messages_say_what_to_choose_on_the_form_and_what_to_write_in_a_file(client) -> None:  # type: ignore[no-untyped-def]
    """The form offers lists, never a box for a code: its messages say which list to choose
    from again; the import report keeps telling spreadsheet users they may write the code."""
    from datetime import date

    from registry.actors.validation import describe, validate_registration
    from registry.i18n import translate

    english = client.get("/register?lang=en")
    assert english.status_code == 200
    # A district left over from a province chosen before (the form sent without JavaScript).
    errors = field_errors(post_form(client, province="12", district="0102", commune=""))
    assert errors["district"] == "This district is not in the province chosen. Choose the district again from the list."
    assert errors["commune"] == "Choose your commune from the list."
    assert all("code" not in message for message in errors.values())
    _reg, problems = validate_registration(valid_form(district="0102", commune=""), today=date(2025, 1, 1))
    report = [describe(problem, lambda m, **p: translate(m, "en", **p), with_codes=True) for problem in problems]
    assert any("0102" in line and "Check both fields" in line for line in report), report
    assert any("write the official code" in line for line in report), report


def test_each_category_has_a_line_of_everyday_examples_in_khmer_and_english(client) -> None:  # type: ignore[no-untyped-def]
    khmer = client.get("/register").get_data(as_text=True)
    english = client.get("/register?lang=en").get_data(as_text=True)
    for code in ("employee", "micro_enterprise", "self_employed"):
        hint = re.search(rf'aria-describedby="category-{code}-hint".*?<span class="hint" id="category-{code}-hint">([^<]+)</span>',
                         english, re.S)
        assert hint and hint.group(1).startswith("You "), code
        khmer_hint = re.search(rf'<span class="hint" id="category-{code}-hint">([^<]+)</span>', khmer).group(1)
        assert KHMER.search(khmer_hint) and not re.search("[A-Za-z]", khmer_hint), khmer_hint
    assert "tuk-tuk" in english
