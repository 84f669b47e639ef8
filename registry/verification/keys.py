"""Verification tokens: what a certificate's QR code holds, checked before any database look-up.

    token = base64url(key id (1 byte) ‖ verification id (12 bytes) ‖ MAC (11 bytes))   32 characters
    MAC   = HMAC-SHA256(K_id, "certificate-verification" ‖ key id ‖ verification id), first 88 bits
    K_id  = HKDF-SHA256(VERIFICATION_SECRET, salt "registry certificate verification", info "key <id>")

The token says nothing by itself (a random id, no number, no date); a forged or altered one
fails the MAC (2^-88 a guess, and guesses are rate-limited). Keys are derived per key id, so
rotating is a configuration change: VERIFICATION_KEY_IDS lists the current id first, then the
ids still accepted; a token under an id no longer listed whose MAC holds is *retired* (the
holder asks for a new certificate), never valid. See the README's "Certificate verification".
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from registry.verification.models import ID_BYTES

MAC_BYTES = 11
TOKEN_LENGTH = 32  # (1 + ID_BYTES + MAC_BYTES) bytes in base64url: 24 bytes, no padding
_TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")
_SALT = b"registry certificate verification"
_LABEL = b"certificate-verification"


class NotValid(ValueError):
    """Not a token this registry made (malformed, altered or forged)."""


class Retired(ValueError):
    """A genuine token under a key id no longer accepted: the holder needs a new certificate."""


def hkdf_sha256(secret: bytes, *, salt: bytes, info: bytes, length: int = 32) -> bytes:
    """RFC 5869 HKDF with SHA-256 (extract, then expand)."""
    prk = hmac.new(salt, secret, hashlib.sha256).digest()
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out, counter = out + block, counter + 1
    return out[:length]


@dataclass(frozen=True)
class KeyRing:
    secret: bytes
    key_ids: tuple[int, ...]  # current first

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> KeyRing:
        return cls(config["VERIFICATION_SECRET"].encode(), tuple(config["VERIFICATION_KEY_IDS"]))

    @property
    def current(self) -> int:
        return self.key_ids[0]

    def _mac(self, key_id: int, verification_id: bytes) -> bytes:
        key = hkdf_sha256(self.secret, salt=_SALT, info=b"key %d" % key_id)
        return hmac.new(key, _LABEL + bytes([key_id]) + verification_id, hashlib.sha256).digest()[:MAC_BYTES]

    def token(self, verification_id: str, key_id: int | None = None) -> str:
        """The token for a stored verification id (base64url, as the table holds it)."""
        key_id = self.current if key_id is None else key_id
        raw = base64.urlsafe_b64decode(verification_id)
        assert len(raw) == ID_BYTES
        return base64.urlsafe_b64encode(bytes([key_id]) + raw + self._mac(key_id, raw)).decode()

    def read(self, token: str) -> tuple[str, int]:
        """(verification id, key id) of a genuine token under an accepted key id.

        Raises NotValid (malformed, altered, forged) or Retired (genuine, key id retired)."""
        if not _TOKEN.fullmatch(token):
            raise NotValid(token)
        raw = base64.urlsafe_b64decode(token)  # 32 characters: exactly 24 bytes, one spelling
        key_id, verification_id, mac = raw[0], raw[1:1 + ID_BYTES], raw[1 + ID_BYTES:]
        if key_id == 0 or not hmac.compare_digest(mac, self._mac(key_id, verification_id)):
            raise NotValid(token)
        if key_id not in self.key_ids:
            raise Retired(token)
        return base64.urlsafe_b64encode(verification_id).decode(), key_id
