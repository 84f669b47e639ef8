"""The duplicate review queue: candidates found at registration, by `find-duplicates` and after
an import, by blocking keys (Khmer and Latin spellings of one name, phones one digit apart,
one national ID in two categories); pairs proposed once; closed when nothing is left to decide."""
from __future__ import annotations

import re
from datetime import date, datetime, timezone

import pytest
import sqlalchemy as sa
from flask import Flask

from registry import clock
from registry.actors.normalise import identity_name
from registry.actors.romanise import roman_key
from registry.actors.services import insert_actors
from registry.actors.validation import Registration
from registry.duplicates.blocking import Person, phone_keys, phone_neighbours, verify
from registry.extensions import db
from tests.helpers import POSTGRES_URL, csrf_token, valid_form

NOW = datetime(2026, 12, 1, 9, tzinfo=timezone.utc)


def register(client, **overrides: str):  # type: ignore[no-untyped-def]
    form = valid_form(**overrides)
    response = client.post("/register", data={**form, "csrf_token": csrf_token(client, "/register")})
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    return response


def pairs(app: Flask) -> list[tuple]:  # type: ignore[type-arg]
    with app.app_context():
        return [tuple(r) for r in db.session.execute(sa.text(
            "SELECT a.full_name, b.full_name, p.reasons, p.score, p.status, p.source, p.province_code"
            " FROM duplicate_pair p JOIN actor a ON a.id = p.first_actor_id JOIN actor b ON b.id = p.second_actor_id"
            " ORDER BY p.id"))]


def test_sok_dara_in_latin_after_khmer_with_a_phone_one_digit_apart_is_queued(app, client) -> None:  # type: ignore[no-untyped-def]
    register(client, full_name="សុខ ដារ៉ា", phone="012 345 678")
    assert pairs(app) == []
    register(client, full_name="Sok Dara", phone="012 345 679")
    [(first, second, reasons, score, status, source, province)] = pairs(app)
    assert (first, second) == ("សុខ ដារ៉ា", "Sok Dara")
    assert reasons == "same_birth_roman,phone_near" and status == "pending" and source == "registration"
    assert province == "12" and 80 <= score <= 100


def test_different_people_are_not_queued(app, client) -> None:  # type: ignore[no-untyped-def]
    register(client, full_name="សុខ ដារ៉ា", phone="012 345 678")
    register(client, full_name="Chan Vanna", phone="012 345 679")  # a phone one digit apart, another name
    register(client, full_name="Sok Dara", phone="097 111 222", date_of_birth="26/01/1990")  # another day of birth
    register(client, full_name="Sok Dara", phone="012 345 678", category="employee")  # another category, no national ID
    assert pairs(app) == []


# --------------------------------------------------------------------------- the staff pages
from tests.helpers import make_user, sign_in  # noqa: E402


def staff(app: Flask, role: str, province: str | None = None):  # type: ignore[no-untyped-def]
    email = f"{role}{province or ''}@example.org"
    make_user(app, email, role, province)
    client = app.test_client()
    assert sign_in(client, email).status_code == 303
    return client


def pair_ids(app: Flask) -> list[int]:
    with app.app_context():
        return list(db.session.scalars(sa.text("SELECT id FROM duplicate_pair ORDER BY id")))


def decide(client, pair_id: int, **data: str):  # type: ignore[no-untyped-def]
    path = f"/staff/duplicates/{pair_id}"
    return client.post(path + "?lang=en", data={**data, "csrf_token": csrf_token(client, path)})


def active(app: Flask) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(sa.text("SELECT full_name FROM actor WHERE status = 'active' ORDER BY id")))


