"""Make the English catalog complete: every msgid is its own English text (a plural entry:
its singular and its plural)."""
from pathlib import Path

from babel.messages.pofile import read_po, write_po

PO = Path(__file__).resolve().parent.parent / "registry/translations/en/LC_MESSAGES/messages.po"

with PO.open("rb") as fh:
    catalog = read_po(fh, locale="en")
for message in catalog:
    if isinstance(message.id, tuple):
        if not all(message.string):
            message.string = message.id
    elif message.id and not message.string:
        message.string = message.id
    message.flags.discard("fuzzy")
with PO.open("wb") as fh:
    write_po(fh, catalog, no_location=True, sort_output=True)
