"""Object storage on the local filesystem, under one root directory."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from tvdb import settings

from .base import ObjectStore, check_key


class LocalObjectStore(ObjectStore):
    root: str = ""  # empty: $TVDB_OBJECT_STORE_ROOT or .tvdb/objects

    def _root(self) -> Path:
        return Path(self.root).resolve() if self.root else settings.object_store_root()

    def _path(self, key: str) -> Path:
        check_key(key)
        root = self._root()
        path = (root / key).resolve()
        if not path.is_relative_to(root):  # defence in depth: the key pattern already forbids this
            raise ValueError(f"object key {key!r} escapes the storage root")
        return path

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)  # atomic: readers never see a half-written object
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise KeyError(f"no object {key!r} in the local store") from None

    def exists(self, key: str) -> bool:
        return self._path(key).exists()
