"""A province-limited account cannot find, view, correct or export anyone outside its province
(the issue's Done-when), checked over every staff page that takes a registration number — read
from the URL map, so a page added later is covered the day it exists — with GET and POST, for
each role, and over every `actors` command (a command added later fails the test until it is
given here). "Outside your province" always answers like "no such registration"."""
from __future__ import annotations

from typing import Any

from flask import Flask

from registry.actors.commands import actors
from registry.extensions import db
from tests.helpers import csrf_token, make_user, sign_in
from tests.test_records import found
from tests.test_lifecycle import _register

INSIDE_PROVINCE = "08"  # Kandal: the accounts' province
# Every `actors` command, with the arguments it needs apart from the registration number(s).
COMMANDS: dict[str, list[str]] = {
    "find": [],
    "show": ["--json"],
    "correct": ["--set", "phone=012 777 666", "--reason", "new phone"],
    "deactivate": ["--reason", "left", "--effective", "2025-01-10"],
    "reactivate": ["--reason", "back"],
    "merge": ["--reason", "same person"],
    "export": ["--format", "json", "--output", "{tmp}/record.json"],
}


def _people(app: Flask) -> dict[str, Any]:
    with app.app_context():
        outside = _register(db.session, 1, full_name="Outside Person")  # Phnom Penh (12)
        inside = _register(db.session, 2, full_name="Inside Person", province="08", district="0801", commune="080101")
        inside_too = _register(db.session, 3, full_name="Inside Other", province="08", district="0801", commune="080101")
        db.session.commit()
        return {"outside": outside.registration_number, "inside": inside.registration_number,
                "inside_too": inside_too.registration_number}


def _record_rules(app: Flask) -> list[Any]:
    return [rule for rule in app.url_map.iter_rules()
            if rule.rule.startswith("/staff/") and "<number>" in rule.rule and set(rule.arguments) == {"number"}]


def test_every_record_page_refuses_a_registration_of_another_province(app) -> None:  # type: ignore[no-untyped-def]
    people = _people(app)
    rules = _record_rules(app)
    endpoints = {rule.endpoint for rule in rules}
    # The pages the issue names are among them (so the URL map is really what is read here).
    assert {"records.record", "changes.correct", "changes.deactivate", "changes.reactivate", "changes.merge",
            "record_export.confirm"} <= endpoints, endpoints
    for role in ("outreach", "ministry", "admin"):
        email = f"{role}@kandal.example.org"
        make_user(app, email, role, province=INSIDE_PROVINCE)
        client = app.test_client()
        assert sign_in(client, email).status_code == 303
        token = csrf_token(client, "/staff/actors")
        for rule in rules:
            for method in sorted({"GET", "POST"} & set(rule.methods or ())):
                url = app.url_map.bind("localhost").build(rule.endpoint, {"number": people["outside"]}, method=method)
                response = client.open(url, method=method, data={"csrf_token": token, "reason": "x", "other": people["inside"]})
                body = response.get_data(as_text=True)
                assert response.status_code in (403, 404), (role, method, url, response.status_code)
                assert "Outside Person" not in body, (role, url)
                if role != "ministry":  # every page lets outreach and admin in: refused for the place, not the role
                    assert response.status_code == 404, (role, method, url, response.status_code)
            # Not vacuous: the same page for a registration of the account's own province is served
            # (the assisted confirmation pages serve only the account's own registrations: skipped).
            if "GET" in (rule.methods or ()) and not rule.rule.startswith("/staff/register/"):
                url = app.url_map.bind("localhost").build(rule.endpoint, {"number": people["inside"]})
                served = client.get(url).status_code
                assert served != 404, (role, url)


def test_search_never_finds_a_registration_of_another_province(app) -> None:  # type: ignore[no-untyped-def]
    people = _people(app)
    make_user(app, "outreach@kandal.example.org", "outreach", province=INSIDE_PROVINCE)
    client = app.test_client()
    assert sign_in(client, "outreach@kandal.example.org").status_code == 303
    for typed in (people["outside"], "Outside Person", "012 000 001"):
        assert found(client, q=typed) == [], typed
    assert found(client, q="Person") == [people["inside"]]  # "Outside Person" is not among them
    assert set(found(client, q="Inside")) == {people["inside"], people["inside_too"]}
    assert set(found(client, status="active")) == {people["inside"], people["inside_too"]}


def test_every_actors_command_refuses_a_registration_of_another_province(app, runner, tmp_path) -> None:  # type: ignore[no-untyped-def]
    people = _people(app)
    assert set(actors.commands) == set(COMMANDS), "give each new `actors` command its arguments here"
    for role in ("outreach", "admin"):
        email = f"{role}@kandal.example.org"
        make_user(app, email, role, province=INSIDE_PROVINCE)
        for name, extra in COMMANDS.items():
            numbers = [people["inside"], people["outside"]] if name == "merge" else [people["outside"]]
            args = ["actors", name, *numbers, *[a.format(tmp=tmp_path) for a in extra], "--by", email]
            result = runner.invoke(args=args)
            if name == "find":
                assert result.exit_code == 0, result.output
                assert people["outside"] not in result.output and "Outside Person" not in result.output
                continue
            assert result.exit_code == 1, (name, result.output)
            assert "no registration" in result.output, (name, result.output)
            assert "Outside Person" not in result.output
            # Not vacuous: the same command on a registration of the province goes through.
            inside = [people["inside"], people["inside_too"]] if name == "merge" else [people["inside"]]
            if name in ("show", "export"):
                ok = runner.invoke(args=["actors", name, *inside, *[a.format(tmp=tmp_path) for a in extra], "--by", email])
                assert ok.exit_code == 0, (name, ok.output)
    assert not (tmp_path / "record.json").exists() or "Outside Person" not in (tmp_path / "record.json").read_text()
