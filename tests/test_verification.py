"""Certificates anyone can check (/verify): the token in the QR code, its keys and their
rotation, the public answer (valid, deactivated, merged; nothing personal), the form through
the "prove it is you" check, and the printed certificate's QR code read back from its pixels."""
from __future__ import annotations

import base64
import re

import pypdfium2 as pdfium
import pytest
import zxingcpp
from sqlalchemy import select

from registry import clock
from registry.actors import lifecycle
from registry.actors.models import Actor
from registry.events.models import Event
from registry.extensions import db
from registry.verification.keys import TOKEN_LENGTH, KeyRing, NotValid, Retired
from registry.verification.models import CertificateVerification
from tests.helpers import csrf_token, make_app, valid_form

PUBLIC_URL = "https://registry.example.gov.kh"
PERSONAL = ("Sok Dara", "012 345 678", "012345678", "345 678", "25/01/1990", "1990-01-25", "123456789",
            "Tonle Basak", "ទន្លេបាសាក់", "Chamkar Mon", "Phnom Penh", "ភ្នំពេញ")


@pytest.fixture
def app(database_url: str):  # type: ignore[no-untyped-def]
    return make_app(database_url, PUBLIC_URL=PUBLIC_URL)


def register(client, **overrides: str) -> str:  # type: ignore[no-untyped-def]
    data = valid_form(**overrides)
    data["csrf_token"] = csrf_token(client, "/register")
    assert client.post("/register", data=data).status_code == 303
    html = client.get("/register/done").get_data(as_text=True)
    return re.search(r'id="registration-number">([0-9-]+)<', html).group(1)


def verify_link(client) -> str:  # type: ignore[no-untyped-def]
    """The link the certificate page of this session's registration shows (and its QR code holds)."""
    html = client.get("/certificate").get_data(as_text=True)
    link = re.search(r'<a href="([^"]+)" id="verify-link">', html).group(1)
    assert re.search(r"<svg[^>]*>\s*<title>[^<]+</title>", html)  # the QR code, inline and named
    return link


def path_of(link: str) -> str:
    assert link.startswith(PUBLIC_URL + "/verify/")
    return link[len(PUBLIC_URL):]


