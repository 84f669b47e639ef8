"""The one builder of the registry's PDFs: an A4 page of Khmer and Latin text shaped by HarfBuzz
(fpdf2 with uharfbuzz), laid out in a few blocks — stacked paragraphs, a framed box, labelled
rows, a QR code with text beside it, a footer — at the largest type scale at which everything
fits on the page.

Fonts are the full Noto files bundled beside this module (fpdf2 embeds only the glyphs a
document uses). A text that contains Khmer is set in Noto Sans Khmer, any other in Noto Sans,
and each falls back to the other for the characters it lacks (digits and Latin letters in a
Khmer text, a Khmer name in an English one).
"""
from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fpdf import FPDF

FONTS_DIR = Path(__file__).parent / "fonts"  # full OFL files, from Debian's fonts-noto-core (OFL.txt)
FONT_FILES: dict[tuple[str, str], str] = {
    ("khmer", ""): "NotoSansKhmer-Regular.ttf",
    ("khmer", "B"): "NotoSansKhmer-Bold.ttf",
    ("latin", ""): "NotoSans-Regular.ttf",
    ("latin", "B"): "NotoSans-Bold.ttf",
}

PAGE_WIDTH, PAGE_HEIGHT = 210.0, 297.0  # A4, mm
MARGIN = 16.0  # mm from the page's edge to any text
FRAME = 9.0  # mm from the page's edge to the frame's outer line (the frame lies inside the margin)
PT = 25.4 / 72  # one point, in mm
# Line height as a multiple of the font size. Khmer stacks vowel signs above and subscripts
# below (Noto Sans Khmer reaches 1.16 em up and 0.69 em down): its lines are taller.
LINE_KHMER, LINE_LATIN = 1.8, 1.35
INK, MUTED, ACCENT, RULE, TINT = (17, 17, 17), (78, 78, 78), (11, 92, 173), (185, 185, 185), (236, 243, 251)
REPLACEMENT = "\ufffd"  # drawn for a character that no bundled font has (never dropped silently)
_COENG, _ZWJ = "\u17d2", "\u200d"


def is_khmer(char: str) -> bool:
    return "\u1780" <= char <= "\u17ff" or "\u19e0" <= char <= "\u19ff"


@dataclass(frozen=True)
class Text:
    """One paragraph in one style; `size` in points at scale 1 (the page's fitting scales it)."""

    text: str
    size: float = 10.0
    bold: bool = False
    muted: bool = False  # secondary: the second language, a note


@dataclass(frozen=True)
class _Line:
    text: str
    family: str
    style: str
    size: float  # points, scaled
    height: float  # mm
    muted: bool


class DoesNotFit(ValueError):
    """The content is taller than the page even at the smallest type scale."""


def syllables(word: str) -> list[str]:
    """`word` cut where a line may break inside it when it is wider than a whole line: before
    each base character, never inside a Khmer syllable (a consonant with its subscripts and
    vowel signs) nor before a combining mark."""
    pieces: list[str] = []
    for index, char in enumerate(word):
        joined = index > 0 and word[index - 1] in (_COENG, _ZWJ)
        if pieces and (joined or unicodedata.category(char) in ("Mn", "Mc", "Me", "Cf")):
            pieces[-1] += char
        else:
            pieces.append(char)
    return pieces


