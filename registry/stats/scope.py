"""Who sees what of the statistics: least privilege in one place."""
from __future__ import annotations

from dataclasses import dataclass

from flask_login import current_user

EXACT_ROLES = ("ministry", "admin")


@dataclass(frozen=True)
class Scope:
    exact: bool  # exact counts (signed-in ministry or admin staff); otherwise public protection
    province: str | None  # a province-limited account sees only this province
    signed_in: bool = False

    def allows(self, area: str) -> bool:
        return self.province is None or area.startswith(self.province)

    def default_area(self) -> str:
        return self.province or ""


def current_scope() -> Scope:
    if current_user.is_authenticated and current_user.role in EXACT_ROLES:
        return Scope(True, current_user.province_code, True)
    return Scope(False, None, bool(current_user.is_authenticated))
