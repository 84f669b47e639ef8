"""Self-service change requests (issue 12 item 1): a worker proves who they are at /update and
asks for a change or withdraws consent; staff of their province approve (through the
lifecycle: validation and identity rule again) or reject with a reason the worker reads on
/status. A wrong proof reveals nothing; another province's officer sees nothing."""
from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from registry import clock
from registry.actors import lifecycle
from registry.actors.erasure import MARKER, purge
from registry.actors.models import Actor
from registry.events.models import Event
from registry.extensions import db
from tests.helpers import csrf_token, make_app, make_user, sign_in, valid_form

CSRF_VALUE = re.compile(r'name="csrf_token" value="[^"]*"')


def register(client, **overrides: str) -> str:  # type: ignore[no-untyped-def]
    data = valid_form(**overrides)
    data["csrf_token"] = csrf_token(client, "/register")
    assert client.post("/register", data=data).status_code == 303
    html = client.get("/register/done").get_data(as_text=True)
    return re.search(r'registration-number">([0-9-]+)<', html).group(1).replace("-", "")


def prove(client, number: str, phone: str = "012 345 678", born: str = "25/01/1990"):  # type: ignore[no-untyped-def]
    token = csrf_token(client, "/update")
    return client.post("/update", data={"step": "prove", "registration_number": number, "phone": phone,
                                        "date_of_birth": born, "csrf_token": token})


def ask(client, step: str = "change", **values: str):  # type: ignore[no-untyped-def]
    form = {"phone": "012 345 678", "province": "12", "district": "1201", "commune": "120101", "sector": "trade"}
    form.update(values)
    token = csrf_token(client, "/update")
    return client.post("/update", data={**form, "step": step, "csrf_token": token})


def requests_of(app, number: str) -> list[sa.Row]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return list(db.session.execute(sa.text(
            "SELECT r.id, r.kind, r.status, r.requested, r.province_code, r.decision_reason, r.actor_change_id"
            " FROM change_request r JOIN actor a ON a.id = r.actor_id WHERE a.registration_number = :n ORDER BY r.id"),
            {"n": number}))


def actor_of(app, number: str) -> Actor:  # type: ignore[no-untyped-def]
    with app.app_context():
        actor = db.session.scalar(sa.select(Actor).where(Actor.registration_number == number))
        db.session.expunge(actor)
        return actor


def registered_earlier(app, number: str) -> None:
    """The person registered last year (a change from today then has a 'before')."""
    with app.app_context():
        actor = db.session.scalar(sa.select(Actor).where(Actor.registration_number == number))
        lifecycle.correct(db.session, actor, {"registered_on": (clock.today() - timedelta(days=300)).isoformat()},
                          "Registered on paper first", None, via="cli")
        db.session.commit()


def staff(app, email: str, role: str = "outreach", province: str | None = None):  # type: ignore[no-untyped-def]
    make_user(app, email, role, province)
    client = app.test_client()
    sign_in(client, email)
    client.get("/staff/requests?lang=en")
    return client


def decide(client, request_id: int, action: str, reason: str = ""):  # type: ignore[no-untyped-def]
    token = csrf_token(client, f"/staff/requests/{request_id}")
    return client.post(f"/staff/requests/{request_id}/{action}", data={"reason": reason, "csrf_token": token})


def status_page(client, number: str, phone: str = "012 345 678") -> str:  # type: ignore[no-untyped-def]
    token = csrf_token(client, "/status?lang=en")
    response = client.post("/status", data={"registration_number": number, "phone": phone,
                                            "date_of_birth": "25/01/1990", "csrf_token": token})
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.fixture
def worker(app):  # type: ignore[no-untyped-def]
    client = app.test_client()
    client.get("/update?lang=en")
    return client


