"""Stable identifiers: hashes of content and names, never of input order."""

from __future__ import annotations

import hashlib


def stable_hash(*parts: str, size: int = 8) -> str:
    """Hex digest of the parts (joined by NUL) - the same on every machine and Python version."""
    digest = hashlib.blake2b("\x00".join(parts).encode("utf-8", "surrogatepass"), digest_size=size)
    return digest.hexdigest()


def article_id_for(source: str) -> str:
    """The id of an article that has no id of its own: a hash of its source path or URL."""
    return stable_hash("article", source)