def answer(client, path: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    """(status, the answer's state, the page's text)."""
    response = client.get(path)
    html = response.get_data(as_text=True)
    state = re.search(r'id="verify-answer" data-state="([a-z_]+)"', html)
    return response.status_code, state.group(1) if state else "", html


def actor(app, number: str) -> Actor:  # type: ignore[no-untyped-def]
    return db.session.scalars(select(Actor).where(Actor.registration_number == number.replace("-", ""))).one()


def nothing_personal(html: str) -> None:
    for value in PERSONAL:
        assert value not in html, value


# ---------------------------------------------------------------- the token and its keys

RING = KeyRing(b"a master secret for the tests", (1,))
VERIFICATION_ID = "q83vEjRWeJq83vEj"  # 12 bytes in base64url, as the table holds them


def test_a_token_is_32_url_safe_characters_and_reads_back() -> None:
    token = RING.token(VERIFICATION_ID)
    assert len(token) == TOKEN_LENGTH and re.fullmatch(r"[A-Za-z0-9_-]+", token)
    assert RING.read(token) == (VERIFICATION_ID, 1)
    other = RING.token("AAAAAAAAAAAAAAAA")
    assert sum(a == b for a, b in zip(token[2:], other[2:])) < 10  # nothing in common but the key id's byte


def test_every_altered_character_makes_a_token_not_valid() -> None:
    token = RING.token(VERIFICATION_ID)
    for position in range(len(token)):
        for replacement in ("A", "z", "-"):
            edited = token[:position] + replacement + token[position + 1:]
            if edited != token:
                with pytest.raises(NotValid):
                    RING.read(edited)
    for malformed in ("", token[:-1], token + "A", token.replace(token[5], "+"), "%" * 32):
        with pytest.raises(NotValid):
            RING.read(malformed)


def test_a_token_under_another_secret_or_an_unknown_key_id_is_not_valid() -> None:
    token = RING.token(VERIFICATION_ID)
    with pytest.raises(NotValid):
        KeyRing(b"another master secret", (1,)).read(token)
    raw = bytearray(base64.urlsafe_b64decode(token))
    raw[0] = 7  # claims key id 7, with key 1's MAC
    with pytest.raises(NotValid):
        RING.read(base64.urlsafe_b64encode(bytes(raw)).decode())


def test_rotation_keeps_old_tokens_while_their_key_is_listed_and_retires_them_after() -> None:
    old = RING.token(VERIFICATION_ID)
    rotated = KeyRing(RING.secret, (2, 1))
    new = rotated.token(VERIFICATION_ID)
    assert new != old and rotated.read(new) == (VERIFICATION_ID, 2) and rotated.read(old) == (VERIFICATION_ID, 1)
    retired = KeyRing(RING.secret, (2,))
    assert retired.read(new) == (VERIFICATION_ID, 2)
    with pytest.raises(Retired):
        retired.read(old)
    with pytest.raises(NotValid):  # an altered retired token is not even "retired"
        retired.read(old[:-1] + ("A" if old[-1] != "A" else "B"))


# ---------------------------------------------------------------- the pages

def test_a_certificate_links_to_an_answer_that_follows_the_registration(app, client) -> None:  # type: ignore[no-untyped-def]
    number = register(client, national_id="123456789")
    link = verify_link(client)
    token = link.rsplit("/", 1)[1]
    assert number.replace("-", "") not in token and number not in link
    assert verify_link(client) == link  # one verification id per registration: the same link every time
    status, state, html = answer(client, path_of(link))
    assert (status, state) == (200, "valid")
    today = clock.today().strftime("%d/%m/%Y")
    assert today in html  # the date registered
    nothing_personal(html)
    assert client.get(path_of(link)).headers["Referrer-Policy"] == "no-referrer"

    with app.app_context():
        lifecycle.deactivate(db.session, actor(app, number), "left", clock.today(), None)
        db.session.commit()
    status, state, html = answer(client, path_of(link))
    assert (status, state) == (200, "deactivated")
    nothing_personal(html)
    with app.app_context():  # a check is nobody reading personal data: no event
        assert not db.session.scalars(select(Event).where(Event.subject.like("%verif%"))).all()


def test_a_merged_registration_says_so_and_whether_the_other_is_active(app) -> None:  # type: ignore[no-untyped-def]
    first, second = app.test_client(), app.test_client()
    kept = register(first, full_name="Sok Dara")
    merged = register(second, full_name="Sok Dara Chan", phone="012 345 679")
    link = verify_link(second)
    with app.app_context():
        lifecycle.merge(db.session, actor(app, kept), actor(app, merged), "the same woman", None)
        db.session.commit()
    status, state, html = answer(second, path_of(link))
    assert (status, state) == (200, "merged")
    assert "data-state=\"merged\"" in html
    assert kept not in html and merged not in html  # never a number
    nothing_personal(html)
    with app.app_context():
        lifecycle.deactivate(db.session, actor(app, kept), "left", clock.today(), None)
        db.session.commit()
    _status, state, html = answer(app.test_client(), path_of(link) + "?lang=en")
    assert state == "merged" and "That registration is no longer active." in html


def test_an_edited_or_invented_token_is_not_valid_and_never_a_server_error(app, client) -> None:  # type: ignore[no-untyped-def]
    register(client)
    token = verify_link(client).rsplit("/", 1)[1]
    edited = token[:10] + ("x" if token[10] != "x" else "y") + token[11:]
    for path in (f"/verify/{edited}", "/verify/" + "A" * 32, "/verify/short", "/verify/" + "%E1%9E%80" * 40,
                 f"/verify/{token}extra"):
        status, state, html = answer(client, path + ("&" if "?" in path else "?") + "lang=en")
        assert (status, state) == (404, "not_valid"), path
        assert "Not valid." in html


def test_a_genuine_token_of_an_erased_link_row_is_not_valid(app, client) -> None:  # type: ignore[no-untyped-def]
    register(client)
    link = verify_link(client)
    with app.app_context():
        db.session.execute(CertificateVerification.__table__.delete())
        db.session.commit()
    assert answer(client, path_of(link))[:2] == (404, "not_valid")


def test_rotating_the_key_keeps_printed_certificates_until_the_old_key_is_retired(database_url) -> None:  # type: ignore[no-untyped-def]
    before = make_app(database_url, PUBLIC_URL=PUBLIC_URL)
    client = before.test_client()
    register(client)
    old = path_of(verify_link(client))

    rotated = make_app(database_url, PUBLIC_URL=PUBLIC_URL, VERIFICATION_KEY_IDS=(2, 1),
                       VERIFICATION_SECRET=before.config["VERIFICATION_SECRET"])
    client_after = rotated.test_client()
    assert answer(client_after, old)[:2] == (200, "valid")  # an old paper still checks
    with client.session_transaction() as saved:
        actor_id = saved["certificate_actor"]
    with client_after.session_transaction() as session:
        session["certificate_actor"] = actor_id
    new = path_of(verify_link(client_after))  # printed again: the current key
    assert new != old and answer(client_after, new)[:2] == (200, "valid")
    with rotated.app_context():
        row = db.session.scalars(select(CertificateVerification)).one()
        assert row.key_id == 2

    retired = make_app(database_url, PUBLIC_URL=PUBLIC_URL, VERIFICATION_KEY_IDS=(2,),
                       VERIFICATION_SECRET=before.config["VERIFICATION_SECRET"])
    status, state, html = answer(retired.test_client(), old + "?lang=en")
    assert (status, state) == (410, "retired") and "Ask its holder for a new certificate." in html
    assert answer(retired.test_client(), new)[:2] == (200, "valid")


def test_the_link_uses_the_request_host_without_a_public_url(database_url) -> None:  # type: ignore[no-untyped-def]
    app = make_app(database_url)
    client = app.test_client()
    register(client)
    html = client.get("/certificate").get_data(as_text=True)
    assert re.search(r'id="verify-link">http://localhost/verify/[A-Za-z0-9_-]{32}<', html)


def test_the_form_gives_the_same_answer_through_the_prove_it_is_you_check(app, client) -> None:  # type: ignore[no-untyped-def]
    number = register(client, national_id="123456789")
    token = csrf_token(client, "/verify")

    def post(**fields: str):  # type: ignore[no-untyped-def]
        data = {"registration_number": number, "phone": "012 345 678", "date_of_birth": "25/01/1990",
                "csrf_token": token, **fields}
        return client.post("/verify?lang=en", data=data)

    response = post()
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'data-state="valid"' in html
    nothing_personal(html.replace('value="012 345 678"', "").replace('value="25/01/1990"', ""))
    assert 'value="012 345 678"' not in html  # the answer page does not echo the form back
    assert response.headers["Referrer-Policy"] == "no-referrer"
    wrong = post(date_of_birth="26/01/1990")
    assert wrong.status_code == 404 and "No registration matches these details." in wrong.get_data(as_text=True)
    missing = post(phone="")
    assert missing.status_code == 422 and "Required." in missing.get_data(as_text=True)
    assert client.post("/verify", data={"registration_number": number}).status_code == 400  # no CSRF token


def test_verification_is_rate_limited(database_url) -> None:  # type: ignore[no-untyped-def]
    app = make_app(database_url, PUBLIC_URL=PUBLIC_URL, RATELIMIT_ENABLED=True)
    client = app.test_client()
    statuses = [client.get("/verify/" + "A" * 32).status_code for _ in range(31)]
    assert statuses[:30] == [404] * 30 and statuses[30] == 429


# ---------------------------------------------------------------- printed and scanned

def scan(pdf: bytes, dpi: int = 150) -> str:
    """The text of the one QR code on the PDF's page, rasterised as a scanner would."""
    document = pdfium.PdfDocument(pdf)
    try:
        image = document[0].render(scale=dpi / 72).to_pil().convert("L")
    finally:
        document.close()
    found = zxingcpp.read_barcodes(image)
    assert len(found) == 1 and found[0].format == zxingcpp.BarcodeFormat.QRCode
    return found[0].text


@pytest.mark.parametrize("language", ["km", "en"])
def test_the_printed_qr_code_scans_to_a_link_that_answers(app, client, language: str) -> None:  # type: ignore[no-untyped-def]
    number = register(client)
    client.get(f"/?lang={language}")
    response = client.get("/certificate.pdf")
    assert len(pdfium.PdfDocument(response.data)) == 1  # still one page
    link = scan(response.data)
    assert link == verify_link(client)  # the page and the paper name the same link
    assert answer(client, path_of(link))[:2] == (200, "valid")
    with app.app_context():
        lifecycle.deactivate(db.session, actor(app, number), "left", clock.today(), None)
        db.session.commit()
    assert answer(client, path_of(link))[:2] == (200, "deactivated")
    token = link.rsplit("/", 1)[1]
    edited = token[:-3] + ("Q" if token[-3] != "Q" else "R") + token[-2:]
    assert answer(client, path_of(link).replace(token, edited))[:2] == (404, "not_valid")


def test_the_keys_command_says_which_key_each_certificate_uses(database_url) -> None:  # type: ignore[no-untyped-def]
    first = make_app(database_url, PUBLIC_URL=PUBLIC_URL)
    client = first.test_client()
    register(client)
    verify_link(client)
    rotated = make_app(database_url, PUBLIC_URL=PUBLIC_URL, VERIFICATION_KEY_IDS=(3, 1),
                       VERIFICATION_SECRET=first.config["VERIFICATION_SECRET"])
    result = rotated.test_cli_runner().invoke(args=["verification-keys"])
    assert result.exit_code == 0
    assert result.output.splitlines() == ["key 3: current, 0 registration(s) last printed with it",
                                          "key 1: accepted, 1 registration(s) last printed with it"]
    retired = make_app(database_url, VERIFICATION_KEY_IDS=(3,), VERIFICATION_SECRET=first.config["VERIFICATION_SECRET"])
    assert "key 1: retired, 1 registration(s)" in retired.test_cli_runner().invoke(args=["verification-keys"]).output


def test_key_ids_are_read_from_the_environment_current_first() -> None:
    from registry.config import parse_key_ids

    assert parse_key_ids("3 2") == (3, 2) and parse_key_ids("3,1") == (3, 1) and parse_key_ids(" 1 ") == (1,)
    for wrong in ("", "0", "256", "2 2", "two", "1;2"):
        with pytest.raises(ValueError, match="REGISTRY_VERIFICATION_KEY_IDS"):
            parse_key_ids(wrong)
