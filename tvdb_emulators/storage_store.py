"""In-memory buckets and objects behind the Supabase Storage emulator, with Storage's own error names.

``StorageError`` carries the ``statusCode`` / ``error`` / ``message`` triple of the Storage API; the ``error`` is
what ``storage3`` reports as the exception's ``code`` (``exists()`` relies on ``not_found`` for a missing object).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class StorageError(Exception):
    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error, self.message = status, error, message

    def body(self) -> dict[str, str]:
        return {"statusCode": str(self.status), "error": self.error, "message": self.message}


def bucket_not_found() -> StorageError:
    return StorageError(404, "Bucket not found", "Bucket not found")


def object_not_found() -> StorageError:
    return StorageError(404, "not_found", "Object not found")


def duplicate() -> StorageError:
    return StorageError(409, "Duplicate", "The resource already exists")


@dataclass
class Bucket:
    id: str
    name: str
    public: bool
    file_size_limit: int | None
    allowed_mime_types: list[str] | None
    created: str
    updated: str


@dataclass
class StoredObject:
    id: str
    bucket: str
    name: str
    data: bytes
    content_type: str
    cache_control: str
    user_metadata: dict[str, Any] | None
    created: str
    updated: str
    etag: str = field(init=False)

    def __post_init__(self) -> None:
        self.etag = '"' + hashlib.md5(self.data, usedforsecurity=False).hexdigest() + '"'

    def metadata(self) -> dict[str, Any]:
        return {"eTag": self.etag, "size": len(self.data), "mimetype": self.content_type,
                "cacheControl": self.cache_control, "lastModified": self.updated,
                "contentLength": len(self.data), "httpStatusCode": 200}

    def row(self) -> dict[str, Any]:
        """The object as ``remove`` returns it (a storage.objects row)."""
        return {"bucket_id": self.bucket, "name": self.name, "id": self.id, "owner": "", "owner_id": "",
                "created_at": self.created, "updated_at": self.updated, "last_accessed_at": self.updated,
                "metadata": self.metadata(), "user_metadata": self.user_metadata, "version": self.id}


class StorageStore:
    def __init__(self, new_id: Callable[[], str], now: Callable[[], str]) -> None:
        self._lock = threading.Lock()
        self._new_id, self._now = new_id, now
        self.buckets: dict[str, Bucket] = {}
        self.objects: dict[tuple[str, str], StoredObject] = {}

    def bucket(self, bucket_id: str) -> Bucket:
        bucket = self.buckets.get(bucket_id)
        if bucket is None:
            raise bucket_not_found()
        return bucket

    def create_bucket(self, bucket_id: str, name: str, public: bool, file_size_limit: int | None,
                      allowed_mime_types: list[str] | None) -> Bucket:
        with self._lock:
            if bucket_id in self.buckets:
                raise duplicate()
            now = self._now()
            bucket = Bucket(bucket_id, name, public, file_size_limit, allowed_mime_types, now, now)
            self.buckets[bucket_id] = bucket
            return bucket

    def update_bucket(self, bucket_id: str, **changes: Any) -> None:
        with self._lock:
            bucket = self.bucket(bucket_id)
            for key, value in changes.items():
                setattr(bucket, key, value)
            bucket.updated = self._now()

    def empty_bucket(self, bucket_id: str) -> None:
        with self._lock:
            self.bucket(bucket_id)
            for key in [k for k in self.objects if k[0] == bucket_id]:
                del self.objects[key]

    def delete_bucket(self, bucket_id: str) -> None:
        with self._lock:
            self.bucket(bucket_id)
            if any(k[0] == bucket_id for k in self.objects):
                raise StorageError(409, "InvalidRequest", "The bucket you tried to delete is not empty")
            del self.buckets[bucket_id]

    def put(self, bucket_id: str, name: str, data: bytes, content_type: str, cache_control: str,
            user_metadata: dict[str, Any] | None, upsert: bool, must_exist: bool = False) -> StoredObject:
        with self._lock:
            bucket = self.bucket(bucket_id)
            if not name or name.endswith("/") or "//" in name:
                raise StorageError(400, "InvalidKey", f"Invalid key: {name}")
            if bucket.file_size_limit is not None and len(data) > bucket.file_size_limit:
                raise StorageError(413, "Payload too large", "The object exceeded the maximum allowed size")
            if bucket.allowed_mime_types and content_type.split(";")[0].strip() not in bucket.allowed_mime_types:
                raise StorageError(415, "invalid_mime_type", f"mime type {content_type} is not supported")
            existing = self.objects.get((bucket_id, name))
            if existing is not None and not upsert:
                raise duplicate()
            if existing is None and must_exist:
                raise object_not_found()
            now = self._now()
            stored = StoredObject(existing.id if existing else self._new_id(), bucket_id, name, data, content_type,
                                  cache_control, user_metadata, existing.created if existing else now, now)
            self.objects[(bucket_id, name)] = stored
            return stored

    def get(self, bucket_id: str, name: str) -> StoredObject:
        with self._lock:
            self.bucket(bucket_id)
            stored = self.objects.get((bucket_id, name))
            if stored is None:
                raise object_not_found()
            return stored

    def remove(self, bucket_id: str, names: list[str]) -> list[StoredObject]:
        with self._lock:
            self.bucket(bucket_id)
            return [self.objects.pop((bucket_id, n)) for n in names if (bucket_id, n) in self.objects]

    def list(self, bucket_id: str, prefix: str, search: str, sort_column: str, descending: bool
             ) -> list[dict[str, Any]]:
        """The entries directly under ``prefix``: objects, and folders (``id`` null) for deeper names."""
        with self._lock:
            self.bucket(bucket_id)
            folder = prefix.strip("/")
            folder = folder + "/" if folder else ""
            files: dict[str, StoredObject] = {}
            folders: set[str] = set()
            for (b, name), stored in self.objects.items():
                if b != bucket_id or not name.startswith(folder):
                    continue
                rest = name[len(folder):]
                head, slash, _ = rest.partition("/")
                if not head.lower().startswith(search.lower()):
                    continue
                if slash:
                    folders.add(head)
                else:
                    files[head] = stored
        entries = [{"name": f, "id": None, "updated_at": None, "created_at": None, "last_accessed_at": None,
                    "metadata": None} for f in folders]
        entries += [{"name": n, "id": o.id, "updated_at": o.updated, "created_at": o.created,
                     "last_accessed_at": o.updated, "metadata": o.metadata()} for n, o in files.items()]
        column = sort_column if sort_column in ("name", "created_at", "updated_at", "last_accessed_at") else "name"
        return sorted(entries, key=lambda e: (e[column] is None, e[column] or ""), reverse=descending)
