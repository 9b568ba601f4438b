"""Encryption of personal fields at rest and keyed hashes for lookups.

Every personal value (message text, URNs, intake answers, names) is stored as a MultiFernet token;
the first key encrypts, all keys decrypt, so keys can be rotated. Equality lookups use an HMAC of
the value, never the value itself.
"""

from __future__ import annotations

import hashlib
import hmac

from cryptography.fernet import Fernet, MultiFernet


class DataCipher:
    def __init__(self, data_keys: list[str]) -> None:
        if not data_keys:
            raise ValueError("at least one data key is needed")
        self._fernet = MultiFernet([Fernet(k.encode()) for k in data_keys])

    def encrypt(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")

    def rotate(self, token: str) -> str:
        """Re-encrypt a token with the newest key."""
        return self._fernet.rotate(token.encode("ascii")).decode("ascii")


_cipher: DataCipher | None = None


def configure(data_keys: list[str]) -> None:
    """Install the process-wide cipher used by the encrypted column types."""
    global _cipher
    _cipher = DataCipher(data_keys)


def cipher() -> DataCipher:
    if _cipher is None:
        raise RuntimeError("data keys not configured; call bot.privacy.crypto.configure() first")
    return _cipher


def keyed_hash(key: bytes, value: str) -> str:
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()
