"""The certificate as a one-page A4 PDF: what `certificate_context` shows, in every language
(Khmer first), laid out by the document builder."""
from __future__ import annotations

from registry.actors.models import Actor
from registry.actors.numbers import format_number
from registry.documents.pdf import Document, Text, one_page
from registry.registration.certificate import Texts, certificate_context

NUMBER_BOX_WIDTH = 120.0  # mm


def _every(texts: Texts, size: float, *, bold: bool = False, second: float | None = None) -> list[Text]:
    """One paragraph per language: the first (Khmer) as given, the others muted and `second` points."""
    first, *others = texts.values()
    return [Text(first, size, bold)] + [Text(text, second or size, bold, muted=True) for text in others]


def _value(texts: Texts) -> list[Text]:
    """A value the same in every language (a name, a date) once; otherwise once per language."""
    if len(set(texts.values())) == 1:
        return [Text(next(iter(texts.values())), 11.0)]
    return _every(texts, 11.0, second=9.5)


def certificate_filename(actor: Actor) -> str:
    """certificate-0000-0012-34.pdf: the number the holder keeps, in the file's name (never a URL)."""
    return f"certificate-{format_number(actor.registration_number)}.pdf"


def build_certificate_pdf(actor: Actor, link: str | None = None) -> bytes:
    context = certificate_context(actor, link)
    rows = [(_every(label, 10.0, bold=True, second=8.5), _value(value)) for label, value in context["rows"]]
    registry_line = " · ".join([*context["registry"].values(), context["number"]])

    def draw(page: Document) -> None:
        page.footer([Text(registry_line, 8.0, muted=True)])
        page.stack(_every(context["kingdom"], 12.0, bold=True, second=10.0))
        page.stack(_every(context["motto"], 11.0, bold=True, second=9.5))
        page.space(4)
        page.stack(_every(context["ministry"], 11.0, second=9.5))
        page.space(6)
        page.stack(_every(context["title"], 22.0, bold=True, second=15.0))
        page.stack(_every(context["subtitle"], 11.0, second=9.5))
        page.space(5)
        page.box(_every(context["number_label"], 10.0, second=8.5) + [Text(context["number"], 26.0, bold=True)],
                 width=NUMBER_BOX_WIDTH)
        page.space(6)
        page.rows(rows)
        page.space(5)
        page.qr(context["verify_url"], [*_every(context["note"], 9.5, second=8.5), *_every(context["verify_note"], 9.5, second=8.5),
                                        Text(context["verify_url"], 8.5, muted=True)])

    return one_page(draw, title=" · ".join(context["title"].values()), language=context["document_locale"])
