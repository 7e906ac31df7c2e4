"""Content-addressed object storage: keys derive from the bytes' sha256, so no uploaded name can pick a path."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod

from dagster import ConfigurableResource

KEY_PATTERN = re.compile(r"^documents/[0-9a-f]{2}/[0-9a-f]{64}$")


def document_key(sha256: str) -> str:
    key = f"documents/{sha256[:2]}/{sha256}"
    check_key(key)
    return key


def check_key(key: str) -> None:
    if not KEY_PATTERN.match(key):
        raise ValueError(f"not a content-addressed object key: {key!r}")


class ObjectStore(ConfigurableResource, ABC):
    """Where uploaded bytes live."""

    @abstractmethod
    def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key``; storing the same key again is a no-op (same key, same bytes)."""

    @abstractmethod
    def get(self, key: str) -> bytes: ...

    @abstractmethod
    def exists(self, key: str) -> bool: ...
