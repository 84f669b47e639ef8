"""Coded values of a registration and their labels (English msgids; Khmer in the catalog)."""
from __future__ import annotations

from registry.i18n import N_

CATEGORIES: dict[str, str] = {
    "employee": N_("Employee of an informal business"),
    "micro_enterprise": N_("Micro-enterprise owner"),
    "self_employed": N_("Self-employed"),
}
# Short labels also accepted on input ("Employee", "Micro-enterprise", ...).
CATEGORY_SHORT: dict[str, str] = {
    "employee": N_("Employee"),
    "micro_enterprise": N_("Micro-enterprise"),
    "self_employed": N_("Self-employed"),
}

GENDERS: dict[str, str] = {
    "female": N_("Female"),
    "male": N_("Male"),
}

SECTORS: dict[str, str] = {
    "agriculture": N_("Agriculture"),
    "manufacturing": N_("Manufacturing"),
    "construction": N_("Construction"),
    "trade": N_("Trade"),
    "transport": N_("Transport"),
    "food_service": N_("Food service"),
    "repair": N_("Repair"),
    "personal_services": N_("Personal services"),
    "domestic_work": N_("Domestic work"),
    "other": N_("Other"),
}

CHANNELS: dict[str, str] = {
    "self": N_("Self-registration"),
    "outreach": N_("Outreach"),
}

FIELD_LABELS: dict[str, str] = {
    "category": N_("Category"),
    "full_name": N_("Full name"),
    "gender": N_("Gender"),
    "date_of_birth": N_("Date of birth"),
    "national_id": N_("National ID number"),
    "phone": N_("Phone number"),
    "province": N_("Province"),
    "district": N_("District"),
    "commune": N_("Commune"),
    "sector": N_("Sector"),
    "business_name": N_("Business name"),
    "workers": N_("Number of workers"),
    "registered_on": N_("Date registered"),
}

MIN_AGE = 15
MAX_AGE = 120
MAX_WORKERS = 10

# Age bands of the statistics (age on the date registered), as the ministry reports them.
AGE_BANDS: dict[str, str] = {
    "15-24": N_("15–24 years"),
    "25-34": N_("25–34 years"),
    "35-44": N_("35–44 years"),
    "45-54": N_("45–54 years"),
    "55-64": N_("55–64 years"),
    "65+": N_("65 years and over"),
}


def age_band(age: int) -> str:
    """The band of an age (registrations are 15 or older)."""
    if age >= 65:
        return "65+"
    low = max(15, age - (age - 5) % 10)
    return f"{low}-{low + 9}"