def test_a_merge_from_the_queue_leaves_one_active_registration(app, client) -> None:  # type: ignore[no-untyped-def]
    register(client, full_name="សុខ ដារ៉ា", phone="012 345 678")
    register(client, full_name="Sok Dara", phone="012 345 679")
    officer = staff(app, "outreach", "12")
    queue = officer.get("/staff/duplicates?lang=en").get_data(as_text=True)
    [pair_id] = pair_ids(app)
    assert f"/staff/duplicates/{pair_id}" in queue and "Sok Dara" in queue and "names that sound alike across Khmer and Latin" in queue
    page = officer.get(f"/staff/duplicates/{pair_id}?lang=en").get_data(as_text=True)
    assert "The two registrations side by side" in page and "សុខ ដារ៉ា" in page and "+85512345679" in page
    refused = decide(officer, pair_id, action="merge", reason="Same person")
    assert refused.status_code == 422 and "Choose which registration stays" in refused.get_data(as_text=True)
    assert active(app) == ["សុខ ដារ៉ា", "Sok Dara"]
    done = decide(officer, pair_id, action="merge", keep="first", reason="Same person, two scripts")
    assert done.status_code == 303 and done.headers["Location"] == "/staff/duplicates"
    assert active(app) == ["សុខ ដារ៉ា"]
    assert pairs(app)[0][4] == "merged"
    with app.app_context():
        events = db.session.execute(sa.text("SELECT kind, subject, detail FROM event WHERE kind LIKE 'duplicate%' OR kind = 'actor_merged'")).all()
        history = db.session.scalars(sa.text("SELECT reason FROM actor_change WHERE kind = 'merge'")).all()
    assert {e.kind for e in events} == {"actor_merged", "duplicate_merged"}
    assert "Sok" not in str([tuple(e) for e in events])  # no personal values in the event log
    assert history == ["Same person, two scripts"] * 2
    again = decide(officer, pair_id, action="dismiss")
    assert again.status_code == 409
    assert "No pairs to review" in officer.get("/staff/duplicates?lang=en").get_data(as_text=True)


def test_a_dismissed_pair_is_not_proposed_again(app, client) -> None:  # type: ignore[no-untyped-def]
    register(client, full_name="សុខ ដារ៉ា", phone="012 345 678")
    register(client, full_name="Sok Dara", phone="012 345 679")
    officer = staff(app, "outreach")
    [pair_id] = pair_ids(app)
    assert decide(officer, pair_id, action="dismiss").status_code == 303
    result = app.test_cli_runner().invoke(args=["find-duplicates"])
    assert result.exit_code == 0, result.output
    assert "1 possible duplicates, 0 new in the queue" in result.output
    assert [p[4] for p in pairs(app)] == ["dismissed"] and active(app) == ["សុខ ដារ៉ា", "Sok Dara"]


def test_defer_keeps_the_pair_after_the_pending_ones(app, client) -> None:  # type: ignore[no-untyped-def]
    register(client, full_name="សុខ ដារ៉ា", phone="012 345 678")
    register(client, full_name="Sok Dara", phone="012 345 679")
    register(client, full_name="Chan Vanna", phone="017 222 333", date_of_birth="02/02/1992")
    register(client, full_name="Chan Vana", phone="017 222 334", date_of_birth="02/02/1992")
    officer = staff(app, "admin")
    first, second = pair_ids(app)
    assert decide(officer, first, action="defer").status_code == 303
    queue = officer.get("/staff/duplicates?lang=en").get_data(as_text=True)
    assert queue.index(f"/staff/duplicates/{second}") < queue.index(f"/staff/duplicates/{first}")
    assert "Deferred" in queue
    assert decide(officer, second, action="nothing").status_code == 422


