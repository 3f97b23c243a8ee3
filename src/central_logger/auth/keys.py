"""The key format: `cl_<8 hex>_<secret>`. The first part is the public prefix that
names a key in lists and logs; the secret carries 256 bits of entropy."""

from __future__ import annotations

import hashlib
import re
import secrets

KEY_PREFIX_MARK = "cl_"
# What generate_key makes: a presented key of any other shape is not in the database.
_STORED_KEY_SHAPE = re.compile(r"cl_[0-9a-f]{8}_[A-Za-z0-9_-]{43}")


def generate_key() -> tuple[str, str]:
    """A new key and its prefix."""
    prefix = KEY_PREFIX_MARK + secrets.token_hex(4)
    return f"{prefix}_{secrets.token_urlsafe(32)}", prefix


def hash_key(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()


def display_prefix(key: str) -> str:
    """What may be shown of any key, ours or one from API_KEYS: never the secret."""
    if key.startswith(KEY_PREFIX_MARK) and len(key) > 11:
        return key[:11]
    return key[:4] + "…"


def is_stored_key_shape(key: str) -> bool:
    """Whether `key` could be one generate_key made (API_KEYS' keys may be anything)."""
    return _STORED_KEY_SHAPE.fullmatch(key) is not None
