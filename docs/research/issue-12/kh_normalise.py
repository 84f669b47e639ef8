"""Khmer canonical ordering for identity keys (pure Python, stdlib only).

Follows SIL's khnormal (python/scripts/khnormal in github.com/sillsdev/khmer-character-
specification, (c) SIL Global 2021-2024, MIT) and the Khmer Encoding Structure (KES v1,
2024) it implements: per syllable  B {Robat} {Coeng C}* {Shifter} {V} {Modifier} {Final},
coeng RO after any other subscript, coeng DA folded to coeng TA, e+ii -> oe, e+aa -> oo,
-u before an above vowel -> register shifter.  Additions for identity keys: deprecated
U+17A3/U+17A4/U+17D8 folded (TUS 16.4), repeated marks dropped, same-category marks
ordered by code point.  Fixes SIL's `re.sub(..., re.X)` (passed as *count*: the
-u -> shifter rule never fired upstream or in khmerspell 0.1.1).
Input must already be `visible()` (default-ignorables, ZWJ/ZWNJ incl., removed).
"""
import re
import unicodedata

_FOLD = str.maketrans({0x17A3: "\u17A2", 0x17A4: "\u17A2\u17B6", 0x17D8: "\u17D4\u179B\u17D4"})

# categories (sort rank): 1 base, 2 robat, 3 coeng+C, 4 shifter, 6 pre/compound vowel,
# 7 below vowel, 8 above vowel, 9 aa, 10 above modifier, 11 final (reahmuk/yuukaleapintu)
_CAT = ([1] * 35 + [0] * 2 + [1] * 15 + [0] * 2 + [9] + [8] * 4 + [7] * 3 + [6] * 8 + [10]
        + [11] * 2 + [4] * 2 + [10] + [2] + [10] * 5 + [3] + [10] + [0] * 9 + [10])  # 1780-17DD

def _cat(ch):
    o = ord(ch)
    return _CAT[o - 0x1780] if 0x1780 <= o <= 0x17DD else 0

_S1 = "\u1780-\u1783\u1785-\u1788\u178A-\u178D\u178F-\u1792\u1795-\u1797\u179E-\u17A0\u17A2"
_S2 = "\u1784\u1780\u178E\u1793\u1794\u1798-\u179D\u17A1\u17A3-\u17B3"
_NONBA = "\u1780-\u1793\u1795-\u17A2\u17A5-\u17B3"
_B = "\u1780-\u17A2\u17A5-\u17B3"
_NONRO = "\u1780-\u1799\u179B-\u17A2\u17A5-\u17B3"
_STRONG = (f"(?:[{_S1}]\u17CC?(?:\u17D2[{_NONBA}](?:\u17D2[{_NONBA}])?)?"
           f"|[{_NONBA}]\u17CC?(?:\u17D2[{_S1}](?:\u17D2[{_NONBA}])?|\u17D2[{_NONBA}]\u17D2[{_S1}]))")
_COENG = f"(?:(?:\u17D2[{_NONRO}])?\u17D2[{_B}])"
_NSTRONG = (f"(?:[{_S2}]\u17CC?(?:\u17D2[{_S2}](?:\u17D2[{_S2}])?)?|\u1794\u17CC?(?:{_COENG}(?:{_COENG})?)?"
            f"|[{_B}]\u17CC?(?:\u17D2[{_NONRO}]\u17D2\u1794|\u17D2\u1794(?:\u17D2[{_B}])))")
_VA = "(?:[\u17B7-\u17BA\u17BE\u17BF\u17DD]|\u17B6\u17C6)"
_RULES = [
    (re.compile("\u17D2[\u17D2]+"), "\u17D2"),                       # repeated coeng
    (re.compile("\u17BE\u17B6"), "\u17C4\u17B8"),                     # confusable vowels
    (re.compile("\u17C1([\u17BB-\u17BD]?)\u17B8"), "\u17BE\\1"),        # e + ii -> oe
    (re.compile("\u17C1([\u17BB-\u17BD]?)\u17B6"), "\u17C4\\1"),        # e + aa -> oo
    (re.compile("(\u17BE)(\u17BB)"), r"\2\1"),
    (re.compile(f"^({_STRONG}[\u17C1-\u17C5]?)\u17BB(?={_VA}|\u17D0)"), "\\1\u17CA"),   # -u -> triisap
    (re.compile(f"^({_NSTRONG}[\u17C1-\u17C5]?)\u17BB(?={_VA}|\u17D0)"), "\\1\u17C9"),  # -u -> muusikatoan
    (re.compile("(\u17D2\u179A)(\u17D2[\u1780-\u17B3])"), r"\2\1"),     # coeng RO last
    (re.compile("\u17D2\u178A"), "\u17D2\u178F"),                      # coeng DA -> coeng TA
]

def _cats(txt):
    cats = [_cat(c) for c in txt]
    for i in range(1, len(txt)):            # consonant after coeng is part of the coeng
        if txt[i - 1] == "\u17D2" and cats[i] in (1, 3):
            cats[i] = 3
    return cats

def _syllable(txt):
    for _ in range(4):                      # rules can create a new order: repeat to a fixpoint
        new = _pass(txt, _cats(txt))
        if new == txt:
            break
        txt = new
    return txt

def _pass(txt, cats):
    # stable sort by category; coeng pairs and bases keep typed order, other marks by code point
    idx = sorted(range(len(txt)), key=lambda i: (cats[i], i if cats[i] <= 3 else ord(txt[i])))
    out, prev = [], None
    for i in idx:
        ch = txt[i]
        if cats[i] > 3 and ch == prev:      # the same mark typed twice draws once
            continue
        out.append(ch); prev = ch
    s = "".join(out)
    # identical coeng pairs typed twice (e.g. ្រ្រ) draw once
    s = re.sub("(\u17D2[\u1780-\u17B3])\\1+", r"\1", s)
    for rx, rep in _RULES:
        s = rx.sub(rep, s)
    return s

def khmer_canonical(text: str) -> str:
    """Visually identical Khmer spellings -> one code point sequence (idempotent, NFC-stable)."""
    text = unicodedata.normalize("NFC", text.translate(_FOLD))
    cats = _cats(text)
    res, i, n = [], 0, len(text)
    while i < n:
        if cats[i] != 1:
            res.append(text[i]); i += 1; continue
        j = i + 1
        while j < n and cats[j] > 1:
            j += 1
        res.append(_syllable(text[i:j]))
        i = j
    return unicodedata.normalize("NFC", "".join(res))