def test_pairs_spanning_provinces_go_to_admins_and_other_provinces_get_404(app, client) -> None:  # type: ignore[no-untyped-def]
    register(client, full_name="សុខ ដារ៉ា", phone="012 345 678")
    register(client, full_name="Sok Dara", phone="012 345 679", province="17", district="1702", commune="170201")
    [(_a, _b, _reasons, _score, _status, _source, province)] = pairs(app)
    assert province is None
    [pair_id] = pair_ids(app)
    for who in (staff(app, "outreach", "12"), staff(app, "outreach", "17"), staff(app, "outreach")):
        assert "No pairs to review" in who.get("/staff/duplicates?lang=en").get_data(as_text=True)
        assert who.get(f"/staff/duplicates/{pair_id}").status_code == 404
        assert decide_raw(who, pair_id).status_code == 404
    admin = staff(app, "admin")
    assert f"/staff/duplicates/{pair_id}" in admin.get("/staff/duplicates").get_data(as_text=True)
    assert admin.get(f"/staff/duplicates/{pair_id}").status_code == 200
    ministry = staff(app, "ministry")
    assert ministry.get("/staff/duplicates").status_code == 403
    assert ministry.get(f"/staff/duplicates/{pair_id}").status_code == 403


def decide_raw(client, pair_id: int):  # type: ignore[no-untyped-def]
    token = csrf_token(client, "/staff/actors")
    return client.post(f"/staff/duplicates/{pair_id}", data={"action": "dismiss", "csrf_token": token})


def test_another_provinces_officer_gets_404_and_their_own_sees_it(app, client) -> None:  # type: ignore[no-untyped-def]
    register(client, full_name="សុខ ដារ៉ា", phone="012 345 678")
    register(client, full_name="Sok Dara", phone="012 345 679")
    [pair_id] = pair_ids(app)
    assert staff(app, "outreach", "17").get(f"/staff/duplicates/{pair_id}").status_code == 404
    assert staff(app, "outreach", "12").get(f"/staff/duplicates/{pair_id}").status_code == 200
    assert staff(app, "outreach").get(f"/staff/duplicates/{pair_id}").status_code == 200
    assert staff(app, "admin").get("/staff/duplicates?after=x-1").status_code == 400


# --------------------------------------------------------------------------- other reasons, the command, imports
def test_one_national_id_in_two_categories_is_queued_and_cannot_be_merged_as_it_is(app, client) -> None:  # type: ignore[no-untyped-def]
    register(client, full_name="Keo Sophea", national_id="123456789", phone="012 111 222")
    register(client, full_name="Keo Sophea", national_id="123 456 789", phone="097 333 444", category="employee")
    [(_a, _b, reasons, score, status, _source, province)] = pairs(app)
    assert (reasons, score, status, province) == ("same_national_id_other_category", 80, "pending", "12")
    officer = staff(app, "outreach", "12")
    [pair_id] = pair_ids(app)
    page = officer.get(f"/staff/duplicates/{pair_id}?lang=en").get_data(as_text=True)
    assert "one person registered in two categories" in page and 'id="other-category"' in page and 'id="merge"' not in page
    refused = decide(officer, pair_id, action="merge", keep="first", reason="Same person")
    assert refused.status_code == 422 and "different categories" in refused.get_data(as_text=True)
    assert len(active(app)) == 2


def seed(app: Flask, people: list[tuple[str, str, str]]) -> None:
    """Registrations stored without the look-up at registration (as an old registry holds them):
    (name, phone, category); born 25/01/1990 in commune 120101."""
    with app.app_context():
        insert_actors(db.session, [Registration(
            category=category, full_name=name, name_key=identity_name(name), roman_key=roman_key(name), gender="female", date_of_birth=date(1990, 1, 25),
            national_id=None, phone=phone, province_code="12", district_code="1201", commune_code="120101", sector="trade",
            business_name=None, workers=None, registered_on=date(2024, 12, 20)) for name, phone, category in people],
            channel="outreach", now=NOW, consented_at=NOW)
        db.session.commit()


