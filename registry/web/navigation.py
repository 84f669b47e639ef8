"""The staff navigation bar: which pages a member of staff may open, in one list.

Who may open a page is not repeated here: it is read from the page's own
`roles_required(...)`, so the bar offers exactly the pages the role is let into.
"""
from __future__ import annotations

from typing import Any, NamedTuple

from flask import current_app, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from registry.i18n import N_


class StaffPage(NamedTuple):
    endpoint: str
    label: str  # msgid
    description: str  # msgid, for the staff home


STAFF_PAGES = (
    StaffPage("staff.home", N_("Staff home"), N_("Where an administrator starts.")),
    StaffPage("records.index", N_("Registrations"), N_("Find a registration by name, number, national ID or phone, and open its record.")),
    StaffPage("change_requests.index", N_("Change requests"), N_("Workers' requests to change their details or withdraw consent: approve or reject them.")),
    StaffPage("assisted.register", N_("Register a person"), N_("Register people with them, one after another, and print their certificates.")),
    StaffPage("duplicates.index", N_("Possible duplicates"), N_("Pairs of registrations that may be one person: compare them side by side, merge, dismiss or defer.")),
    StaffPage("imports.index", N_("Imports"), N_("Upload registrations collected in the field and follow their imports.")),
    StaffPage("dashboard.index", N_("Dashboard"), N_("Registry counts and the ministry's indicators, with exports.")),
    StaffPage("tokens.index", N_("API tokens"), N_("Tokens for programs that read the API (DHIS2, scripts): make and revoke them.")),
    StaffPage("accounts.index", N_("Staff accounts"), N_("Reset passwords and authenticator apps, disable and enable accounts.")),
    StaffPage("events.index", N_("Event log"), N_("Every sign-in, refusal, export, download and change.")),
    StaffPage("accounts.account", N_("Your account"), N_("Change your password, make new recovery codes.")),
)


def roles_of(endpoint: str) -> frozenset[str]:
    """The roles a page lets in (from its `roles_required`); none when it has no such check."""
    view = current_app.view_functions[endpoint]
    return getattr(view, "allowed_roles", frozenset())


def pages_for(role: str) -> list[StaffPage]:
    return [page for page in STAFF_PAGES if role in roles_of(page.endpoint)]


def staff_navigation() -> list[dict[str, Any]]:
    """The bar's links for whoever is signed in (empty when nobody is), the current one marked."""
    if not current_user.is_authenticated:
        return []
    return [{"url": url_for(page.endpoint), "label": _(page.label), "description": _(page.description),
             "endpoint": page.endpoint, "current": request.endpoint == page.endpoint}
            for page in pages_for(current_user.role)]