# --------------------------------------------------------------------------- proof
@pytest.mark.parametrize("wrong", ["number", "phone", "date of birth"])
def test_a_wrong_answer_reveals_nothing_and_reads_as_on_status(app, worker, wrong: str) -> None:  # type: ignore[no-untyped-def]
    number = register(worker)
    answers = {"number": number, "phone": "012 345 678", "born": "25/01/1990"}
    answers[{"number": "number", "phone": "phone", "date of birth": "born"}[wrong]] = {
        "number": "0000099994", "phone": "012 345 679", "date of birth": "26/01/1990"}[wrong]
    response = prove(worker, answers["number"], answers["phone"], answers["born"])
    html = response.get_data(as_text=True)
    assert response.status_code == 404
    notice = re.search(r'<div class="notice notice-error" role="alert">(.*?)</div>', html, re.S).group(1)
    assert "No registration matches these details" in notice
    assert "Sok Dara" not in html and "Tonle Basak" not in html
    # The same answer whatever was wrong: the page differs only by what was typed back.
    typed_back = {answers["number"], answers["phone"], answers["born"]}
    stripped = CSRF_VALUE.sub("", html)
    for value in typed_back:
        stripped = stripped.replace(f'value="{value}"', 'value=""')
    baseline = CSRF_VALUE.sub("", prove(worker, "0000099994", "012 000 000", "01/01/1980").get_data(as_text=True))
    for value in ("0000099994", "012 000 000", "01/01/1980"):
        baseline = baseline.replace(f'value="{value}"', 'value=""')
    assert stripped == baseline
    # Nothing proved: the page still asks who you are, and nothing can be sent.
    assert 'name="step" value="prove"' in worker.get("/update").get_data(as_text=True)
    assert ask(worker, phone="012 777 666").status_code == 401
    assert requests_of(app, number) == []


def test_empty_proof_fields_are_named(worker) -> None:  # type: ignore[no-untyped-def]
    response = prove(worker, "", "", "")
    assert response.status_code == 422
    for name in ("registration_number", "phone", "date_of_birth"):
        assert f'id="{name}-error"' in response.get_data(as_text=True)


def test_the_proof_is_kept_in_the_session_never_in_the_address(app, worker) -> None:  # type: ignore[no-untyped-def]
    number = register(worker)
    other = app.test_client()
    response = prove(other, number)
    assert response.status_code == 303 and response.headers["Location"] == "/update"
    page = other.get("/update").get_data(as_text=True)
    assert 'value="change"' in page and number not in response.headers["Location"]
    # Registering alone (the certificate in the session) is no proof.
    fresh = app.test_client()
    register(fresh, phone="012 444 555", full_name="Chan Thy")
    assert 'value="prove"' in fresh.get("/update").get_data(as_text=True)
    # A status look-up is: its link goes straight to the form.
    assert "/update" in status_page(fresh, number)
    assert 'value="change"' in fresh.get("/update").get_data(as_text=True)
    # "Finish" forgets it.
    token = csrf_token(fresh, "/update")
    assert fresh.post("/update", data={"step": "finish", "csrf_token": token}).status_code == 303
    assert 'value="prove"' in fresh.get("/update").get_data(as_text=True)


def test_a_merged_number_proves_the_surviving_registration(app, worker) -> None:  # type: ignore[no-untyped-def]
    kept = register(worker)
    merged = register(app.test_client(), phone="012 999 000", full_name="Sok Dara")
    with app.app_context():
        keep, dup = (db.session.scalar(sa.select(Actor).where(Actor.registration_number == n)) for n in (kept, merged))
        lifecycle.merge(db.session, keep, dup, "Same person", None, via="cli")
        db.session.commit()
    client = app.test_client()
    client.get("/update?lang=en")
    assert prove(client, merged, "012 999 000").status_code == 303
    assert ask(client, phone="012 777 666").status_code == 303
    assert [r.status for r in requests_of(app, kept)] == ["pending"] and requests_of(app, merged) == []