def test_find_duplicates_over_the_registry_is_idempotent(app) -> None:  # type: ignore[no-untyped-def]
    seed(app, [("សុខ ដារ៉ា", "+85512345678", "self_employed"), ("Sok Dara", "+85512354678", "self_employed"),  # swapped digits
               ("ចាន់ វណ្ណា", "+85517000111", "employee"), ("Chan Vanna", "+8551700011", "employee"),  # a digit missing
               ("Heng Pich", "+85515999888", "employee"), ("Lim Bopha", "+85515999889", "employee")])  # other names
    runner = app.test_cli_runner()
    first = runner.invoke(args=["find-duplicates", "--json"])
    assert first.exit_code == 0, first.output
    figures = __import__("json").loads(first.output)
    assert figures["read"] == 6 and figures["found"] == 2 and figures["new"] == 2
    assert sorted((a, b, r) for a, b, r, *_ in pairs(app)) == [
        ("ចាន់ វណ្ណា", "Chan Vanna", "same_birth_roman,phone_near"), ("សុខ ដារ៉ា", "Sok Dara", "same_birth_roman,phone_near")]
    assert {p[5] for p in pairs(app)} == {"scan"}
    again = runner.invoke(args=["find-duplicates"])
    assert again.exit_code == 0 and "2 possible duplicates, 0 new in the queue" in again.output
    later = runner.invoke(args=["find-duplicates", "--since", "2099-01-01"])
    assert later.exit_code == 0 and "Read 0 active registrations" in later.output
    wrong = runner.invoke(args=["find-duplicates", "--since", "yesterday"])
    assert wrong.exit_code == 2 and "--since" in wrong.output
    with app.app_context():
        runs = db.session.scalars(sa.text("SELECT detail FROM event WHERE kind = 'duplicates_found'")).all()
    assert len(runs) == 3 and "Sok" not in str(runs)


def test_a_pair_is_closed_when_one_registration_is_deactivated_elsewhere(app, client) -> None:  # type: ignore[no-untyped-def]
    register(client, full_name="សុខ ដារ៉ា", phone="012 345 678")
    register(client, full_name="Sok Dara", phone="012 345 679")
    [pair_id] = pair_ids(app)
    with app.app_context():
        number = db.session.scalar(sa.text("SELECT max(registration_number) FROM actor"))
    admin = staff(app, "admin")
    result = app.test_cli_runner().invoke(args=["actors", "deactivate", number, "--reason", "error", "--effective", clock.today().isoformat(),
                                                "--by", "admin@example.org"])
    assert result.exit_code == 0, result.output
    assert "No pairs to review" in admin.get("/staff/duplicates?lang=en").get_data(as_text=True)
    page = admin.get(f"/staff/duplicates/{pair_id}?lang=en").get_data(as_text=True)
    assert "Closed: one of the two is no longer active" in page and 'id="decision"' not in page
    assert [p[4] for p in pairs(app)] == ["closed"]


@pytest.mark.parametrize("registry_size", [1, 100])  # the scan from the batch's first row; look-ups row by row
def test_an_import_queues_pairs_against_the_registry_and_within_the_file(app, tmp_path, registry_size: int,  # type: ignore[no-untyped-def]
                                                                        monkeypatch) -> None:
    """… each slice of pairs in a transaction of its own (a slice of one pair here); the
    look-ups read on a connection that only reads (on SQLite: never inside the write lock)."""
    from registry.database import READ_ONLY
    from registry.duplicates import services
    from tests.import_files import good, write_csv

    others = [(f"Other {chr(65 + i // 26)}{chr(65 + i % 26)}x", f"+855{11 + i % 3}{7000000 + 1000 * i}", "employee")
              for i in range(registry_size - 1)]
    seed(app, [("សុខ ដារ៉ា", "+85512345678", "self_employed"), *others])
    rows = [good(1, full_name="Sok Dara", phone="012 345 687", date_of_birth="1990-01-25"),  # the registry's, digits swapped
            good(2, full_name="Chan Vanna", phone="017 000 111", date_of_birth="1985-03-04"),
            good(3, full_name="ចាន់ វណ្ណា", phone="017 000 112", date_of_birth="1985-03-04"),  # the row above
            good(4, full_name="Meas Bopha", phone="089 555 444", date_of_birth="1979-11-30")]
    path = write_csv(tmp_path / "field.csv", rows)
    monkeypatch.setattr(services, "STORE_SLICE", 1)
    transactions: list[list[str]] = [[]]
    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", lambda _c, _cur, statement, *_a: transactions[-1].append(statement))
    sa.event.listen(engine, "commit", lambda _c: transactions.append([]))
    lookups: list[bool] = []  # each candidate look-up: was its connection read-only?
    candidates = services._candidates_statement(engine.dialect.name)
    sa.event.listen(engine, "before_cursor_execute", lambda connection, _cur, _s, _p, context, _m: lookups.append(
        bool(connection.get_execution_options().get(READ_ONLY))) if context.compiled is not None
        and context.compiled.statement is candidates else None)
    result = app.test_cli_runner().invoke(args=["import-actors", str(path)])
    assert result.exit_code == 0, result.output
    if registry_size == 100:  # the look-up path (the scan reads on its own connection too)
        assert lookups and all(lookups)
    storing = [sum(s.startswith("INSERT INTO duplicate_pair") for s in t) for t in transactions]
    assert [n for n in storing if n] == [1, 1]
    found = sorted((a, b, r, source) for a, b, r, _score, _status, source, _p in pairs(app))
    assert found == [("Chan Vanna", "ចាន់ វណ្ណា", "same_birth_roman,phone_near", "import"),
                     ("សុខ ដារ៉ា", "Sok Dara", "same_birth_roman,phone_near", "import")]


