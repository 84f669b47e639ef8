"""Scored detector for legacy Limon/ABC-font Khmer pasted as Latin-1 text (stdlib only).

Limon fonts draw Khmer glyphs at Latin-1 code points: consonants on letters (series-2 ones
on capitals: K=គ C=ជ B=ព), vowels on letters/capitals (a=ា i=ិ I=ី u=ុ e=េ prefix), signs on
punctuation (:=៉ ;=់ M=ំ), subscripts on Latin-1 symbols (þ=្ត ß=្ថ Ñ=្ណ ñ=្ន ¢=្ជ ç=្ខ µ=្ម ...).
"""
import re
import unicodedata

_STRONG = set(";:[]{}\\|`~^¶©¢§¼½¾µ¥£¤´‘«»¦¬±¹²³°")   # never inside a Latin name
_NORDIC = set("þæÞÆÐðØ")          # Limon subscripts, but also Icelandic/Danish letters
_LATIN1_SUBS = set("çÇßñÑ")          # Limon subscripts; in names only after a vowel (François, Peña)
_PREFIX_CAMEL = re.compile(r"^(Mc|Mac|De|Le|La|Di|Da|Du|Van|Von|O'|D')[A-Z]")
_VOWELS = set("aeiouyøæ")
_IMPOSSIBLE = re.compile(r"hg|kv|sg|xg|vN|[bk]B|cB|wm|qg|[bcdfgkpstvx][MN][a-z]?$|^R[bcdfghjklmnpqstvwxz]")


def _base(c):
    return unicodedata.normalize("NFD", c)[0].lower()


def limon_score(text: str) -> tuple[int, list[str]]:
    score, why = 0, []
    for tok in text.split():
        core = tok.strip(".,-")
        if not core:
            continue
        if any(c in _STRONG for c in core):
            score += 3; why.append(f"{tok}: Limon sign/subscript symbol")
        elif any(c in _NORDIC for c in core) and not re.search(r"[øØæÆþÞðÐ][aeiouyjr]|[aeiouy][ðæø]", core.lower()):
            score += 2; why.append(f"{tok}: Limon subscript letter not in a Nordic position")
        if _IMPOSSIBLE.search(core):
            score += 2; why.append(f"{tok}: letter pair no Latin name has")
        inner = core[1:]
        if re.search(r"[a-z][A-Z]", core) and not _PREFIX_CAMEL.match(core):
            score += 2; why.append(f"{tok}: capital inside word")
        elif re.search(r"[A-Z]{2}[a-z]|[A-Z][a-z]+[A-Z]", core) and not _PREFIX_CAMEL.match(core) and not core.isupper():
            score += 1; why.append(f"{tok}: mixed case")
        letters = [c for c in core if c.isalpha()]
        if len(letters) >= 3 and not any(_base(c) in _VOWELS for c in core):
            score += 1; why.append(f"{tok}: no Latin vowel")
        for m in re.finditer(r"[^aeiouy\W](%s)" % "|".join(map(re.escape, _LATIN1_SUBS)), core.lower()):
            score += 2; why.append(f"{tok}: Latin-1 letter after a consonant"); break
        if re.match(r"^[eE][bcdfhjklmpqstvwxzBCDFHJKLMPQSTVWXZ][bcdfghjklmnpqrstvwxzA-Z]?$", core):
            score += 1; why.append(f"{tok}: Limon pre-base vowel e/E + consonant")
        if re.search(r"[a-zA-Z][0-9]|[0-9][a-zA-Z]", core):
            score += 1; why.append(f"{tok}: digit inside word")
    return score, why


def looks_like_limon(text: str, threshold: int = 2) -> bool:
    """True -> ask staff (never convert silently)."""
    return limon_score(text)[0] >= threshold


def file_is_limon(values, row_threshold: int = 2, share: float = 0.2) -> bool:
    """Whole upload: Limon when at least `share` of the non-empty name values score >= row_threshold."""
    vals = [v for v in values if v and v.strip()]
    return bool(vals) and sum(limon_score(v)[0] >= row_threshold for v in vals) >= share * len(vals)
