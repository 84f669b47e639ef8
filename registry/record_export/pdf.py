"""The personal record as a PDF, in one language, laid out by the one document builder (Khmer
shaped by HarfBuzz); as many pages as the history needs."""
from __future__ import annotations

from typing import Any

from registry.documents.pdf import Document, Text, flowing
from registry.i18n import N_, translate


def build_record_pdf(content: dict[str, Any]) -> bytes:
    locale = content["language"]

    def tr(message: str, **params: object) -> str:
        return translate(message, locale, **params)

    def rows(pairs: list[tuple[str, str | None]]) -> list[tuple[list[Text], list[Text]]]:
        return [([Text(label, 9.5, bold=True)], [Text(value if value not in (None, "") else "—", 10.0)])
                for label, value in pairs]

    status, arrival = content["status"], content["arrival"]
    status_rows = [(tr(N_("Status")), status["text"])]
    if status["reason_text"]:
        status_rows.append((tr(N_("Reason")), status["reason_text"] + (f": {status['note']}" if status["note"] else "")))
    if status["effective"]:
        status_rows.append((tr(N_("Effective from")), status["effective"]))
    if status["merged_into"]:
        status_rows.append((tr(N_("Merged into registration")), status["merged_into"]))
    if status["erased_at"]:
        status_rows.append((tr(N_("Personal details erased on")), status["erased_at"]))
    arrival_rows = [(tr(N_("Channel")), arrival["channel_text"]), (tr(N_("Date registered")), arrival["registered_on"]),
                    (tr(N_("Stored on")), arrival["stored_at"]), (tr(N_("Consent given on")), arrival["consented_at"])]
    if arrival["import_batch"] is not None:
        arrival_rows.append((tr(N_("Imported from file")),
                             tr(N_("batch %(batch)s, row %(row)s"), batch=arrival["import_batch"], row=arrival["import_row"])))
    history = [(f"{c['at']} · {c['by']}",
                " ".join(part for part in (
                    c["what"] + ":",
                    f"{c['field_label']}: {c['old'] or '—'} → {c['new'] or '—'}." if c["field"] else "",
                    tr(N_("Reason: %(reason)s."), reason=c["reason"]),
                    tr(N_("From %(date)s."), date=c["effective"]) if c["effective"] else "") if part))
               for c in content["history"]]
    access = [(a["at"], f"{a['what']} · {a['by']}") for a in content["staff_access"]]

    def heading(page: Document, text: str) -> None:
        page.space(5)
        page.stack([Text(text, 13.0, bold=True)], align="L")
        page.space(1.5)

    def draw(page: Document) -> None:
        page.stack([Text(tr(N_("Informal economy registry")), 10.0, muted=True)], align="L")
        page.stack([Text(tr(N_("What the registry holds about registration %(number)s"),
                              number=content["registration_number"]), 16.0, bold=True)], align="L")
        page.stack([Text(tr(N_("Exported on %(moment)s."), moment=content["exported_at"]), 9.0, muted=True)], align="L")
        heading(page, tr(N_("The record")))
        page.rows(rows([(f["label"], f["text"]) for f in content["fields"]]))
        heading(page, tr(N_("Status")))
        page.rows(rows(status_rows))
        heading(page, tr(N_("How the record arrived")))
        page.rows(rows(arrival_rows))
        heading(page, tr(N_("History of changes")))
        if history:
            page.rows(rows(history), label_share=0.34)
        else:
            page.stack([Text(tr(N_("No changes.")), 10.0)], align="L")
        heading(page, tr(N_("Staff who viewed, changed or exported the record")))
        if access:
            page.rows(rows(access), label_share=0.34)
        else:
            page.stack([Text(tr(N_("None recorded.")), 10.0)], align="L")

    title = tr(N_("Personal record %(number)s"), number=content["registration_number"])
    return flowing(draw, title=title, language=locale)