def test_the_blocking_keys_meet_for_every_phone_one_edit_apart() -> None:
    from rapidfuzz.distance import OSA

    from registry.duplicates.blocking import phone_passes

    phone = "+85512345678"
    near = phone_neighbours(phone)
    assert {"+85512345679", "+85512354678", "+855123456789", "+85502345678"} <= near
    assert "+85512345678" in phone_neighbours("+855123456789") and "+8551234567" not in near  # 7 digits: no phone
    assert phone not in near and all(OSA.distance(p[4:], phone[4:]) == 1 for p in near)

    def keys(p: str) -> set[tuple[str, int, str]]:
        return {(kind, i, key) for kind, i in phone_passes(9) for key in phone_keys(p[4:], kind, i)}

    assert all(keys(phone) & keys(other) for other in near)  # the scan meets each neighbour
    assert not keys(phone) & keys("+85512345699") and not keys(phone) & keys("+85521345687")  # two edits: never


def test_verify_gives_reasons_and_scores_but_not_for_other_people() -> None:
    def person(i: int, name: str, phone: str, category: str = "employee", national_id: str | None = None) -> Person:
        return Person(i, category, date(1990, 1, 25), phone, national_id, identity_name(name), name, "12")

    khmer, latin = person(1, "សុខ ដារ៉ា", "+85512345678"), person(2, "Sok Dara", "+85512345679")
    found = verify(latin, khmer)
    assert found is not None and found.first_id == 1 and found.reasons == ("same_birth_roman", "phone_near")
    assert verify(khmer, person(3, "សុខ ដារ៉ា", "+85597000000")).reasons == ("same_birth_name",)  # type: ignore[union-attr]
    assert verify(khmer, person(4, "Chan Vanna", "+85512345679")) is None
    assert verify(person(5, "Keo Sophea", "+85511111111", national_id="123456789"),
                  person(6, "Keo Sophea", "+85522222222", "self_employed", "123456789")).reasons == ("same_national_id_other_category",)  # type: ignore[union-attr]


def test_the_scan_reads_a_snapshot_that_lets_writers_go_on(app) -> None:  # type: ignore[no-untyped-def]
    """find-duplicates reads for tens of seconds at a million registrations: on SQLite, where
    every other transaction takes the write lock when it begins, its reads must not hold it."""
    import sqlalchemy as sa

    from registry.database import reading
    from registry.extensions import db

    with app.app_context():
        with reading(db.engine) as reader:
            before = reader.execute(sa.text("SELECT count(*) FROM actor")).scalar_one()
            with db.engine.begin() as writer:  # BEGIN IMMEDIATE: would wait on a write lock held by the reader
                writer.execute(sa.text("UPDATE actor SET phone = phone WHERE id = -1"))
            assert reader.execute(sa.text("SELECT count(*) FROM actor")).scalar_one() == before


