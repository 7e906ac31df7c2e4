"""Object storage in a Supabase Storage bucket, through the official ``supabase`` client.

Keys are content addresses (``documents/ab/<sha256>``), so an object never changes once written: ``put`` uploads
without upsert and takes "already exists" as success, and ``get`` checks the downloaded bytes against the sha256
in the key (storage3 hands back a truncated body as if it were whole).

The service role key is a secret: it is left out of the resource's repr, and every message this module writes
(exceptions, log lines) is built from the bucket, the object key and the storage API's answer, with the key
masked should a server ever echo it. Errors are raised ``from None`` so a logged traceback carries no SDK
exception either.

One client per process and configuration: Dagster builds a fresh resource instance for every run, so the client
(its HTTP connection pool, and whether the bucket is known to exist) lives in a module-level cache keyed by the
process id, the URL, the timeout and a digest of the key -- never the key itself.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import Field

from .base import ObjectStore, check_key

if TYPE_CHECKING:  # the SDK is imported on first use: the local store should not pay for it
    import httpx
    from storage3._sync.file_api import SyncBucketProxy
    from supabase import Client

log = logging.getLogger(__name__)

T = TypeVar("T")

UPLOAD_OPTIONS = {"content-type": "application/octet-stream", "upsert": "false"}
_AUTH_CODES = {"unauthorized", "invalidjwt", "invalid_jwt", "accessdenied", "access_denied", "forbidden"}


class SupabaseStorageError(RuntimeError):
    """A Supabase Storage call failed. The message names the bucket and the object key, never the service key.

    ``retryable`` says whether the same call may succeed later (timeouts, 5xx, 429, unreadable answers, corrupt
    downloads) or cannot (refused credentials, other 4xx, bad configuration).
    """

    def __init__(self, message: str, *, bucket: str, key: str | None, status: int | None = None,
                 code: str | None = None, retryable: bool = False) -> None:
        super().__init__(message)
        self.bucket, self.key, self.status, self.code, self.retryable = bucket, key, status, code, retryable


class SupabaseAuthError(SupabaseStorageError):
    """The storage API refused the service role key (401/403): retrying cannot help."""


class CorruptObjectError(SupabaseStorageError):
    """A download's bytes do not hash to the key's sha256 (a truncated or substituted body)."""


@dataclass
class _Connection:
    client: Client
    http: httpx.Client
    ready_buckets: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


_connections: dict[tuple[int, str, float, str], _Connection] = {}
_connections_lock = threading.Lock()


def close_clients() -> None:
    """Close and forget every cached client (for tests, or a process shutting down)."""
    with _connections_lock:
        connections = list(_connections.values())
        _connections.clear()
    for connection in connections:
        connection.http.close()


class SupabaseObjectStore(ObjectStore):
    """Content-addressed objects in one private Supabase Storage bucket, created on first use."""

    url: str = Field(description="the project URL, e.g. https://<project>.supabase.co")
    service_role_key: str = Field(
        repr=False, description="the service role key; pass EnvVar('SUPABASE_SERVICE_ROLE_KEY'), never a literal"
    )
    bucket: str = Field("documents", description="the bucket holding the objects; created (private) if missing")
    timeout_seconds: float = Field(30, description="HTTP timeout of each storage call, in seconds (may be < 1)")

    # ---- ObjectStore -------------------------------------------------------------------------------------------

    def put(self, key: str, data: bytes) -> None:
        check_key(key)
        actual = hashlib.sha256(data).hexdigest()
        if actual != _key_sha256(key):
            raise ValueError(f"object key {key!r} is not the content address of these bytes (sha256 {actual})")
        from storage3.exceptions import StorageApiError

        def upload(objects: SyncBucketProxy) -> None:
            try:
                objects.upload(key, data, dict(UPLOAD_OPTIONS))
            except StorageApiError as exc:
                if not _is_duplicate(exc):
                    raise
                # Same key, same bytes: the object is already there, which is all put promises.

        self._call("upload the object", key, upload)

    def get(self, key: str) -> bytes:
        check_key(key)
        from storage3.exceptions import StorageApiError

        def download(objects: SyncBucketProxy) -> bytes | None:
            try:
                return objects.download(key)
            except StorageApiError as exc:
                if _is_missing_object(exc):
                    return None
                raise

        data = self._call("download the object", key, download)
        if data is None:
            raise KeyError(f"no object {key!r} in Supabase Storage bucket {self.bucket!r}")
        actual = hashlib.sha256(data).hexdigest()
        if actual != _key_sha256(key):
            raise CorruptObjectError(
                f"Supabase Storage returned corrupt bytes for {key!r} in bucket {self.bucket!r}: "
                f"{len(data)} bytes hashing to {actual}, not to the key's sha256 (truncated or altered download)",
                bucket=self.bucket, key=key, retryable=True,
            )
        return data

    def exists(self, key: str) -> bool:
        check_key(key)
        from storage3.exceptions import StorageApiError

        def info(objects: SyncBucketProxy) -> bool:
            try:
                objects.info(key)
                return True
            except StorageApiError as exc:
                if _is_missing_object(exc):
                    return False
                raise

        return self._call("look up the object", key, info)

    # ---- the client, the bucket, the error mapping ---------------------------------------------------------------

    def _call(self, action: str, key: str, operation: Callable[[SyncBucketProxy], T]) -> T:
        """Run ``operation`` on the bucket (made sure to exist first), translating failures."""
        from storage3.exceptions import StorageApiError

        connection = self._connection(key)
        for attempt in (1, 2):
            self._ensure_bucket(connection, key)
            try:
                return operation(connection.client.storage.from_(self.bucket))
            except Exception as exc:  # noqa: BLE001 - _translate decides what is ours
                if attempt == 1 and isinstance(exc, StorageApiError) and _is_missing_bucket(exc):
                    # Gone since this process checked (deleted, emptied project): create it again, try once more.
                    log.warning("Supabase Storage bucket %r disappeared; creating it again", self.bucket)
                    connection.ready_buckets.discard(self.bucket)
                    continue
                error = self._translate(action, key, exc)
                if error is None:
                    raise
                raise error from None
        raise AssertionError("unreachable")

    def _connection(self, key: str | None) -> _Connection:
        if not self.bucket:
            raise self._config_error("the bucket name is empty", key)
        if not self.timeout_seconds > 0:
            raise self._config_error(f"timeout_seconds must be positive, not {self.timeout_seconds}", key)
        digest = hashlib.sha256(self.service_role_key.encode()).hexdigest()
        cache_key = (os.getpid(), self.url, float(self.timeout_seconds), digest)
        connection = _connections.get(cache_key)
        if connection is not None:
            return connection
        with _connections_lock:
            connection = _connections.get(cache_key)
            if connection is None:
                connection = _connections[cache_key] = self._connect(key)
        return connection

    def _connect(self, key: str | None) -> _Connection:
        import httpx
        from supabase import create_client
        from supabase.lib.client_options import SyncClientOptions

        # storage3's own storage_client_timeout goes through int(): 0.5 s would become 0. A client of our own keeps
        # the float, with the settings storage3 gives the client it builds itself.
        http = httpx.Client(timeout=httpx.Timeout(float(self.timeout_seconds)), follow_redirects=True, http2=True)
        options = SyncClientOptions(httpx_client=http, auto_refresh_token=False, persist_session=False)
        try:
            client = create_client(self.url, self.service_role_key, options)
        except Exception as exc:  # noqa: BLE001 - supabase's SupabaseException: bad URL, empty key
            http.close()
            reason = _redact(getattr(exc, "message", None) or str(exc), self.service_role_key)
            raise self._config_error(f"the Supabase client cannot be created for {self.url!r}: {reason}", key) \
                from None
        log.debug("Supabase Storage client for %s (timeout %gs)", self.url, self.timeout_seconds)
        return _Connection(client, http)

    def _ensure_bucket(self, connection: _Connection, key: str | None) -> None:
        """Create the bucket unless this process has seen it: once per process, not once per call."""
        if self.bucket in connection.ready_buckets:
            return
        from storage3.exceptions import StorageApiError

        with connection.lock:
            if self.bucket in connection.ready_buckets:
                return
            storage = connection.client.storage
            try:
                storage.get_bucket(self.bucket)
                found = True
            except Exception as exc:  # noqa: BLE001
                if not (isinstance(exc, StorageApiError) and _is_missing_bucket(exc)):
                    self._reraise("check the bucket", key, exc)
                found = False
            if not found:
                try:
                    storage.create_bucket(self.bucket, options={"public": False})
                    log.info("created the private Supabase Storage bucket %r", self.bucket)
                except Exception as exc:  # noqa: BLE001
                    if not (isinstance(exc, StorageApiError) and _is_duplicate(exc)):  # lost a race: as good
                        self._reraise("create the bucket", key, exc)
            connection.ready_buckets.add(self.bucket)

    def _reraise(self, action: str, key: str | None, exc: Exception) -> None:
        """Raise ``exc`` translated (from None, so no SDK exception rides along), or as it is if it is not ours."""
        error = self._translate(action, key, exc)
        if error is None:
            raise exc
        raise error from None

    def _config_error(self, reason: str, key: str | None) -> SupabaseStorageError:
        return SupabaseStorageError(f"Supabase Storage is misconfigured (bucket {self.bucket!r}): {reason}",
                                    bucket=self.bucket, key=key)

    def _translate(self, action: str, key: str | None, exc: Exception) -> SupabaseStorageError | None:
        """The failure as a SupabaseStorageError naming bucket and key; None for anything not the SDK's."""
        import httpx
        from storage3.exceptions import StorageApiError
        from storage3.utils import StorageException

        where = f"bucket {self.bucket!r}" + (f", key {key!r}" if key else "")
        secret = self.service_role_key
        status: int | None = None
        code: str | None = None
        if isinstance(exc, StorageApiError):
            status, code = _status(exc), str(exc.code)
            detail = f"HTTP {status if status is not None else exc.status} {code}: {_redact(str(exc.message), secret)}"
            if status in (401, 403) or code.lower() in _AUTH_CODES:
                return SupabaseAuthError(
                    f"Supabase Storage refused the service role key while trying to {action} ({where}): {detail}",
                    bucket=self.bucket, key=key, status=status, code=code,
                )
            # InternalError is storage3's name for an error answer it could not parse (a proxy's page, a cut body).
            retryable = status is None or status in (408, 429) or status >= 500 or code == "InternalError"
        elif isinstance(exc, httpx.TimeoutException):
            detail, retryable = f"no answer within {self.timeout_seconds:g}s ({type(exc).__name__})", True
        elif isinstance(exc, httpx.HTTPError):
            detail, retryable = f"{type(exc).__name__}: {_redact(str(exc), secret)}", True
        elif isinstance(exc, (ValueError, KeyError, TypeError)):  # a 2xx whose body is not what the SDK expects
            detail, retryable = f"unreadable answer ({type(exc).__name__})", True
        elif isinstance(exc, StorageException):
            detail, retryable = f"{type(exc).__name__}: {_redact(str(exc), secret)}", False
        else:
            return None
        return SupabaseStorageError(f"Supabase Storage could not {action} ({where}): {detail}",
                                    bucket=self.bucket, key=key, status=status, code=code, retryable=retryable)


def _key_sha256(key: str) -> str:
    return key.rsplit("/", 1)[-1]


def _redact(text: str, secret: str) -> str:
    return text.replace(secret, "***") if secret else text


def _status(exc: Any) -> int | None:
    """The error's HTTP status: storage3 takes it from the body's ``statusCode``, a string or an int."""
    try:
        return int(str(exc.status))
    except (TypeError, ValueError):
        return None


def _text(exc: Any) -> str:
    return f"{exc.code} {exc.message}".lower()


def _is_duplicate(exc: Any) -> bool:
    return _status(exc) == 409 or str(exc.code).lower() == "duplicate" or "already exists" in _text(exc)


def _is_missing_bucket(exc: Any) -> bool:
    return _status(exc) == 404 and "bucket" in _text(exc)


def _is_missing_object(exc: Any) -> bool:
    """A 404 for the object itself: not the bucket's, and not an error answer storage3 could not read."""
    return _status(exc) == 404 and "bucket" not in _text(exc) and str(exc.code) != "InternalError"
