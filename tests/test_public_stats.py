"""The public statistics and API: whole months only, one protected table that adds up, the
ministry's headline exact; the API answers as its OpenAPI document says; signed-in ministry
staff get exact counts and day windows. (The attack and the bounds checker:
tests/test_disclosure_attack.py.)"""
from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from registry import clock
from registry.stats.disclosure import MAX_DIFFERENCE, SMALL_AREA_THRESHOLD, THRESHOLD, headline_exact
from registry.stats.public import last_month_end
from registry.stats.release import month_end
from tests.helpers import make_user, sign_in
from tests.import_files import good, write_csv
from tests.test_dashboard import december_2024_file
from tests.test_stats import known_rows


def schema_validator(client: Any, name: str) -> jsonschema.Draft202012Validator:
    document = client.get("/api/v1/openapi.json").get_json()
    return jsonschema.Draft202012Validator({"$ref": f"#/components/schemas/{name}", "components": document["components"]})


@pytest.fixture
def loaded(app, runner, tmp_path: Path):  # type: ignore[no-untyped-def]
    # The known dataset (20 Nov - 14 Dec 2024) plus a tiny commune (3 people) and a province with 7.
    rows = known_rows() + [good(3000 + i, province="08", district="0801", commune="080101") for i in range(3)]
    rows += [good(4000 + i, province="17", district="1701", commune="170101", category="employee") for i in range(7)]
    assert runner.invoke(args=["import-actors", str(write_csv(tmp_path / "k.csv", rows))]).exit_code == 0
    assert runner.invoke(args=["load-indicators"]).exit_code == 0
    return app


def cells_of(payload: dict[str, Any]) -> list[dict[str, Any]]:
    return [payload["total"], *(c for cells in payload["breakdowns"].values() for c in cells)]


def by_code(payload: dict[str, Any], name: str) -> dict[str, Any]:
    return {c["code"]: c["count"] for c in payload["breakdowns"][name]}


PUBLIC_QUERIES = ["", "?province=12", "?province=08", "?province=17&category=employee", "?province=12&gender=female",
                  "?district=1201", "?commune=080101", "?as_of=2024-11-30", "?as_of=2024-12-31", "?as_of=2099-12-31",
                  "?province=12&category=employee&gender=male&as_of=2024-12-31"]


def test_public_api_answers_as_documented_and_shows_no_small_count(loaded) -> None:  # type: ignore[no-untyped-def]
    client = loaded.test_client()
    validator = schema_validator(client, "Stats")
    for query in PUBLIC_QUERIES:
        response = client.get("/api/v1/stats" + query)
        assert response.status_code == 200, query
        payload = response.get_json()
        validator.validate(payload)
        assert payload["exact"] is False and payload["since"] is None and "by_day" not in payload["breakdowns"]
        protection = payload["protection"]
        assert protection["max_difference"] == MAX_DIFFERENCE
        for cell in cells_of(payload):
            assert (cell["count"] is None) == cell["suppressed"]
            assert cell["suppressed"] or cell["exact"] or cell["count"] >= protection["suppressed_below"] \
                or cell in payload["breakdowns"].get("by_area", []), (query, cell)
        for cell in payload["breakdowns"].get("by_area", []):
            assert cell["suppressed"] or cell["count"] >= protection["by_area_suppressed_below"]
        if payload["total"]["suppressed"]:  # a hidden total hides every breakdown whole: no zero beside it
            assert all(c["suppressed"] for cells in payload["breakdowns"].values() for c in cells), query