# --------------------------------------------------------------------------- asking
def test_field_errors_are_named_and_nothing_is_stored(app, worker) -> None:  # type: ignore[no-untyped-def]
    number = register(worker, category="micro_enterprise", business_name="Dara Noodles", workers="2")
    prove(worker, number)
    response = ask(worker, phone="1", commune="170201", workers="99", business_name="Dara Noodles")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    for name in ("phone", "commune", "workers"):
        assert f'id="{name}-error"' in html and f'href="#field-{name}"' in html, name
    assert "Nothing was sent" in html
    unchanged = ask(worker, business_name="Dara Noodles", workers="2")
    assert unchanged.status_code == 422 and "Nothing would change" in unchanged.get_data(as_text=True)
    withdraw_unticked = ask(worker, step="withdraw")
    assert withdraw_unticked.status_code == 422 and 'id="confirm-error"' in withdraw_unticked.get_data(as_text=True)
    assert requests_of(app, number) == []


def test_the_area_lists_refresh_without_javascript(app, worker) -> None:  # type: ignore[no-untyped-def]
    number = register(worker)
    prove(worker, number)
    response = ask(worker, province="17", district="", commune="", refresh="province")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'value="1702"' in html and requests_of(app, number) == []


def test_only_changed_fields_are_kept_and_a_new_request_replaces_the_pending_one(app, worker) -> None:  # type: ignore[no-untyped-def]
    number = register(worker)
    prove(worker, number)
    assert ask(worker, phone="+855 12 777 666").status_code == 303
    assert ask(worker, province="17", district="1702", commune="170201", sector="transport").status_code == 303
    first, second = requests_of(app, number)
    assert first.status == "cancelled" and second.status == "pending" and second.province_code == "12"
    values = [json.loads(r.requested) if isinstance(r.requested, str) else r.requested for r in (first, second)]
    assert values == [{"phone": "+85512777666"},
                      {"province": "17", "district": "1702", "commune": "170201", "sector": "transport"}]
    page = worker.get("/update").get_data(as_text=True)
    assert "waiting for review" in page and "Transport" in page
    # The database holds one pending request per registration, whatever the code does.
    with app.app_context(), pytest.raises(sa.exc.IntegrityError):
        db.session.execute(sa.text(
            "INSERT INTO change_request (actor_id, kind, requested, status, province_code, created_at)"
            " SELECT actor_id, kind, requested, 'pending', province_code, created_at FROM change_request WHERE id = :id"),
            {"id": second.id})
    with app.app_context(), pytest.raises(sa.exc.IntegrityError):
        db.session.execute(sa.text("UPDATE change_request SET status = 'rejected', decided_at = created_at WHERE id = :id"),
                           {"id": second.id})  # a rejection without its reason


def test_the_event_log_holds_no_personal_value(app, worker) -> None:  # type: ignore[no-untyped-def]
    number = register(worker)
    prove(worker, number)
    ask(worker, phone="012 777 666")
    with app.app_context():
        detail = db.session.scalar(sa.select(Event.detail).where(Event.kind == "change_request_submitted"))
    text = str(detail)
    assert "phone" in text and "777" not in text and "+855" not in text


def test_submissions_for_one_registration_are_limited(database_url: str) -> None:
    app = make_app(database_url, RATELIMIT_ENABLED=True)
    client = app.test_client()
    number = register(client)
    assert prove(client, number).status_code == 303
    codes = [ask(client, phone=f"012 777 66{n}").status_code for n in range(7)]
    assert codes[:5] == [303] * 5 and codes[5:] == [429, 429]


