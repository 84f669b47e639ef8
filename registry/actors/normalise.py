"""Text as the registry compares it: what you see is what counts.

Default-ignorable code points (Unicode's Default_Ignorable_Code_Point: zero-width spaces
and joiners, the combining grapheme joiner U+034F, the Khmer inherent vowels U+17B4/U+17B5,
variation selectors, bidi controls, the BOM, tags…) draw nothing, so two names that look
the same could differ by one of them and defeat the identity rule. They are removed from
every value, and text is put in Unicode normal form C (composed), before any rule looks at
it. For identity, Khmer syllables are also put in one canonical order (registry.actors.khmer):
spellings that render identically are one name. The romanised key that matches a name across
scripts is registry.actors.romanise. The name key of every stored actor is recomputed by a
migration whenever `identity_name` changes (0016_khmer_name_keys did for the Khmer ordering),
and registrations that then turn out to be one person go to the duplicate review queue.
"""
from __future__ import annotations

import unicodedata

from registry.actors.khmer import canonical

# Unicode 15.1 DerivedCoreProperties.txt, Default_Ignorable_Code_Point (every range).
DEFAULT_IGNORABLE: tuple[tuple[int, int], ...] = (
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160), (0x17B4, 0x17B5),
    (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x206F), (0x3164, 0x3164),
    (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF),
)
_REMOVE = {code: None for low, high in DEFAULT_IGNORABLE for code in range(low, high + 1)}
_IDENTITY_IGNORED = str.maketrans("", "", " .-'’")


def visible(text: str) -> str:
    """`text` without default-ignorable code points, in NFC (ASCII text is returned as is)."""
    if text.isascii():
        return text
    return unicodedata.normalize("NFC", text.translate(_REMOVE))


def identity_name(full_name: str) -> str:
    """A name as compared for identity: invisible characters, case, spaces and punctuation
    ignored, compatibility forms folded (NFKC), Khmer marks in canonical order."""
    if full_name.isascii():
        return full_name.lower().translate(_IDENTITY_IGNORED)
    return canonical(unicodedata.normalize("NFKC", visible(full_name))).casefold().translate(_IDENTITY_IGNORED)