def test_anonymous_answers_are_as_of_a_month_end_that_is_over(loaded) -> None:  # type: ignore[no-untyped-def]
    client = loaded.test_client()
    last = last_month_end(clock.today())
    assert last < clock.today() and (last + timedelta(days=1)).day == 1 and last.month != clock.today().month
    for query in ("", f"?as_of={month_end(clock.today())}", "?as_of=2099-12-31"):  # none, this month, the future
        assert client.get("/api/v1/stats" + query).get_json()["as_of"] == last.isoformat()
    for query, field, message in [
        ("?as_of=2024-12-15", "as_of", "Anonymous statistics are published as of a month's last day; use 2024-12-31."),
        ("?as_of=2024-02-28", "as_of", "Anonymous statistics are published as of a month's last day; use 2024-02-29."),
        ("?as_of=2099-06-01", "as_of", f"Anonymous statistics are published as of a month's last day; use {last}."),
        ("?since=2024-12-01", "since", None), ("?since=2024-12-01&as_of=2024-12-31", "since", None),
    ]:
        response = client.get("/api/v1/stats" + query + "&lang=en")
        assert response.status_code == 400, query
        schema_validator(client, "Error").validate(response.get_json())
        assert response.get_json()["error"]["field"] == field
        assert message is None or response.get_json()["error"]["message"] == message
    december = client.get("/api/v1/stats?as_of=2024-12-31").get_json()
    assert list(by_code(december, "by_month")) == [f"2024-{m:02d}" for m in range(1, 13)]  # the year's months, all listed