# --------------------------------------------------------------------------- staff
def test_an_officer_of_the_province_approves_and_the_history_names_the_request(app, worker) -> None:  # type: ignore[no-untyped-def]
    number = register(worker)
    registered_earlier(app, number)
    prove(worker, number)
    assert ask(worker, phone="012 777 666").status_code == 303
    (request_id, *_rest), = requests_of(app, number)
    officer = staff(app, "officer@example.org", province="12")
    queue = officer.get("/staff/requests?lang=en").get_data(as_text=True)
    assert f"/staff/requests/{request_id}" in queue and "1 request waiting for review" in queue
    page = officer.get(f"/staff/requests/{request_id}").get_data(as_text=True)
    assert "+85512345678" in page and "+85512777666" in page
    response = decide(officer, request_id, "approve")
    assert response.status_code == 303
    assert actor_of(app, number).phone == "+85512777666"
    (row,) = requests_of(app, number)
    assert row.status == "approved" and row.actor_change_id is not None
    record = officer.get(f"/staff/actors/{number}?lang=en").get_data(as_text=True)
    history = re.search(r'<table class="data" id="history">(.*?)</table>', record, re.S).group(1)
    assert f"Change request {request_id} from the person" in history and "Change of circumstances" in history
    assert "+85512777666" in history
    # The worker sees it applied (with the new phone now).
    assert "Approved on" in status_page(app.test_client(), number, "012 777 666")
    # Approved once: a second approval is refused.
    assert decide(officer, request_id, "approve").status_code == 409
    with app.app_context():
        kinds = list(db.session.scalars(sa.text("SELECT kind FROM event WHERE kind LIKE 'change_request%' ORDER BY id")))
    assert kinds == ["change_request_submitted", "change_request_approved"]


def test_a_registration_made_today_is_corrected(app, worker) -> None:  # type: ignore[no-untyped-def]
    number = register(worker)
    prove(worker, number)
    ask(worker, sector="transport")
    (request_id, *_rest), = requests_of(app, number)
    officer = staff(app, "officer@example.org")
    assert decide(officer, request_id, "approve").status_code == 303
    record = officer.get(f"/staff/actors/{number}?lang=en").get_data(as_text=True)
    assert "Correction" in record and actor_of(app, number).sector == "transport"


def test_a_move_is_approved_in_the_current_province_and_the_new_one_sees_the_person(app, worker) -> None:  # type: ignore[no-untyped-def]
    number = register(worker)
    registered_earlier(app, number)
    prove(worker, number)
    ask(worker, province="17", district="1702", commune="170201")
    (request_id, *_rest), = requests_of(app, number)
    there = staff(app, "siemreap@example.org", province="17")
    assert there.get(f"/staff/requests/{request_id}").status_code == 404
    assert f"/staff/requests/{request_id}" not in there.get("/staff/requests").get_data(as_text=True)
    assert there.get(f"/staff/actors/{number}").status_code == 404
    here = staff(app, "phnompenh@example.org", province="12")
    assert decide(here, request_id, "approve").status_code == 303
    assert actor_of(app, number).province_code == "17"
    assert there.get(f"/staff/actors/{number}").status_code == 200
    assert here.get(f"/staff/actors/{number}").status_code == 404


def test_other_provinces_get_404_and_the_ministry_403(app, worker) -> None:  # type: ignore[no-untyped-def]
    number = register(worker)
    prove(worker, number)
    ask(worker, phone="012 777 666")
    (request_id, *_rest), = requests_of(app, number)
    elsewhere = staff(app, "elsewhere@example.org", province="17")
    assert elsewhere.get(f"/staff/requests/{request_id}").status_code == 404
    assert decide(elsewhere, request_id, "reject", "No").status_code == 404
    assert elsewhere.get("/staff/requests/999999").status_code == 404
    assert "0 requests waiting" in elsewhere.get("/staff/requests?lang=en").get_data(as_text=True)
    ministry = staff(app, "ministry@example.org", role="ministry")
    assert ministry.get("/staff/requests").status_code == 403
    assert ministry.get(f"/staff/requests/{request_id}").status_code == 403
    national = staff(app, "national@example.org")
    assert national.get(f"/staff/requests/{request_id}").status_code == 200
    assert national.get("/staff/requests?after=abc").status_code == 400
    assert [r.status for r in requests_of(app, number)] == ["pending"]


