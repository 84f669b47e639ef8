"""What the printable certificate shows, in every language side by side (Khmer first)."""
from __future__ import annotations

from typing import Any

from registry import areas, vocab
from registry.actors.fields import LABELS
from registry.actors.models import Actor
from registry.actors.numbers import format_number
from registry.i18n import LOCALES, N_, in_every_language, translate
from registry.registration.verify_link import certificate_link, qr_svg

Texts = dict[str, str]  # locale -> text, in the order of LOCALES


def _place(code: str) -> Texts:
    record = areas.area_by_code(code)
    return {locale: areas.area_name(record, locale) if record else code for locale in LOCALES}


def _same(text: str) -> Texts:
    """Data that reads the same in every language (a name, a date, a number)."""
    return dict.fromkeys(LOCALES, text)


def masked_phone(phone: str) -> str:
    """+85512345678 -> 0•• ••• 678: enough for the holder to recognise, no more."""
    return "0•• ••• " + phone[-3:]


def certificate_context(actor: Actor, link: str | None = None) -> dict[str, Any]:
    """What the certificate page and PDF show. The verify link is made here unless given (and
    committed the first time: registration.verify_link)."""
    link = link or certificate_link(actor)
    values: list[tuple[str, Texts]] = [
        ("full_name", _same(actor.full_name)),
        ("category", in_every_language(vocab.CATEGORIES.label_of(actor.category))),
        ("gender", in_every_language(vocab.GENDERS.label_of(actor.gender))),
        ("date_of_birth", _same(actor.date_of_birth.strftime("%d/%m/%Y"))),
        ("phone", _same(masked_phone(actor.phone))),
        ("sector", in_every_language(vocab.SECTORS.label_of(actor.sector))),
    ]
    if actor.business_name:
        values += [("business_name", _same(actor.business_name)), ("workers", _same(str(actor.workers)))]
    values += [
        ("commune", _place(actor.commune_code)),
        ("district", _place(actor.district_code)),
        ("province", _place(actor.province_code)),
        ("registered_on", _same(actor.registered_on.strftime("%d/%m/%Y"))),
    ]
    return {
        "actor": actor,
        "number": format_number(actor.registration_number),
        "rows": [(in_every_language(LABELS[name]), value) for name, value in values],
        "title": in_every_language(N_("Certificate of registration")),
        "subtitle": in_every_language(N_("Informal economy actor")),
        "ministry": in_every_language(N_("Ministry of Industry, Science, Technology and Innovation")),
        "kingdom": in_every_language(N_("Kingdom of Cambodia")),
        "registry": in_every_language(N_("Informal economy registry")),
        "motto": in_every_language(N_("Nation Religion King")),
        "number_label": in_every_language(N_("Registration number")),
        "note": in_every_language(N_("Keep this number. Use it with your phone number and date of birth to check your registration.")),
        "verify_url": link,
        "verify_note": in_every_language(N_("Anyone can check this certificate: scan the code or open the link.")),
        "verify_qr": qr_svg(link, translate(N_("QR code: the link to check this certificate"), LOCALES[0])),
        "document_locale": LOCALES[0],
    }
