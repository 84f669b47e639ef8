"""Romanised phonetic key for Khmer <-> Latin name matching (stdlib only).

Per word: consonant skeleton in coarse classes (K C T P B S N J=ñ G=ng M L R V Y H) +
the class of a final pronounced vowel (A: a/ea/ia, E: i/e/y/ey/ay, O: o/u/ou/ao/eo/ov).
Repeats collapse only when no vowel separates them (ណ្ណ/nn/tth), so Sopheap != Sophea.
Khmer side: trailing silent subscripts (ពេជ្រ), coda glides រ វ យ, reahmuk and the silent
final short -i/-u of Pali spellings (សម្បត្តិ, សុជាតិ) are dropped; nikahit -> M.
Latin side: digraphs first; h kept only before a vowel, r/v/w only before a vowel, y only
word-initially; final -b -> P.
"""
import re
from kh_normalise import khmer_canonical

_KM = {}
for chars, cls in (("កខគឃ", "K"), ("ង", "G"), ("ចឆជឈ", "C"), ("ញ", "J"), ("ដឋឌឍតថទធ", "T"),
                   ("ណន", "N"), ("បផពភ", "P"), ("ម", "M"), ("យ", "Y"), ("រ", "R"),
                   ("លឡ", "L"), ("វ", "V"), ("ឝឞស", "S"), ("ហ", "H"), ("អ", ""), ("ឫឬ", "R"), ("ឭឮ", "L")):
    for ch in chars:
        _KM[ch] = cls
_KM_VCLASS = {**dict.fromkeys("\u17B6\u17C3\u17BF", "A"), **dict.fromkeys("\u17B7\u17B8\u17B9\u17BA\u17BE\u17C1\u17C2\u17C0", "E"),
              **dict.fromkeys("\u17BB\u17BC\u17BD\u17C4\u17C5", "O")}
_KH_WORD = re.compile("[\u1780-\u17DD]")


def _khmer_word(word):
    word = khmer_canonical(word)
    seg = []                          # [class, is_subscript, vowel_class_after]
    i, n = 0, len(word)
    while i < n:
        ch = word[i]
        if ch == "\u17D2" and i + 1 < n:
            seg.append([_KM.get(word[i + 1], ""), True, None]); i += 2; continue
        if ch in _KM:
            seg.append([_KM[ch], False, None])
        elif ch in _KM_VCLASS and seg:
            seg[-1][2] = _KM_VCLASS[ch]
        elif ch == "\u17C6" and seg:                      # nikahit
            seg.append(["M", False, None])
        elif "\u17A5" <= ch <= "\u17B3" and ch not in _KM:   # independent vowels
            seg.append(["", False, "O" if ch in "ឧឩឪឳ" else "E" if ch in "ឥឦឯ" else "A"])
        i += 1
    if len(seg) > 1 and seg[-1][2] in ("E", "O") and word[-1] in "\u17B7\u17BB":
        seg[-1][2] = None                                  # silent Pali final -i/-u
    while len(seg) > 1 and seg[-1][1] and seg[-1][2] is None:
        seg.pop()                                          # silent trailing subscript
    final = None
    if len(seg) > 1 and seg[-1][0] in ("R", "V", "Y") and seg[-1][2] is None:
        g = seg.pop()[0]                                   # coda glide: part of the vowel
        final = {"V": "O", "Y": "E", "R": seg[-1][2]}[g] or seg[-1][2] or "A"
    else:
        final = seg[-1][2] if seg else None
    out, prev, sep = [], None, True
    for cls, _, v in seg:
        if cls and not (cls == prev and not sep):
            out.append(cls)
        prev, sep = (cls or prev), v is not None or cls == "M"
    return "".join(out), final


_LAT = [("tch", "C"), ("chh", "C"), ("ch", "C"), ("kh", "K"), ("ph", "P"), ("th", "T"), ("dh", "T"), ("sh", "S"),
        ("gn", "J"), ("nh", "J"), ("ñ", "J"), ("ng", "G"), ("j", "C"), ("q", "K"),
        ("x", "S"), ("z", "S"), ("g", "K"), ("c", "K"), ("k", "K"), ("d", "T"), ("t", "T"), ("f", "P"),
        ("p", "P"), ("b", "P"), ("s", "S"), ("n", "N"), ("m", "M"), ("l", "L"), ("w", "v")]


def _latin_word(word):
    w = re.sub(r"[^a-zñ]", "", word.lower())
    w = re.sub(r"ny(?=[aeiou])", "J", w)
    for a, b in _LAT:
        w = w.replace(a, b)
    out, prev, sep = [], None, True
    for i, ch in enumerate(w):
        nxt = w[i + 1] if i + 1 < len(w) else ""
        if ch in "aeiou" or (ch == "y" and i > 0) or (ch in "hrv" and i > 0 and (not nxt or nxt not in "aeiouy")):
            sep = True; continue
        cls = {"h": "H", "r": "R", "v": "V", "y": "Y"}.get(ch, ch)
        if not (cls == prev and not sep):
            out.append(cls)
        prev, sep = cls, False
    m = re.search(r"([aeiouy]+)[hrv]?$", w)
    final = None
    if m:
        g = m.group(0)
        final = ("O" if re.search(r"(o|u|eo|ao|ov|ou|ev|av)[hr]?$", g) else
                 "E" if re.search(r"(i|e|y|ey|ei|ay|ai)[hr]?$", g) else "A")
    return "".join(out), final


def _word(t):
    return _khmer_word(t) if _KH_WORD.search(t) else _latin_word(t)


def roman_key(name: str) -> str:
    """Same key for សុខ ដារ៉ា and Sok Dara; words joined (Srey Mom = Sreymom)."""
    parts = [_word(t) for t in name.split()]
    return "".join(p for p, _ in parts) + ((parts[-1][1] or "") if parts else "")


def roman_key_tokens(name: str) -> str:
    """Order-insensitive variant (Dara Sok = Sok Dara) for a second blocking key."""
    return " ".join(sorted(p + (f or "") for p, f in map(_word, name.split())))