def test_an_identity_conflict_at_approval_is_refused_and_nothing_changes(app, worker) -> None:  # type: ignore[no-untyped-def]
    number = register(worker)
    other = register(app.test_client(), phone="012 888 999")  # the same name, birth date and category
    prove(worker, number)
    assert ask(worker, phone="012 888 999").status_code == 303  # the worker is told nothing about the other
    (request_id, *_rest), = requests_of(app, number)
    officer = staff(app, "officer@example.org", province="12")
    response = decide(officer, request_id, "approve")
    html = response.get_data(as_text=True)
    assert response.status_code == 409 and 'id="conflict"' in html and other in html.replace("-", "")
    assert actor_of(app, number).phone == "+85512345678"
    assert [r.status for r in requests_of(app, number)] == ["pending"]
    # The officer rejects it; the worker reads why.
    assert decide(officer, request_id, "reject").status_code == 422
    assert decide(officer, request_id, "reject", "This phone is already another person's registration.").status_code == 303
    status = status_page(app.test_client(), number)
    assert "Rejected on" in status and "already another person" in status


def test_the_worker_sees_a_pending_request_on_status(app, worker) -> None:  # type: ignore[no-untyped-def]
    number = register(worker)
    assert "change-request" not in status_page(app.test_client(), number)
    prove(worker, number)
    ask(worker, sector="transport")
    page = status_page(app.test_client(), number)
    assert "waiting for review" in page and "Transport" in page


def test_withdrawing_consent_deactivates_and_erasure_deletes_the_requests(app, worker) -> None:  # type: ignore[no-untyped-def]
    number = register(worker)
    registered_earlier(app, number)
    prove(worker, number)
    ask(worker, phone="012 777 666")
    assert ask(worker, step="withdraw", confirm="y").status_code == 303
    cancelled, withdrawal = requests_of(app, number)
    assert (cancelled.status, withdrawal.kind, withdrawal.requested) == ("cancelled", "withdraw_consent", None)
    officer = staff(app, "officer@example.org", province="12")
    assert "consent" in officer.get(f"/staff/requests/{withdrawal.id}?lang=en").get_data(as_text=True)
    assert decide(officer, withdrawal.id, "approve").status_code == 303
    actor = actor_of(app, number)
    assert (actor.status, actor.status_reason) == ("deactivated", "consent_withdrawn")
    page = worker.get("/update").get_data(as_text=True)
    assert "not active" in page and "nothing to withdraw" in page and 'value="change"' not in page
    assert ask(worker, phone="012 111 222").status_code == 409
    with app.app_context():
        result = purge(db.session, clock.today() + timedelta(days=1), 0)[1]
        db.session.commit()
        assert result is not None and result.requests_deleted == 2
        assert db.session.scalar(sa.text("SELECT count(*) FROM change_request")) == 0
        details = list(db.session.scalars(sa.select(Event.detail).where(Event.kind.like("change_request%"))))
    assert len(details) == 3 and all(d["request"] == MARKER and d["kind"] == MARKER for d in details)


def test_the_queue_pages_oldest_first_by_keyset(app) -> None:  # type: ignore[no-untyped-def]
    from registry.change_requests import services

    numbers = [register(app.test_client(), phone=f"012 345 60{n}", full_name=f"Keo Mony {'ABC'[n]}") for n in range(3)]
    with app.app_context():
        for number in reversed(numbers):  # sent in the opposite order of registration
            actor = db.session.scalar(sa.select(Actor).where(Actor.registration_number == number))
            services.submit(db.session, actor, "change", {"sector": "transport"}, now=clock.now())
        db.session.commit()
        first = services.pending(db.session, None, size=2)
        second = services.pending(db.session, None, after=first.next_after, size=2)
        assert [a.registration_number for _r, a in first.rows] == list(reversed(numbers))[:2] and first.total == 3
        assert [a.registration_number for _r, a in second.rows] == [numbers[0]] and second.next_after is None


