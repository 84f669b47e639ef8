"""Write Khmer translations into the catalog: `python scripts/add_khmer.py FILE.json`.

FILE.json maps English msgids to their Khmer text (a plural entry by its singular msgid: Khmer
has one form). Only untranslated (or fuzzy) entries are filled, unless --replace is given;
then run `make translations` to compile.
"""
import json
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

PO = Path(__file__).resolve().parent.parent / "registry/translations/km/LC_MESSAGES/messages.po"

texts = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
replace = "--replace" in sys.argv
with PO.open("rb") as fh:
    catalog = read_po(fh, locale="km")
unknown = [msgid for msgid in texts if msgid not in catalog]
if unknown:
    sys.exit(f"not in the catalog (run `make translations` first): {unknown}")
def key(message):  # the singular msgid of a plural entry
    return message.id[0] if isinstance(message.id, tuple) else message.id


def done(message) -> bool:
    return all(message.string) if isinstance(message.string, tuple) else bool(message.string)


for message in catalog:
    if key(message) in texts and (replace or not done(message) or "fuzzy" in message.flags):
        text = texts[key(message)]
        message.string = (text,) * catalog.num_plurals if isinstance(message.id, tuple) else text
        message.flags.discard("fuzzy")
with PO.open("wb") as fh:
    write_po(fh, catalog, no_location=True, sort_output=True)
missing = [m.id for m in catalog if m.id and not done(m)]
print(f"{len(texts)} given; {len(missing)} still untranslated" + (f": {missing}" if missing else ""))
