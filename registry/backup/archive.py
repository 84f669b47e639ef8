"""The backup file: a tar of `manifest.json`, then the payload; written to a temporary file
beside PATH (0600) and moved into place, so a backup is either whole or absent."""
from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

FORMAT = 1  # the manifest's layout; a restore refuses any other
MANIFEST = "manifest.json"
MANIFEST_MAX_BYTES = 1 << 20
CHUNK = 1 << 20
DATABASES = ("sqlite", "postgresql")


class BackupRefused(Exception):
    """A backup or restore that must not go on; the message says why (never a person's data)."""


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as payload:
        while chunk := payload.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _owned_by_nobody(member: tarfile.TarInfo) -> tarfile.TarInfo:
    """Members carry no user names or ids of the machine that made them."""
    return member.replace(uid=0, gid=0, uname="", gname="", mode=0o600, deep=False)


def write(path: Path, manifest: dict[str, Any], payload: Path, *, force: bool) -> dict[str, Any]:
    """Write manifest + payload to `path` atomically; returns the manifest as written (with the
    payload's name, size and SHA-256)."""
    manifest = {**manifest, "payload": {"name": payload.name, "bytes": payload.stat().st_size,
                                        "sha256": file_digest(payload)}}
    text = json.dumps(manifest, indent=1, sort_keys=True, ensure_ascii=False).encode()
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")  # mode 0600
    try:
        with os.fdopen(fd, "wb") as raw:
            with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
                info = _owned_by_nobody(tarfile.TarInfo(MANIFEST))
                info.size, info.mtime = len(text), int(payload.stat().st_mtime)
                tar.addfile(info, io.BytesIO(text))
                tar.add(payload, arcname=payload.name, filter=_owned_by_nobody)
            raw.flush()
            os.fsync(raw.fileno())
        _move_into_place(Path(temporary), path, force)
    finally:
        Path(temporary).unlink(missing_ok=True)
    return manifest


def _move_into_place(temporary: Path, path: Path, force: bool) -> None:
    if force:
        os.replace(temporary, path)
    else:
        try:
            os.link(temporary, path)  # atomic, and never over a file that appeared meanwhile
        except FileExistsError:
            raise BackupRefused(f"{path} exists: give another name, or --force to replace it") from None
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # the new name survives a power cut
    finally:
        os.close(directory)


@dataclass
class Opened:
    manifest: dict[str, Any]
    tar: tarfile.TarFile
    payload: tarfile.TarInfo


def _damaged(path: Path, why: str) -> BackupRefused:
    return BackupRefused(f"{path.name}: {why}; nothing was restored. Use another copy of the backup.")


@contextmanager
def opened(path: Path) -> Iterator[Opened]:
    """The archive's manifest and payload entry, checked for shape (not yet for content)."""
    if not path.is_file():
        raise BackupRefused(f"{path}: no such file")
    try:
        tar = tarfile.open(path, mode="r:")
    except (tarfile.TarError, OSError):
        raise _damaged(path, "not a registry backup (not a tar archive), or damaged") from None
    with tar:
        try:
            first = tar.next()
            if first is None or first.name != MANIFEST or not first.isfile() or first.size > MANIFEST_MAX_BYTES:
                raise _damaged(path, f"not a registry backup (no {MANIFEST} first)")
            manifest = json.loads(tar.extractfile(first).read())  # type: ignore[union-attr]
            _check(path, manifest)
            member = tar.next()
        except (tarfile.TarError, OSError, EOFError, ValueError):
            raise _damaged(path, "the archive is damaged or truncated") from None
        name = manifest["payload"]["name"]
        if member is None or member.name != name or not member.isfile():
            raise _damaged(path, f"the payload {name} is missing (a truncated file?)")
        if member.size != manifest["payload"]["bytes"]:
            raise _damaged(path, f"the payload holds {member.size} bytes, the manifest says {manifest['payload']['bytes']}")
        yield Opened(manifest, tar, member)


def _check(path: Path, manifest: Any) -> None:
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise _damaged(path, f"not a registry backup of format {FORMAT}")
    payload = manifest.get("payload")
    if (manifest.get("database") not in DATABASES or not isinstance(manifest.get("tables"), dict)
            or not isinstance(payload, dict) or not isinstance(payload.get("name"), str)
            or not isinstance(payload.get("bytes"), int) or not isinstance(payload.get("sha256"), str)):
        raise _damaged(path, "its manifest is incomplete")


def payload_chunks(backup: Opened) -> Iterator[bytes]:
    """The payload's bytes as stored; at the end, BackupRefused if they are fewer than the
    manifest says or their SHA-256 differs (read to the end before trusting what came)."""
    expected = backup.manifest["payload"]
    reader = backup.tar.extractfile(backup.payload)
    assert reader is not None
    digest, total = hashlib.sha256(), 0
    while True:
        try:
            chunk = reader.read(CHUNK)
        except (tarfile.TarError, OSError, EOFError):
            raise BackupRefused(f"the payload {expected['name']} is truncated; nothing was restored") from None
        if not chunk:
            break
        digest.update(chunk)
        total += len(chunk)
        yield chunk
    if total != expected["bytes"] or digest.hexdigest() != expected["sha256"]:
        raise BackupRefused(f"the payload {expected['name']} is damaged (its SHA-256 is not the manifest's);"
                            " nothing was restored. Use another copy of the backup.")


def check_payload(backup: Opened) -> None:
    """Read the whole payload once: BackupRefused unless it is exactly what was written."""
    for _chunk in payload_chunks(backup):
        pass