class Document:
    """One A4 page being laid out from the top down. `scale` multiplies every font size and gap;
    while `drawing` is false the blocks only measure themselves (the fitting passes)."""

    def __init__(self, *, title: str, language: str, frame: bool = True) -> None:
        # Imported here, not with the module: fpdf2 brings fontTools, Pillow and numpy (about a
        # second), which every server process would otherwise pay at start for a rare download.
        from fpdf import FPDF

        pdf: FPDF = FPDF(orientation="portrait", unit="mm", format="A4")
        for (family, style), name in FONT_FILES.items():
            pdf.add_font(family, style, str(FONTS_DIR / name))
        pdf.set_text_shaping(True)
        pdf.set_fallback_fonts(["khmer", "latin"], exact_match=False)
        pdf.set_auto_page_break(False)
        pdf.set_margins(MARGIN, MARGIN, MARGIN)
        pdf.c_margin = 0
        pdf.set_title(title)
        pdf.set_lang(language)
        pdf.add_page()
        self.pdf = pdf
        self.covered = frozenset(pdf.fonts["khmer"].cmap) | frozenset(pdf.fonts["latin"].cmap)
        self.frame = frame
        self.flowing = False  # True: blocks go on to new pages (`flowing`), else all on one (`one_page`)
        self.scale, self.drawing = 1.0, False
        self.y, self.floor = MARGIN, PAGE_HEIGHT - MARGIN
        self._wrapped: dict[tuple[str, str, str, float, float], list[str]] = {}
        self._widths: dict[tuple[str, str, str], float] = {}  # shaped width at 1 pt, in mm

    # ------------------------------------------------------------------ the page
    @property
    def width(self) -> float:
        return PAGE_WIDTH - 2 * MARGIN

    @property
    def fill(self) -> float:
        """How much of the page's height the blocks so far take (above 1: they do not fit)."""
        return (self.y - MARGIN) / (self.floor - MARGIN)

    def start(self, scale: float, *, drawing: bool) -> None:
        self.scale, self.drawing = scale, drawing
        self.y, self.floor = MARGIN, PAGE_HEIGHT - MARGIN
        if drawing and self.frame:
            self._frame()

    def output(self) -> bytes:
        return bytes(self.pdf.output())

    def close(self) -> None:
        """Let go of the font files (fpdf2 reads them lazily, and closes them only when it writes)."""
        for font in self.pdf.fonts.values():
            font.close()

    def __enter__(self) -> Document:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # ------------------------------------------------------------------ blocks
    def space(self, mm: float) -> None:
        self.y += mm * self.scale

    def stack(self, texts: Sequence[Text], *, align: str = "C", gap: float = 0.0) -> None:
        """Paragraphs one under another across the page, `gap` mm between them."""
        if not self.flowing:
            self.y = self._stack(texts, MARGIN, self.y, self.width, align, gap)
            return
        for number, item in enumerate(texts):  # each paragraph whole on one page
            if number:
                self.y += gap * self.scale
            self._room(self._height([item], self.width))
            self.y = self._stack([item], MARGIN, self.y, self.width, align, 0.0)

    def _room(self, height: float) -> bool:
        """In a flowing document, start a new page when a block `height` mm tall would cross
        this one's floor (and the page holds something already). True when it did."""
        if not self.flowing or self.y + height <= self.floor or self.y <= MARGIN:
            return False
        if self.drawing:
            self.pdf.add_page()
        self.y = MARGIN
        return True

    def box(self, texts: Sequence[Text], *, width: float, padding: float = 3.0) -> None:
        """Paragraphs centred in a tinted, framed box `width` mm wide, centred on the page."""
        pad = padding * self.scale
        height = self._height(texts, width - 2 * pad) + 2 * pad
        x = (PAGE_WIDTH - width) / 2
        if self.drawing:
            self.pdf.set_fill_color(*TINT)
            self.pdf.set_draw_color(*ACCENT)
            self.pdf.set_line_width(0.5)
            self.pdf.rect(x, self.y, width, height, style="DF")
        self._stack(texts, x + pad, self.y + pad, width - 2 * pad, "C", 0.0)
        self.y += height

    def rows(self, rows: Sequence[tuple[Sequence[Text], Sequence[Text]]], *, label_share: float = 0.38,
             padding: float = 1.3) -> None:
        """A two-column table: each row a label (left) and a value (right), ruled between rows."""
        pad, gutter = padding * self.scale, 4.0
        label_width = self.width * label_share
        value_x, value_width = MARGIN + label_width + gutter, self.width - label_width - gutter
        self.rule()
        for label, value in rows:
            height = max(self._height(label, label_width), self._height(value, value_width)) + 2 * pad
            if self._room(height):
                self.rule()
            self._stack(label, MARGIN, self.y + pad, label_width, "L", 0.0)
            self._stack(value, value_x, self.y + pad, value_width, "L", 0.0)
            self.y += height
            self.rule()

    def qr(self, data: str, texts: Sequence[Text], *, size: float = 30.0, gap: float = 4.0) -> None:
        """A QR code of `data` at the left, `size` mm square with its quiet zone, and paragraphs
        beside it. Its size is not scaled with the type: it must scan from paper (30 mm holds a
        version-5 code's 45 modules at 0.67 mm, read by any phone camera at arm's length)."""
        import segno  # pure Python; only the PDF needs it here

        matrix = segno.make(data, error="m", micro=False).matrix
        text_width = self.width - size - gap
        text_height = self._height(texts, text_width)
        height = max(size, text_height)
        self._room(height)
        if self.drawing:
            self._modules(matrix, MARGIN, self.y + (height - size) / 2, size)
        self._stack(texts, MARGIN + size + gap, self.y + (height - text_height) / 2, text_width, "L", 0.0)
        self.y += height

    def _modules(self, matrix: Sequence[Sequence[int]], x: float, y: float, size: float, quiet: int = 4) -> None:
        """The dark modules as black runs, row by row, inside a `quiet`-module white border."""
        count = len(matrix)
        module = size / (count + 2 * quiet)
        self.pdf.set_fill_color(0, 0, 0)
        for row_number, row in enumerate(matrix):
            top, column = y + (quiet + row_number) * module, 0
            while column < count:
                start = column
                while column < count and row[column]:
                    column += 1
                if column > start:  # a touch taller than a module: no hairline between rows
                    self.pdf.rect(x + (quiet + start) * module, top, (column - start) * module, module * 1.02, style="F")
                column += 1

    def rule(self, colour: tuple[int, int, int] = RULE, width: float = 0.2) -> None:
        if self.drawing:
            self.pdf.set_draw_color(*colour)
            self.pdf.set_line_width(width)
            self.pdf.line(MARGIN, self.y, PAGE_WIDTH - MARGIN, self.y)

    def footer(self, texts: Sequence[Text], *, gap: float = 3.0) -> None:
        """Paragraphs at the foot of the page under a rule; the blocks above must end above it."""
        height = self._height(texts, self.width)
        top = PAGE_HEIGHT - MARGIN - height
        self._stack(texts, MARGIN, top, self.width, "C", 0.0)
        if self.drawing:
            self.pdf.set_draw_color(*ACCENT)
            self.pdf.set_line_width(0.3)
            self.pdf.line(MARGIN, top - gap / 2, PAGE_WIDTH - MARGIN, top - gap / 2)
        self.floor = top - gap

    # ------------------------------------------------------------------ text
    def _stack(self, texts: Sequence[Text], x: float, y: float, width: float, align: str, gap: float) -> float:
        for number, item in enumerate(texts):
            if number:
                y += gap * self.scale
            for line in self._lines(item, width):
                if self.drawing:
                    self.pdf.set_font(line.family, line.style, line.size)
                    self.pdf.set_text_color(*(MUTED if line.muted else INK))
                    self.pdf.set_xy(x, y)
                    self.pdf.cell(width, line.height, line.text, align=align)
                y += line.height
        return y

    def _height(self, texts: Sequence[Text], width: float) -> float:
        return sum(line.height for item in texts for line in self._lines(item, width))

    def lines(self, item: Text, width: float) -> list[str]:
        """The lines a paragraph takes in a column `width` mm wide, at the current scale."""
        return [line.text for line in self._lines(item, width)]

    def _lines(self, item: Text, width: float) -> list[_Line]:
        text = self._drawable(item.text)
        family = "khmer" if any(map(is_khmer, text)) else "latin"
        style, size = ("B" if item.bold else ""), item.size * self.scale
        height = size * PT * (LINE_KHMER if family == "khmer" else LINE_LATIN)
        key = (text, family, style, size, width)
        if key not in self._wrapped:
            self._wrapped[key] = self._wrap(text, width / size, family, style)
        return [_Line(part, family, style, size, height, item.muted) for part in self._wrapped[key]]

    def _drawable(self, text: str) -> str:
        """One line of text the fonts can draw: whitespace runs as one space, an invisible format
        character no font has left out, any other character no font has as U+FFFD."""
        text = " ".join(text.split())
        if text.isascii() and text.isprintable():
            return text
        return "".join(
            char if ord(char) in self.covered
            else "" if unicodedata.category(char) == "Cf" else REPLACEMENT
            for char in text
        )

    def _width(self, text: str, family: str, style: str) -> float:
        """The shaped width of `text` at 1 pt (widths grow in proportion to the size: the fitting
        passes at other scales shape nothing again)."""
        key = (text, family, style)
        if key not in self._widths:
            self.pdf.set_font(family, style, 100)
            self._widths[key] = self.pdf.get_string_width(text) / 100
        return self._widths[key]

    def _wrap(self, text: str, width: float, family: str, style: str) -> list[str]:
        """Lines no wider than `width` (in mm per pt of font size), broken at spaces; a word wider
        than a whole line is broken between its syllables."""
        def measure(part: str) -> float:
            return self._width(part, family, style)

        if measure(text) <= width:
            return [text]
        lines, line = [], ""
        for word in text.split(" "):
            candidate = f"{line} {word}" if line else word
            if measure(candidate) <= width:
                line = candidate
                continue
            if line:
                lines.append(line)
            line = word
            if measure(word) > width:
                line = ""
                for piece in syllables(word):
                    if line and measure(line + piece) > width:
                        lines.append(line)
                        line = ""
                    line += piece
        lines.append(line)
        return lines

    def _frame(self) -> None:
        """A double rule round the page (the certificate page's border, in print)."""
        inner = FRAME + 1.6
        self.pdf.set_draw_color(*ACCENT)
        self.pdf.set_line_width(0.8)
        self.pdf.rect(FRAME, FRAME, PAGE_WIDTH - 2 * FRAME, PAGE_HEIGHT - 2 * FRAME)
        self.pdf.set_line_width(0.25)
        self.pdf.rect(inner, inner, PAGE_WIDTH - 2 * inner, PAGE_HEIGHT - 2 * inner)


def one_page(draw: Callable[[Document], None], *, title: str, language: str,
             largest: float = 1.4, smallest: float = 0.55) -> bytes:
    """The PDF of one A4 page that `draw` lays out, at the largest type scale (between `smallest`
    and `largest`) at which it fits: short content fills the page, long content still fits it."""
    with Document(title=title, language=language) as document:

        def measure(scale: float) -> float:
            document.start(scale, drawing=False)
            draw(document)
            return document.fill

        scale = min(largest, max(smallest, 1.0 / measure(1.0)))
        while (fill := measure(scale)) > 1.0:
            if scale <= smallest:
                raise DoesNotFit(f"the content takes {fill:.0%} of the page at the smallest type scale")
            scale = max(smallest, scale * min(0.97, 1.0 / fill))
        document.start(scale, drawing=True)
        draw(document)
        return document.output()


def flowing(draw: Callable[[Document], None], *, title: str, language: str, scale: float = 1.0) -> bytes:
    """The PDF of as many A4 pages as `draw` fills at `scale` (a record with a long history):
    paragraphs and table rows are carried whole to the next page; no frame, no footer."""
    with Document(title=title, language=language, frame=False) as document:
        document.flowing = True
        document.start(scale, drawing=True)
        draw(document)
        return document.output()
