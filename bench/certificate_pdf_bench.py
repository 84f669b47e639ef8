"""Time and size of one certificate PDF, against the raw limit measured in the same run.

    .venv/bin/python bench/certificate_pdf_bench.py [N]      (default 30 of each)

Two people: a usual one (a Khmer name, self-employed) and the longest values the form allows
(a micro-enterprise, a 100-letter name and a 120-character business name). The raw limit is
fpdf2 alone with the same four fonts and shaping: every text of the usual certificate drawn
once where it goes (no fitting, no wrapping), then written. Prints the median and slowest ms
per PDF, the size in KB, the fonts' share of the time, and peak memory.
"""
from __future__ import annotations

import os
import resource
import statistics
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SECRET_KEY", "bench-only")

from fpdf import FPDF  # noqa: E402

import registry.models  # noqa: E402,F401  (every mapper configured)
from registry.actors.models import Actor  # noqa: E402
from registry.documents.pdf import FONT_FILES, FONTS_DIR, Document  # noqa: E402
from registry.registration.certificate import certificate_context  # noqa: E402
from registry.registration.certificate_pdf import build_certificate_pdf  # noqa: E402


def person(longest: bool) -> Actor:
    return Actor(
        registration_number="0000001234", category="micro_enterprise" if longest else "self_employed",
        full_name="W" * 100 if longest else "សុខ ដារ៉ា", gender="female", date_of_birth=date(1990, 1, 25),
        phone="+85512345678", province_code="12", district_code="1201", commune_code="120101", sector="trade",
        business_name="ហាងបាយស្ត្រី" * 10 if longest else None, workers=10 if longest else None,
        registered_on=date(2026, 11, 25),
    )


# A verify link as long as a real one (the QR code's size depends on it): the public address
# and a 32-character token. The bench has no database, so the link is given, not made.
LINK = "https://registry.misti.gov.kh/verify/ARFjayR4hGwYtY-gNB5kM3gVTTD_G78Z"


def raw_limit(actor: Actor) -> bytes:
    """fpdf2 alone: the fonts, each text of the certificate drawn once, the file written."""
    context = certificate_context(actor, LINK)
    texts = [text for key in ("kingdom", "motto", "ministry", "title", "subtitle", "number_label", "note")
             for text in context[key].values()]
    texts += [text for label, value in context["rows"] for part in (label, value) for text in part.values()]
    texts.append(context["number"])
    pdf = FPDF(format="A4")
    for (family, style), name in FONT_FILES.items():
        pdf.add_font(family, style, str(FONTS_DIR / name))
    pdf.set_text_shaping(True)
    pdf.set_fallback_fonts(["khmer", "latin"], exact_match=False)
    pdf.set_auto_page_break(False)
    pdf.add_page()
    for number, text in enumerate(texts):
        pdf.set_font("khmer", "B" if number % 3 == 0 else "", 10)
        pdf.set_xy(16, 16 + number * 4)
        pdf.cell(178, 4, text)
    return bytes(pdf.output())  # (writing closes the font files)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    usual, longest = person(False), person(True)
    builds = {
        "certificate, usual values": lambda: build_certificate_pdf(usual, LINK),
        "certificate, longest values": lambda: build_certificate_pdf(longest, LINK),
        "raw limit: fpdf2 alone (usual)": lambda: raw_limit(usual),
        "of which: loading the four fonts": lambda: Document(title="t", language="km").close(),
    }
    times: dict[str, list[float]] = {label: [] for label in builds}
    sizes: dict[str, int] = {}
    for label, build in builds.items():  # warm: imports, the gazetteer, the catalogs
        build()
    for _ in range(n):  # interleaved, so that each sees the same load on a shared machine
        for label, build in builds.items():
            start = time.perf_counter()
            data = build()
            times[label].append((time.perf_counter() - start) * 1000)
            if data:
                sizes[label] = len(data)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{'':<34}{'median ms':>10}{'slowest':>9}{'KB':>7}")
    for label, measured in times.items():
        size = f"{sizes[label] / 1024:>7.1f}" if label in sizes else ""
        print(f"{label:<34}{statistics.median(measured):>10.0f}{max(measured):>9.0f}{size}")
    ratio = statistics.median(times["raw limit: fpdf2 alone (usual)"]) / statistics.median(times["certificate, usual values"])
    print(f"ratio to the raw limit (usual): {ratio:.2f}")
    print(f"peak memory: {peak:.0f} MB (the app's imports and gazetteer included)")


if __name__ == "__main__":
    main()
