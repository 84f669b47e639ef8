"""/dashboard (ministry and admin staff), its exports and indicator corrections; /stats (public)."""
from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from registry import areas, clock
from registry.dashboard import exports
from registry.dashboard.forms import IndicatorForm
from registry.dashboard.services import dashboard_years, indicator_rows, indicator_year, statistics_json, year_end
from registry.database import reads_only
from registry.events.views import audit
from registry.extensions import db, limiter
from registry.i18n import current_locale
from registry.indicators import services as indicators
from registry.indicators.models import Indicator
from registry.stats.disclosure import MAX_DIFFERENCE, SMALL_AREA_THRESHOLD, THRESHOLD
from registry.stats.present import BREAKDOWN_TITLES, area_label, as_json
from registry.stats.public import last_month_end
from registry.stats.queries import Query
from registry.actors.revisions import REASONS, last_revised, revisions
from registry.stats.scope import PUBLIC, answer, current_scope
from registry.web.access import may_correct_indicators, roles_required

bp = Blueprint("dashboard", __name__)
STAFF = ("ministry", "admin")


@bp.app_template_filter("by_count")
def by_count(cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Largest first; suppressed cells (count unknown) last."""
    return sorted(cells, key=lambda c: (c["count"] is None, -(c["count"] or 0)))



def _years() -> tuple[int, list[int], list[int]]:
    """(the year asked for, else this year; the years offered; the years with indicators,
    newest first): the indicators' years read once a request."""
    published = indicators.years(db.session)
    offered = dashboard_years(published)
    text = request.args.get("year", "")
    year = int(text) if text.isdigit() and int(text) in offered else clock.today().year
    return year, offered, published  # default: now (the indicators of the latest published year go beside it)


def _area(default: str = "") -> str:
    """The requested area (a real code), else `default`; outside the account's province: 403."""
    code = (request.args.get("area") or "").strip()
    if code and areas.area_by_code(code) is None:
        abort(404)
    code = code or default
    if not current_scope().allows(code):
        abort(403)
    return code


def _breadcrumbs(area: str, locale: str) -> list[tuple[str, str]]:
    return [(area[:size], area_label(area[:size], locale)) for size in range(0, len(area) + 1, 2)]


def _indicators_beside(year: int, published: list[int], area: str, locale: str,
                       stats: dict[str, Any]) -> tuple[int, list[Any]]:
    """The indicators shown for `year` (the latest published year when the ministry's lag),
    with the registry's counts as of the end of that year."""
    shown = indicator_year(published, year) or year
    if shown != year:
        stats = statistics_json(db.session, shown, area, locale)
    return shown, indicator_rows(db.session, shown, stats)


@bp.get("/dashboard")
@roles_required(*STAFF)
def index() -> str:
    locale, (year, years, published) = current_locale(), _years()
    scope = current_scope()
    area = _area(scope.default_area())
    stats = statistics_json(db.session, year, area, locale)
    shown_year, rows = _indicators_beside(year, published, area, locale, stats)
    return render_template(
        "dashboard/index.html", year=year, years=years, area=area,
        crumbs=_breadcrumbs(area, locale)[len(scope.default_area()) // 2:] if scope.province else _breadcrumbs(area, locale),
        stats=stats, rows=rows, indicator_year=shown_year, as_of=year_end(year),
        revised=revisions(db.session, date(year, 1, 1), year_end(year), area), reasons=REASONS,
        titles=BREAKDOWN_TITLES, tables=exports.TABLES, locale=locale, can_correct=may_correct_indicators(current_user),
        export_url=lambda name, kind: url_for("dashboard.export", name=name, kind=kind, year=year, area=area),
        drill_url=lambda code: url_for("dashboard.index", year=year, area=code),
    )


@bp.get("/dashboard/export/<name>.<kind>")
@roles_required(*STAFF)
def export(name: str, kind: str) -> Response:
    if name not in exports.TABLES or kind not in ("csv", "xlsx"):
        abort(404)
    locale, (year, _offered, published) = current_locale(), _years()
    area = _area(current_scope().default_area())
    stats = statistics_json(db.session, year, area, locale)
    if name != "indicators" and name not in stats["breakdowns"]:
        abort(404)  # e.g. by_day (periods only) or by_sector below province level
    shown_year, rows = _indicators_beside(year, published, area, locale, stats)
    header, body = exports.table(name, stats, rows, locale, shown_year if name == "indicators" else year)
    audit("export", subject=f"{name}.{kind}", detail={"year": year, "area": area})
    db.session.commit()
    filename = f"registry-{name}-{year}{'-' + area if area else ''}.{kind}"
    disposition = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if kind == "csv":
        return Response(exports.as_csv(header, body), mimetype="text/csv", headers=disposition)
    return Response(exports.as_xlsx(name, header, body),
                    mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", headers=disposition)


@bp.route("/dashboard/indicators/<int:indicator_id>", methods=["GET", "POST"])
@roles_required(*STAFF)
def edit_indicator(indicator_id: int) -> Any:
    if not may_correct_indicators(current_user):
        abort(403)
    indicator = db.session.get(Indicator, indicator_id) or abort(404)
    form = IndicatorForm()
    if form.validate_on_submit():
        old_value = indicator.value
        indicators.correct(db.session, indicator, form.value.parsed, by_id=current_user.id,  # type: ignore[attr-defined]
                           note=form.note.data.strip(), now=clock.now())
        audit("indicator_correction", subject=f"indicator {indicator.id}",
              detail={"code": indicator.code, "year": indicator.year, "old": old_value, "new": indicator.value})
        db.session.commit()
        return redirect(url_for("dashboard.index", year=indicator.year), code=303)
    status = 400 if form.errors else 200
    return render_template("dashboard/indicator.html", indicator=indicator, form=form, locale=current_locale(),
                           changes=indicators.history(db.session, indicator.id)), status


@bp.get("/stats")
@limiter.limit("120 per minute")
@reads_only
def public() -> str:
    """The public figures for everyone, signed in or not: as of the year's last month end that
    is over, protected as the anonymous API is (registry.stats.disclosure)."""
    locale, (year, years, _published) = current_locale(), _years()
    code = (request.args.get("area") or "").strip()
    area = code if code and len(code) <= 4 and areas.area_by_code(code) else ""
    as_of = min(year_end(year), last_month_end(clock.today()))
    stats = as_json(answer(PUBLIC, Query(area=area, as_of=as_of)), locale=locale)
    revised_on = last_revised(revisions(db.session, date(year, 1, 1), as_of, area))
    return render_template("dashboard/public.html", year=year, years=years, area=area,
                           crumbs=_breadcrumbs(area, locale), stats=stats, as_of=as_of, max_difference=MAX_DIFFERENCE,
                           threshold=THRESHOLD, small_area_threshold=SMALL_AREA_THRESHOLD, revised_on=revised_on,
                           titles=BREAKDOWN_TITLES, locale=locale, export_url=None,
                           drill_url=(lambda code: url_for("dashboard.public", year=year, area=code)) if len(area) < 4 else None)
