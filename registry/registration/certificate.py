"""What the printable certificate shows, in Khmer and English side by side."""
from __future__ import annotations

from typing import Any

from registry.actors import areas, vocab
from registry.actors.models import Actor
from registry.actors.numbers import format_number
from registry.i18n import N_, translate


def both(message: str) -> dict[str, str]:
    return {"km": translate(message, "km"), "en": translate(message, "en")}


def _place(code: str) -> dict[str, str]:
    record = areas.area_by_code(code)
    return {"km": record.name_kh, "en": record.name_en} if record else {"km": code, "en": code}


def masked_phone(phone: str) -> str:
    """+85512345678 -> 0•• ••• 678: enough for the holder to recognise, no more."""
    return "0•• ••• " + phone[-3:]


def certificate_context(actor: Actor) -> dict[str, Any]:
    rows: list[tuple[dict[str, str], dict[str, str]]] = [
        (both(vocab.FIELD_LABELS["full_name"]), {"km": actor.full_name, "en": actor.full_name}),
        (both(vocab.FIELD_LABELS["category"]), both(vocab.CATEGORIES[actor.category])),
        (both(vocab.FIELD_LABELS["gender"]), both(vocab.GENDERS[actor.gender])),
        (both(vocab.FIELD_LABELS["date_of_birth"]), _same(actor.date_of_birth.strftime("%d/%m/%Y"))),
        (both(vocab.FIELD_LABELS["phone"]), _same(masked_phone(actor.phone))),
        (both(vocab.FIELD_LABELS["sector"]), both(vocab.SECTORS[actor.sector])),
    ]
    if actor.business_name:
        rows.append((both(vocab.FIELD_LABELS["business_name"]), _same(actor.business_name)))
        rows.append((both(vocab.FIELD_LABELS["workers"]), _same(str(actor.workers))))
    rows += [
        (both(vocab.FIELD_LABELS["commune"]), _place(actor.commune_code)),
        (both(vocab.FIELD_LABELS["district"]), _place(actor.district_code)),
        (both(vocab.FIELD_LABELS["province"]), _place(actor.province_code)),
        (both(vocab.FIELD_LABELS["registered_on"]), _same(actor.registered_on.strftime("%d/%m/%Y"))),
    ]
    return {
        "actor": actor,
        "number": format_number(actor.registration_number),
        "rows": rows,
        "title": both(N_("Certificate of registration")),
        "subtitle": both(N_("Informal economy actor")),
        "ministry": both(N_("Ministry of Industry, Science, Technology and Innovation")),
        "kingdom": both(N_("Kingdom of Cambodia")),
        "motto": both(N_("Nation Religion King")),
        "number_label": both(N_("Registration number")),
        "note": both(N_("Keep this number. Use it with your phone number to check your registration.")),
    }


def _same(text: str) -> dict[str, str]:
    return {"km": text, "en": text}
