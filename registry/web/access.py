"""Role checks for staff pages: least privilege, one decorator."""
from __future__ import annotations

from functools import wraps
from typing import Any, Callable, TypeVar

from flask import abort
from flask_login import current_user

from registry.extensions import login_manager

View = TypeVar("View", bound=Callable[..., Any])


def roles_required(*roles: str) -> Callable[[View], View]:
    """Signed-in staff with one of `roles` only: others get the sign-in page or 403."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        wrapper.allowed_roles = frozenset(roles)  # type: ignore[attr-defined]  # read by web.navigation
        return wrapper  # type: ignore[return-value]

    return decorator



def may_correct_indicators(user: Any) -> bool:
    """The ministry's indicators are national: only accounts without a province limit
    (and admins) correct them."""
    return bool(user.is_authenticated and (user.role == "admin" or (user.role == "ministry" and not user.province_code)))
