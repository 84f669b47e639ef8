"""`import-actors --mapping NAME` / `--mapping-file FILE`: the mapping a command-line import applies,
and what a file that needs one lacks, said in the terminal."""
from __future__ import annotations

import json
from pathlib import Path

import click
from sqlalchemy.orm import Session

from registry.i18n import translate
from registry.imports import mappings
from registry.imports.errors import UnusableFile
from registry.imports.mapping_rules import Mapping, header_signature, parse_mapping
from registry.imports.services import NeedsMapping

MAPPING_FILE_BYTES = 1024 * 1024


def chosen_mapping(session: Session, name: str | None, mapping_file: Path | None, province_code: str | None,
                   locale: str) -> tuple[Mapping | None, int | None]:
    """The mapping given on the command line (a saved one visible to the --by account, or a
    JSON file of the same shape), and the saved one's id."""
    if name and mapping_file:
        raise click.UsageError("give --mapping or --mapping-file, not both")
    if name:
        saved = mappings.by_name(session, name, province_code)
        if saved is None:
            raise click.ClickException(f"--mapping: no saved mapping “{name}” visible to this account (see --by)")
        return mappings.as_mapping(saved), saved.id
    if mapping_file:
        try:
            if mapping_file.stat().st_size > MAPPING_FILE_BYTES:
                raise click.ClickException(f"{mapping_file.name}: a mapping file is at most 1 MB")
            data = json.loads(mapping_file.read_text(encoding="utf-8-sig"))
            return parse_mapping(data), None
        except (OSError, ValueError) as error:
            if isinstance(error, UnusableFile):
                raise click.ClickException(f"{mapping_file.name}: {translate(error.message, locale, **error.params)}") from None
            raise click.ClickException(f"{mapping_file.name}: not a JSON mapping file ({error})") from None
    return None, None


def needs_mapping_text(session: Session, error: NeedsMapping, province_code: str | None, filename: str) -> str:
    """What the file lacks, and the saved mappings of its header this account may use."""
    lines = [f"{filename}: some columns or values are not ours; give a mapping (--mapping NAME or --mapping-file FILE)."]
    if error.unmatched.missing:
        lines.append("  no column for: " + ", ".join(error.unmatched.missing))
        lines.append("  the file's columns: " + ", ".join(c for c in error.header if c.strip()))
    for name, values in error.unmatched.values.items():
        lines.append(f"  {name}: values not recognised: " + ", ".join(values))
    saved = mappings.visible_for(session, province_code, header_signature(error.header))
    if saved:
        lines.append("  saved mappings for this header: " + ", ".join(m.name for m in saved))
    return "\n".join(lines)
