"""The certificate as a PDF download: one A4 page, each text where it belongs, Khmer shaped as a
shaping engine independent of fpdf2 (Pillow's raqm) draws it, for the worker who registered or
proved who they are in this session only."""
from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator

import numpy as np
import pypdfium2 as pdfium
import pytest
from PIL import Image, ImageDraw, ImageFont, features
from scipy.ndimage import binary_dilation

from registry import areas
from registry.documents.pdf import (
    FONT_FILES,
    FONTS_DIR,
    FRAME,
    MARGIN,
    PAGE_HEIGHT,
    PAGE_WIDTH,
    Document,
    Text,
    syllables,
)
from registry.i18n import LOCALES
from tests.helpers import csrf_token, make_app, valid_form

MM = 72 / 25.4  # PDF points per mm
RENDER = 2.0  # pixels per PDF point when rasterising


def register(client, **overrides: str) -> str:  # type: ignore[no-untyped-def]
    data = valid_form(**overrides)
    data["csrf_token"] = csrf_token(client, "/register")
    assert client.post("/register", data=data).status_code == 303
    html = client.get("/register/done").get_data(as_text=True)
    return re.search(r'id="registration-number">([0-9-]+)<', html).group(1)


def download(client):  # type: ignore[no-untyped-def]
    response = client.get("/certificate.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    return response


class Page:
    """The PDF's only page: its text boxes (in mm from the top left) and its pixels."""

    def __init__(self, data: bytes) -> None:
        self.document = pdfium.PdfDocument(data)
        assert len(self.document) == 1
        self.page = self.document[0]
        width, height = self.page.get_size()
        assert (round(width / MM), round(height / MM)) == (PAGE_WIDTH, PAGE_HEIGHT)  # A4
        self.text = self.page.get_textpage()
        self.pixels = np.asarray(self.page.render(scale=RENDER).to_pil().convert("L"))

    def close(self) -> None:
        self.text.close()
        self.page.close()
        self.document.close()

    def box(self, index: int, count: int = 1) -> tuple[float, float, float, float]:
        """(left, top, right, bottom) in mm from the page's top left, of `count` characters."""
        boxes = [self.text.get_charbox(i) for i in range(index, index + count)]
        boxes = [b for b in boxes if b[2] > b[0]] or boxes  # spaces have no extent
        left, bottom, right, top = (min(b[0] for b in boxes), min(b[1] for b in boxes),
                                    max(b[2] for b in boxes), max(b[3] for b in boxes))
        height = self.page.get_height()
        return left / MM, (height - top) / MM, right / MM, (height - bottom) / MM

    def find(self, text: str) -> tuple[float, float, float, float]:
        """Where `text` is first found."""
        return self.find_all(text)[0]

    def find_all(self, text: str) -> list[tuple[float, float, float, float]]:
        searcher = self.text.search(text)
        found = [self.box(*match) for match in iter(searcher.get_next, None)]
        assert found, f"{text!r} is not in the PDF's text"
        return found

    def chars(self) -> list[tuple[float, float, float, float]]:
        return [self.box(i) for i in range(self.text.count_chars()) if self.text.get_text_range(i, 1).strip()]

    def ink(self, left: float, top: float, right: float, bottom: float) -> float:
        """The share of dark pixels inside a box given in mm."""
        k = RENDER * MM
        area = self.pixels[int(top * k):int(bottom * k) + 1, int(left * k):int(right * k) + 1]
        return float((area < 128).mean()) if area.size else 0.0

    def all_text_inside_the_margins(self) -> bool:
        slack = 0.5  # mm: glyph boxes round to whole points
        return all(left >= MARGIN - slack and right <= PAGE_WIDTH - MARGIN + slack
                   and top >= MARGIN - slack and bottom <= PAGE_HEIGHT - MARGIN + slack
                   for left, top, right, bottom in self.chars())

    def nothing_outside_the_frame(self) -> bool:
        edge = int((FRAME - 0.5) * MM * RENDER)
        ring = np.ones(self.pixels.shape, bool)
        ring[edge:-edge, edge:-edge] = False
        return bool((self.pixels[ring] > 250).all())


@pytest.fixture
def open_pdf() -> Iterator[Callable[[bytes], Page]]:
    """Opens a PDF's page for a test, and closes it after."""
    pages: list[Page] = []

    def open_page(data: bytes) -> Page:
        pages.append(Page(data))
        return pages[-1]

    yield open_page
    for page in pages:
        page.close()


def test_worker_downloads_a_one_page_certificate_with_everything_where_it_belongs(client, open_pdf) -> None:  # type: ignore[no-untyped-def]
    number = register(client, full_name="សុខ ដារ៉ា", gender="female")
    response = download(client)
    assert response.headers["Content-Disposition"] == f'attachment; filename="certificate-{number}.pdf"'
    assert response.headers["Cache-Control"] == "no-store"
    page = open_pdf(response.data)

    everything = page.text.get_text_range()
    for text in (number, "សុខ ដារ៉ា", "Certificate of registration", "Full name", "Tonle Basak", "Phnom Penh",
                 "Ministry of Industry, Science, Technology and Innovation", "Date registered"):
        assert text in everything, text
    in_box, in_footer = sorted(page.find_all(number), key=lambda box: box[1])  # in the box, then the footer
    left, top, right, bottom = in_box
    assert page.ink(left, top, right, bottom) > 0.15  # the number is drawn where its text is
    assert abs((left + right) / 2 - PAGE_WIDTH / 2) < 3  # centred
    assert top < PAGE_HEIGHT / 2  # in the upper half, under the title
    label_height = page.find("Full name")[3] - page.find("Full name")[1]
    assert bottom - top > 2.5 * label_height  # and large
    assert page.ink(*page.find("សុខ ដារ៉ា")) > 0.05

    # The page is used: the content reaches from the top to the footer at the bottom.
    footer = page.find("Informal economy registry")
    assert in_footer[1] == pytest.approx(footer[1], abs=1)
    last_row = page.find("Date registered")
    assert footer[1] > PAGE_HEIGHT - MARGIN - 12 and last_row[3] < footer[1]
    assert last_row[1] > PAGE_HEIGHT * 0.6
    assert page.find("Kingdom of Cambodia")[1] < MARGIN + 20
    assert page.all_text_inside_the_margins()
    assert page.nothing_outside_the_frame()


def _longest_area() -> tuple[str, str, str]:
    """The province, district and commune whose names, in every language, are longest."""
    def length(*records: areas.Area) -> int:
        return sum(len(areas.area_name(r, locale)) for r in records for locale in LOCALES)

    best = max(((p, d, c) for p in areas.provinces() for d in areas.districts(p.code) for c in areas.communes(d.code)),
               key=lambda found: length(*found))
    return best[0].code, best[1].code, best[2].code


@pytest.mark.parametrize(
    "name, business",
    [
        ("W" * 100, "W" * 120),  # the widest Latin letter, at the longest allowed lengths
        # Khmer with no space to break at (a line break falls between syllables) and stacked consonants
        ("ស្រីនាងឧត្តមក្សត្រ" * 5 + "ស្រីនាងកៅក", "ហាងបាយស្ត្រី" * 10),
    ],
    ids=["latin", "khmer"],
)
def test_the_longest_allowed_values_still_fit_one_page(client, open_pdf, name: str, business: str) -> None:  # type: ignore[no-untyped-def]
    assert len(name) == 100 and len(business) == 120
    province, district, commune = _longest_area()
    register(client, category="micro_enterprise", full_name=name, business_name=business, workers="10",
             province=province, district=district, commune=commune)
    page = open_pdf(download(client).data)
    footer = page.find("Informal economy registry")
    assert page.find("Date registered")[3] < footer[1]
    assert page.all_text_inside_the_margins()
    assert page.nothing_outside_the_frame()
    assert page.ink(*page.find("WWWW" if name.startswith("W") else "ហាងបាយ")) > 0.05


def test_a_name_in_a_script_no_bundled_font_has_shows_as_replacement_marks_and_is_never_logged(
        client, caplog, open_pdf) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    register(client, full_name="สมชาย ใจดี")  # Thai: letters the form accepts, no glyph in Noto Sans (Khmer)
    page = open_pdf(download(client).data)
    assert "\ufffd" in page.text.get_text_range()  # drawn as visible marks, not dropped
    assert page.ink(*page.find("\ufffd")) > 0.05
    assert not [r for r in caplog.records if "สม" in r.getMessage()]  # no personal data in the logs


def test_the_certificate_pdf_needs_a_registration_in_this_session(app, client, open_pdf) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/certificate.pdf").status_code == 404
    number = register(client)
    assert app.test_client().get("/certificate.pdf").status_code == 404  # another browser: nothing
    other = app.test_client()
    token = csrf_token(other, "/status")
    found = other.post("/status", data={"registration_number": number, "phone": "012 345 678",
                                        "date_of_birth": "25/01/1990", "csrf_token": token})
    assert found.status_code == 200
    assert open_pdf(download(other).data).find(number)  # proved who they are: the same certificate


def test_downloads_are_limited_to_thirty_a_minute_per_address(database_url: str) -> None:
    client = make_app(database_url, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://").test_client()
    codes = [client.get("/certificate.pdf").status_code for _ in range(31)]  # each PDF costs CPU
    assert codes == [404] * 30 + [429]


def test_confirmation_status_and_certificate_pages_link_the_pdf_in_both_languages(client) -> None:  # type: ignore[no-untyped-def]
    number = register(client)
    link = 'href="/certificate.pdf" download'
    for path in ("/register/done", "/certificate"):
        html = client.get(path).get_data(as_text=True)
        assert link in html and "ទាញយកវិញ្ញាបនបត្រ (PDF)" in html, path
    for path in ("/register/done?lang=en", "/certificate"):  # the choice of English is kept
        assert "Download certificate (PDF)" in client.get(path).get_data(as_text=True), path
    token = csrf_token(client, "/status")
    status = client.post("/status", data={"registration_number": number, "phone": "012345678",
                                          "date_of_birth": "25/01/1990", "csrf_token": token})
    html = status.get_data(as_text=True)
    assert link in html and "Download certificate (PDF)" in html
    assert 'id="print"' in client.get("/certificate").get_data(as_text=True)  # the Print button stays


def test_a_word_wider_than_a_line_breaks_between_syllables_never_inside_one() -> None:
    assert syllables("ស្រីនាងឧត្តម") == ["ស្រី", "នា", "ង", "ឧ", "ត្ត", "ម"]  # subscripts and vowels stay on
    word = "ស្រីនាងឧត្តមក្សត្រ" * 4
    with Document(title="wrap", language="km") as document:
        document.start(1.0, drawing=False)
        lines = document.lines(Text(word, 11.0), width=30.0)
        spaced = document.lines(Text("សុខ ដារ៉ា " * 8, 11.0), width=60.0)
    assert len(lines) > 3 and "".join(lines) == word
    cuts = {sum(map(len, lines[:n])) for n in range(1, len(lines))}
    boundaries = {sum(map(len, syllables(word)[:n])) for n in range(1, len(syllables(word)))}
    assert cuts <= boundaries
    assert len(spaced) > 1 and all(line.endswith("ដារ៉ា") for line in spaced)  # at spaces first


# ---------------------------------------------------------------- Khmer shaping against a reference
SIZE = 40.0  # points: large enough that rasterisers agree to the pixel edge
needs_raqm = pytest.mark.skipif(not features.check("raqm"), reason="Pillow without raqm (libfribidi missing)")


def _ink(image: Image.Image) -> np.ndarray:
    dark = np.asarray(image.convert("L")) < 128
    rows, columns = np.nonzero(dark)
    return dark[rows.min():rows.max() + 1, columns.min():columns.max() + 1]


def builder_rendering(word: str, *, bold: bool = False, shaping: bool = True) -> np.ndarray:
    """`word` alone, drawn by the PDF builder and rasterised by PDFium."""
    with Document(title="word", language="km", frame=False) as document:
        if not shaping:  # what the builder would draw if shaping were lost
            document.pdf.set_text_shaping(False)
        document.start(1.0, drawing=True)
        document.stack([Text(word, SIZE, bold=bold)], align="L")
        pdf = pdfium.PdfDocument(document.output())
    try:
        return _ink(pdf[0].render(scale=RENDER).to_pil())
    finally:
        pdf.close()


def reference_rendering(word: str, *, bold: bool = False) -> np.ndarray:
    """`word` shaped by raqm (Pillow's own HarfBuzz and FriBiDi) and drawn by FreeType."""
    font = ImageFont.truetype(str(FONTS_DIR / FONT_FILES[("khmer", "B" if bold else "")]), size=int(SIZE * RENDER),
                              layout_engine=ImageFont.Layout.RAQM)
    canvas = Image.new("L", (int(SIZE * RENDER * (len(word) + 2)), int(SIZE * RENDER * 3)), 255)
    ImageDraw.Draw(canvas).text((SIZE, SIZE * RENDER), word, font=font, fill=0)
    return _ink(canvas)


def agreement(a: np.ndarray, b: np.ndarray, pixels: int = 2) -> float:
    """The smaller share of either image's ink that lies within `pixels` of the other's ink
    (aligned at their top left corners): 1.0 when the two draw the same glyphs in the same places."""
    shape = max(a.shape[0], b.shape[0]), max(a.shape[1], b.shape[1])
    one, other = np.zeros(shape, bool), np.zeros(shape, bool)
    one[:a.shape[0], :a.shape[1]], other[:b.shape[0], :b.shape[1]] = a, b
    near = np.ones((2 * pixels + 1, 2 * pixels + 1), bool)
    return float(min((one & binary_dilation(other, near)).sum() / one.sum(),
                     (other & binary_dilation(one, near)).sum() / other.sum()))


@needs_raqm
@pytest.mark.parametrize(
    "word, bold",
    [("សុខ", False), ("ដារ៉ា", False), ("ស្រីនាង", False), ("ឧត្តម", False), ("កៅ", False),
     ("វិញ្ញាបនបត្រ", True), ("ព្រះរាជាណាចក្រកម្ពុជា", True)],
    ids=["sok", "dara", "srey-neang", "oudom", "kau", "certificate-bold", "kingdom-bold"],
)
def test_khmer_words_are_drawn_as_the_reference_shaping_draws_them(word: str, bold: bool) -> None:
    ours, reference = builder_rendering(word, bold=bold), reference_rendering(word, bold=bold)
    assert abs(ours.shape[0] - reference.shape[0]) <= 3 and abs(ours.shape[1] - reference.shape[1]) <= 3
    assert agreement(ours, reference) > 0.99


@needs_raqm
@pytest.mark.parametrize("word", ["ដារ៉ា", "ស្រីនាង", "ឧត្តម", "កៅ", "ព្រះរាជាណាចក្រកម្ពុជា"],
                         ids=["dara", "srey-neang", "oudom", "kau", "kingdom"])
def test_the_comparison_catches_unshaped_khmer(word: str) -> None:
    """Subscripts (coeng), split and reordered vowels: drawn unshaped, they differ visibly."""
    unshaped = builder_rendering(word, shaping=False)
    assert agreement(unshaped, reference_rendering(word)) < 0.95
