"""What the mapping page proposes: a field for each column, a code for each unrecognised value.

Only proposals: the page shows them pre-selected and nothing is applied until staff confirm
(registry.imports.mappings). Similarity by rapidfuzz against our field names, their labels in
every language, and (for coded fields) how many of a column's values the field recognises.
"""
from __future__ import annotations

from functools import lru_cache

from rapidfuzz import fuzz, process

from registry.actors import fields
from registry.actors.validation import _synonyms, code_key, known_code
from registry.i18n import LOCALES, catalog
from registry.imports.mapping_rules import CODES, IGNORE, ColumnSurvey, Mapping, header_key
from registry.imports.reading import columns_of

COLUMN_SCORE = 85  # a header this close to a name or label of ours is proposed as that field
VALUE_SCORE = 85  # a value this close to a code or label of ours is proposed as that code
RECOGNISED_SHARE = 0.6  # a column whose values a coded field mostly recognises is that field


@lru_cache(maxsize=1)
def _names() -> dict[str, str]:
    """Spelling -> field: each field's name and its label in every language."""
    table: dict[str, str] = {}
    for f in fields.FIELDS:
        table[header_key(f.name.replace("_", " "))] = f.name
        for locale in LOCALES:
            table[header_key(catalog(locale).ugettext(f.label))] = f.name
    return table


def _column_scores(survey: ColumnSurvey, index: int) -> dict[str, float]:
    key = header_key(survey.header[index])
    scores: dict[str, float] = {}
    if key:
        for spelling, score, _index in process.extract(key, list(_names()), scorer=fuzz.WRatio, limit=5):
            name = _names()[spelling]
            if score >= COLUMN_SCORE:
                scores[name] = max(scores.get(name, 0.0), score)
    values = [k for k in survey.values[index] if k]
    if values:
        for name in CODES:
            share = sum(1 for v in values if known_code(name, v) is not None) / len(values)
            if share >= RECOGNISED_SHARE:
                scores[name] = max(scores.get(name, 0.0), 80 + 20 * share)
    return scores


def propose_columns(survey: ColumnSurvey, saved: Mapping | None = None) -> list[str]:
    """A field (or IGNORE) for each column: the saved mapping's choice if one is given, else
    our own recognition, else the best similar name, each field once."""
    header = saved.rename(survey.header) if saved else survey.header
    recognised, _unknown = columns_of(header, required=())
    proposal = [IGNORE] * len(survey.header)
    recognised = {name: index for name, index in recognised.items() if name in fields.NAMES}  # not SOURCE_REF
    for name, index in recognised.items():
        proposal[index] = name
    if saved:
        return proposal
    candidates = sorted(
        ((score, index, name) for index in range(len(survey.header)) if index not in recognised.values()
         for name, score in _column_scores(survey, index).items() if name not in recognised),
        reverse=True)
    taken = set(recognised)
    for _score, index, name in candidates:
        if name not in taken and proposal[index] == IGNORE:
            proposal[index] = name
            taken.add(name)
    return proposal


def propose_code(name: str, value: str, saved: Mapping | None = None) -> str | None:
    """The code proposed for an unrecognised value of coded field `name`, or None (leave it)."""
    if saved and (code := saved.value_map.get(name, {}).get(code_key(value))):
        return code
    found = process.extractOne(code_key(value), list(_synonyms(name)), scorer=fuzz.WRatio, score_cutoff=VALUE_SCORE)
    return _synonyms(name)[found[0]] if found else None