def test_the_ministry_headline_is_exact_on_the_public_api_and_page(app, runner, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """1,185 = 168 + 159 + 858 registered 16-31 Dec 2024: as of 31 Dec 2024 the public sees the
    ministry's figures exactly (each, and its change from 30 Nov (0), is at least 5)."""
    assert runner.invoke(args=["import-actors", str(december_2024_file(tmp_path))]).exit_code == 0
    client = app.test_client()
    payload = client.get("/api/v1/stats?as_of=2024-12-31").get_json()
    assert payload["total"] == {"count": 1185, "suppressed": False, "exact": True}
    assert by_code(payload, "by_category") == {"employee": 168, "micro_enterprise": 159, "self_employed": 858}
    assert all(c["exact"] for c in payload["breakdowns"]["by_category"])
    assert client.get("/api/v1/stats?as_of=2024-12-31&category=micro_enterprise").get_json()["total"]["count"] == 159
    html = client.get("/stats?year=2024&lang=en").get_data(as_text=True)
    assert '<strong id="total">1,185</strong>' in html
    table = html.split('id="by_category"')[1].split("</table>")[0]
    assert re.findall(r'<td class="num">([^<]*)</td>', table) == ["168", "159", "858"]


def test_the_headline_follows_the_method_where_its_change_is_small(app, runner, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    categories = ("employee", "micro_enterprise", "self_employed")
    rows = [good(i, category=categories[i % 3], registered_on="2024-11-10", business_name="Shop" if i % 3 == 1 else "",
                 workers="1" if i % 3 == 1 else "") for i in range(60)]
    rows += [good(100 + i, category="employee", registered_on="2024-12-05") for i in range(9)]
    rows += [good(200 + i, category="self_employed", registered_on="2024-12-06") for i in range(3)]
    assert runner.invoke(args=["import-actors", str(write_csv(tmp_path / "r.csv", rows))]).exit_code == 0
    client = app.test_client()
    november = client.get("/api/v1/stats?as_of=2024-11-30").get_json()
    assert november["total"] == {"count": 60, "suppressed": False, "exact": True}
    december = client.get("/api/v1/stats?as_of=2024-12-31").get_json()
    exact = {c["code"]: c["exact"] for c in december["breakdowns"]["by_category"]}
    assert exact == {"employee": True, "micro_enterprise": False, "self_employed": False}  # +9, +0, +3
    shown = by_code(december, "by_category")
    assert shown["employee"] == 29
    assert 20 - MAX_DIFFERENCE <= shown["micro_enterprise"] <= 20 and 23 - MAX_DIFFERENCE <= shown["self_employed"] <= 23
    assert december["total"]["exact"] is False  # else the total less the exact ones would give the others exactly
    # The rule is judged on published figures: a figure, and its change from the last one published, of 5 or more.
    assert [headline_exact(n, before) for n, before in [(0, 0), (4, 0), (5, 0), (29, 20), (24, 20), (25, 20)]] == \
        [False, False, True, True, False, True]


def test_public_figures_add_up_and_keep_their_promise(loaded) -> None:  # type: ignore[no-untyped-def]
    make_user(loaded, "minister@example.org", "ministry")
    staff = loaded.test_client()
    sign_in(staff, "minister@example.org")
    client = loaded.test_client()
    for query in ["?as_of=2024-12-31", "?as_of=2024-12-31&province=12", "?as_of=2024-11-30&province=12&gender=male"]:
        public, exact = client.get("/api/v1/stats" + query).get_json(), staff.get("/api/v1/stats" + query).get_json()
        parts = 3 * (1 if "gender" in query else 2)
        total = public["total"]["count"]
        for name in ("by_category", "by_gender", "by_sector", "by_channel", "by_age_band"):
            shown = by_code(public, name)
            if None not in shown.values():
                assert sum(shown.values()) == total, (query, name)  # one table: every breakdown adds up
        for name, cells in public["breakdowns"].items():
            truth = by_code(exact, name)
            promise = MAX_DIFFERENCE * parts * (2 if name == "by_month" else 1)
            if name in ("by_sector", "by_channel", "by_age_band") and "province" not in query:
                promise *= 25  # the country's are the provinces' added up
            for cell in cells:
                if cell["count"] is not None:
                    assert abs(cell["count"] - truth.get(cell["code"], 0)) <= promise, (query, name, cell)
        assert abs(total - exact["total"]["count"]) <= MAX_DIFFERENCE * parts


def test_small_areas_take_the_higher_threshold(loaded) -> None:  # type: ignore[no-untyped-def]
    client = loaded.test_client()
    province = client.get("/api/v1/stats?province=17&as_of=2024-12-31").get_json()  # 7 employees in one commune
    assert province["protection"]["suppressed_below"] == THRESHOLD
    assert province["protection"]["by_area_suppressed_below"] == SMALL_AREA_THRESHOLD
    assert province["total"]["suppressed"] is False and 5 <= province["total"]["count"] <= 9
    assert by_code(province, "by_area")["1701"] is None  # the same people as a district: below 10
    district = client.get("/api/v1/stats?district=1701&as_of=2024-12-31").get_json()
    assert district["protection"]["suppressed_below"] == SMALL_AREA_THRESHOLD and district["total"]["suppressed"]
    tiny = client.get("/api/v1/stats?district=0801&as_of=2024-12-31").get_json()  # 3 people: at most 5 published
    assert tiny["total"]["suppressed"] and all(c["suppressed"] for cells in tiny["breakdowns"].values() for c in cells)


def test_ministry_staff_get_exact_counts_and_a_province_account_its_province(loaded) -> None:  # type: ignore[no-untyped-def]
    make_user(loaded, "minister@example.org", "ministry")
    make_user(loaded, "kampot@example.org", "ministry", province="07")
    client = loaded.test_client()
    sign_in(client, "minister@example.org")
    payload = client.get("/api/v1/stats?province=08").get_json()
    schema_validator(client, "Stats").validate(payload)
    assert payload["exact"] is True and payload["total"]["count"] == 3 and payload["protection"] is None
    window = client.get("/api/v1/stats?province=08&since=2024-12-20&as_of=2024-12-20").get_json()  # one day
    schema_validator(client, "Stats").validate(window)
    assert window["total"]["count"] == 3 and window["breakdowns"]["by_day"] == [
        {"code": "2024-12-20", "label": "2024-12-20", "count": 3, "suppressed": False, "exact": True}]
    assert client.get("/api/v1/stats?as_of=2024-12-17").get_json()["as_of"] == "2024-12-17"  # any day
    limited = loaded.test_client()
    sign_in(limited, "kampot@example.org")
    assert limited.get("/api/v1/stats").get_json()["area"]["code"] == "07"
    refused = limited.get("/api/v1/stats?province=12")
    assert refused.status_code == 403
    schema_validator(limited, "Error").validate(refused.get_json())


@pytest.mark.parametrize("query, field", [
    ("?as_of=31/12/2024", "as_of"), ("?province=99", "area"), ("?province=12&district=0102", "district"),
    ("?category=worker", "category"), ("?gender=x", "gender"), ("?since=2024-12-31&as_of=2024-12-01", "since"),
    ("?district=12", "district"),
])
def test_bad_parameters_get_400_naming_the_field(loaded, query: str, field: str) -> None:  # type: ignore[no-untyped-def]
    client = loaded.test_client()
    response = client.get("/api/v1/stats" + query + "&lang=en")
    assert response.status_code == 400
    schema_validator(client, "Error").validate(response.get_json())
    assert response.get_json()["error"]["field"] == field


def test_indicators_api_lists_the_seed_figures(loaded) -> None:  # type: ignore[no-untyped-def]
    client = loaded.test_client()
    payload = client.get("/api/v1/indicators?year=2024&lang=en").get_json()
    schema_validator(client, "Indicators").validate(payload)
    values = {i["code"]: i["value"] for i in payload}
    assert values["IE_ACTORS_TOTAL"] == 1185 and values["IND_JOBS"] == 1160181 and values["WAT_CONNECTIONS"] == 1440913
    assert client.get("/api/v1/indicators?year=20x4").status_code == 400


def test_dhis2_data_value_set_for_staff_only(loaded) -> None:  # type: ignore[no-untyped-def]
    client = loaded.test_client()
    assert client.get("/api/v1/dhis2/dataValueSet?period=2024").status_code == 401
    make_user(loaded, "out@example.org", "outreach")
    sign_in(client, "out@example.org")
    assert client.get("/api/v1/dhis2/dataValueSet?period=2024").status_code == 403
    make_user(loaded, "m@example.org", "ministry")
    staff = loaded.test_client()
    sign_in(staff, "m@example.org")
    payload = staff.get("/api/v1/dhis2/dataValueSet?period=202412").get_json()
    schema_validator(staff, "DataValueSet").validate(payload)
    province_17 = [v for v in payload["dataValues"] if v["orgUnit"] == "17"]
    # New registrations of the period and the people active at its end: separate elements
    # (nobody has left, so no IE_EXIT_*; tests/test_lifecycle.py covers exits).
    assert province_17 == [{"dataElement": "IE_REG_EMPLOYEE", "categoryOptionCombo": "IE_SEX_FEMALE",
                            "orgUnit": "17", "period": "202412", "value": "7"},
                           {"dataElement": "IE_ACTIVE_EMPLOYEE", "categoryOptionCombo": "IE_SEX_FEMALE",
                            "orgUnit": "17", "period": "202412", "value": "7"}]
    assert {v["orgUnit"] for v in payload["dataValues"]} >= {"12", "1201", "01", "0102"}
    assert staff.get("/api/v1/dhis2/dataValueSet?period=2024-12").status_code == 400


def test_public_page_shows_no_small_count(loaded) -> None:  # type: ignore[no-untyped-def]
    client = loaded.test_client()
    for query, below in (("?year=2024", THRESHOLD), ("?year=2024&area=08", THRESHOLD), ("?year=2024&area=0801", SMALL_AREA_THRESHOLD)):
        html = client.get("/stats" + query + "&lang=en").get_data(as_text=True)
        assert "active on 2024-12-31" in html
        cells = re.findall(r'<td class="num">([^<]*)</td>', html)
        assert cells
        for text in cells:
            assert text in ("&lt;5", "&lt;10") or int(text.replace(",", "")) == 0 or int(text.replace(",", "")) >= THRESHOLD
        if below == SMALL_AREA_THRESHOLD:
            assert "&lt;10" in html and "&lt;5" not in html.split('<p class="total">')[1]