def test_posts_need_their_csrf_token_and_a_reason_has_a_length(app, worker) -> None:  # type: ignore[no-untyped-def]
    number = register(worker)
    assert worker.post("/update", data={"step": "prove", "registration_number": number, "phone": "012 345 678",
                                        "date_of_birth": "25/01/1990"}).status_code == 400
    prove(worker, number)
    ask(worker, phone="012 777 666")
    (request_id, *_rest), = requests_of(app, number)
    officer = staff(app, "officer@example.org")
    assert officer.post(f"/staff/requests/{request_id}/approve").status_code == 400
    response = decide(officer, request_id, "reject", "x" * 501)
    assert response.status_code == 422 and 'id="reason-error"' in response.get_data(as_text=True)
    assert [r.status for r in requests_of(app, number)] == ["pending"] and actor_of(app, number).phone == "+85512345678"


def test_staff_approving_while_workers_send_new_requests_never_fails(app) -> None:  # type: ignore[no-untyped-def]
    """Two writers on the same registrations (as two gunicorn workers would be): no deadlock, no
    error; each request ends approved or replaced, and one request at most waits per person."""
    import threading

    from registry.actors.services import register_actor
    from registry.actors.validation import validate_registration
    from registry.change_requests import services
    from registry.change_requests.models import ChangeRequest

    people, failures, outcomes = 12, [], {"approved": 0, "decided": 0}
    with app.app_context():
        ids = []
        for n in range(people):
            reg, errors = validate_registration({
                "category": "self_employed", "full_name": f"Keo Mony {chr(65 + n)}", "gender": "female",
                "date_of_birth": "1990-01-01", "phone": f"012 400 {n:03d}", "province": "12", "district": "1201",
                "commune": "120101", "sector": "trade", "registered_on": "2025-01-15"}, today=clock.today())
            assert not errors
            actor = register_actor(db.session, reg, channel="self", consented_at=clock.now(), now=clock.now())
            ids.append(services.submit(db.session, actor, "change", {"sector": "transport"}, now=clock.now()).id)
        db.session.commit()
        actor_ids = list(db.session.scalars(sa.select(ChangeRequest.actor_id).order_by(ChangeRequest.id)))
    start = threading.Barrier(2)

    def approver() -> None:
        try:
            with app.app_context():
                start.wait()
                for request_id in ids:
                    try:
                        services.approve(db.session, db.session.get(ChangeRequest, request_id), None, now=clock.now())
                        db.session.commit()
                        outcomes["approved"] += 1
                    except services.AlreadyDecided:
                        db.session.rollback()
                        outcomes["decided"] += 1
        except BaseException as error:  # noqa: BLE001 - reported below
            failures.append(error)

    def sender() -> None:
        try:
            with app.app_context():
                start.wait()
                for n, actor_id in enumerate(actor_ids):
                    services.submit(db.session, db.session.get(Actor, actor_id), "change", {"phone": f"012 500 {n:03d}"},
                                    now=clock.now())
                    db.session.commit()
        except BaseException as error:  # noqa: BLE001 - reported below
            failures.append(error)

    threads = [threading.Thread(target=approver), threading.Thread(target=sender)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert outcomes["approved"] + outcomes["decided"] == people
    with app.app_context():
        first = dict(db.session.execute(sa.select(ChangeRequest.status, sa.func.count()).where(ChangeRequest.id.in_(ids))
                                        .group_by(ChangeRequest.status)).all())
        assert first.get("approved", 0) == outcomes["approved"] and first.get("cancelled", 0) == outcomes["decided"]
        waiting = db.session.scalar(sa.select(sa.func.count()).where(ChangeRequest.status == "pending"))
        transport = db.session.scalar(sa.select(sa.func.count()).select_from(Actor).where(Actor.sector == "transport"))
    assert waiting == people and transport == outcomes["approved"]