FILL = (  # rows straight in SQL (a second): an actor table the size of a province's campaign
    "INSERT INTO actor (id, registration_number, category, full_name, name_key, roman_key, gender, date_of_birth,"
    " national_id, phone, province_code, district_code, commune_code, sector, channel, registered_on, created_at,"
    " consented_at) SELECT g, lpad(g::text, 10, '0'), (ARRAY['employee', 'self_employed'])[1 + g % 2], 'name ' || g,"
    " 'name ' || g, 'name ' || g, 'female', date '1970-01-01' + g % 15000,"
    " CASE WHEN g % 3 = 0 THEN NULL ELSE lpad(g::text, 9, '0') END, '+85512' || lpad(g::text, 7, '0'), '12', '1201',"
    " '120101', 'trade', 'self', date '2026-01-01', now(), now() FROM generate_series(1, 30000) AS g")


@pytest.mark.skipif(not POSTGRES_URL, reason="PostgreSQL's planner (SQLite's: INDEXED BY)")
def test_the_candidates_are_index_probes_on_a_table_without_statistics(session) -> None:  # type: ignore[no-untyped-def]
    """Without statistics (a young table, one just filled by an import) PostgreSQL read a
    national ID alone over the whole of an identity index (category, national_id): each part
    must probe the index that leads with its own columns. The table: a temporary copy of actor
    with its indexes (it hides the real one; never analysed), gone with the test's rollback."""
    from registry.duplicates.services import _candidates_statement, _triples, _values

    session.execute(sa.text("CREATE TEMPORARY TABLE actor (LIKE public.actor INCLUDING DEFAULTS INCLUDING INDEXES)"))
    session.execute(sa.text(FILL))
    indexes = dict(session.execute(sa.text("SELECT indexname, indexdef FROM pg_indexes"
                                           " WHERE tablename = 'actor' AND schemaname LIKE 'pg_temp%'")).all())
    born = date(1970, 1, 1)  # row 15000 (employee, born 1970 + 15000 % 15000 days)
    params = {**_triples("postgresql", "names", [("employee", born, "name 15000")]),
              **_triples("postgresql", "romans", [("employee", born, "name 15000")]),
              "phones": _values("postgresql", {"+855120012345", "+855120012346"}), "ids": _values("postgresql", {"000012347"})}
    statement = _candidates_statement("postgresql")
    plan = "\n".join(session.scalars(sa.text("EXPLAIN " + statement.element.text), params))
    assert "Seq Scan" not in plan, plan
    for columns, condition in (("phone", r"\(\(phone\)::text = wanted_2\.value\)"),
                               ("national_id", r"\(\(national_id\)::text = wanted_3\.value\)")):
        probe = re.search(rf"(?:Index Scan using|Bitmap Index Scan on) (\S+) .*\n\s+Index Cond: {condition}", plan)
        assert probe and indexes[probe.group(1)].endswith(f"USING btree ({columns})"), plan  # the index that leads with it
    # The two birth parts probe their own index (it leads with its key) by key, category and birth.
    for wanted, key, index in (("wanted", "name_key", "ix_actor_birth_name"), ("wanted_1", "roman_key", "ix_actor_birth_roman")):
        probe = re.search(rf"(?:Index Scan using|Bitmap Index Scan on) (\S+) .*\n\s+Index Cond: \(\(\({key}\)::text = {wanted}\.key\)"
                          rf" AND \(\(category\)::text = {wanted}\.category\) AND \(date_of_birth = {wanted}\.born\)\)", plan)
        assert probe and indexes[probe.group(1)].endswith(f"USING btree ({key}, category, date_of_birth)"), plan
    found = {row.id for row in session.execute(statement, params)}
    assert found == {15000, 12345, 12346, 12347}  # by name, by the two phones, by the national ID
