"""Supabase Storage emulator: the ``/storage/v1/`` API that ``supabase.create_client(url, key).storage`` calls.

Objects: upload ``POST /object/{bucket}/{path}`` (multipart ``file`` or a raw body; ``x-upsert``), update ``PUT``,
download ``GET /object/{bucket}/{path}`` (and ``/object/authenticated/...``), info ``GET /object/info/...``
(behind ``exists()``), list ``POST /object/list/{bucket}``, remove ``DELETE /object/{bucket}``.
Buckets: list, get, create, update, empty, delete under ``/bucket``.
Auth: the ``apiKey`` header and ``Authorization: Bearer`` must both carry the key. Errors are
``{"statusCode", "error", "message"}`` with an HTTP status equal to ``statusCode``. The store is in memory.
Billing records bytes uploaded (storage) and downloaded (egress), the two things Storage meters.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .base import ApiError, ApiRoute, Call, Emulator
from .knobs import Knobs
from .storage_store import StorageError, StorageStore, StoredObject

STATUS_NAMES = {500: "internal", 503: "Service Unavailable", 504: "Gateway Timeout", 429: "too_many_requests",
                401: "Unauthorized"}


class SupabaseKnobs(Knobs):
    """The shared fault knobs; ``api_key`` is the project key (anon or service role) the client is created with."""


class SupabaseEmulator(Emulator):
    name = "supabase"
    knobs_model = SupabaseKnobs
    billing_unit = "bytes"
    billing_group = "operation"

    def reset_state(self) -> None:
        self.store = StorageStore(lambda: self.ids.new("object"), self.iso_time)

    def api_routes(self) -> list[ApiRoute]:
        s = "/storage/v1"
        return [
            ApiRoute(f"{s}/bucket", "bucket.list", ("GET",), self.list_buckets),
            ApiRoute(f"{s}/bucket", "bucket.create", ("POST",), self.create_bucket),
            ApiRoute(f"{s}/bucket/{{bucket}}", "bucket.get", ("GET",), self.get_bucket),
            ApiRoute(f"{s}/bucket/{{bucket}}", "bucket.update", ("PUT",), self.update_bucket),
            ApiRoute(f"{s}/bucket/{{bucket}}", "bucket.delete", ("DELETE",), self.delete_bucket),
            ApiRoute(f"{s}/bucket/{{bucket}}/empty", "bucket.empty", ("POST",), self.empty_bucket),
            ApiRoute(f"{s}/object/list/{{bucket}}", "object.list", ("POST",), self.list_objects),
            ApiRoute(f"{s}/object/info/{{bucket}}/{{path:path}}", "object.info", ("GET",), self.info),
            ApiRoute(f"{s}/object/authenticated/{{bucket}}/{{path:path}}", "object.download", ("GET",),
                     self.download),
            ApiRoute(f"{s}/object/{{bucket}}", "object.remove", ("DELETE",), self.remove),
            ApiRoute(f"{s}/object/{{bucket}}/{{path:path}}", "object.upload", ("POST",), self.upload),
            ApiRoute(f"{s}/object/{{bucket}}/{{path:path}}", "object.update", ("PUT",), self.update),
            ApiRoute(f"{s}/object/{{bucket}}/{{path:path}}", "object.download", ("GET",), self.download),
        ]

    def error_body(self, status: int, kind: str, message: str) -> Any:
        return {"statusCode": str(status), "error": STATUS_NAMES.get(status, kind), "message": message}

    def presented_key(self, request: Request) -> str | None:
        """The apiKey header, provided the bearer token matches it (the client sends the same key in both)."""
        bearer = super().presented_key(request)
        apikey = request.headers.get("apikey")
        return apikey if apikey and bearer == apikey else None

    def auth_error(self, request: Request) -> ApiError:
        message = "Invalid API key" if request.headers.get("apikey") else "No API key found in request"
        return ApiError(401, self.error_body(401, "Unauthorized", message))

    # ---- buckets ---------------------------------------------------------------------------------------------

    def _bucket_view(self, bucket_id: str) -> dict[str, Any]:
        b = self.store.bucket(bucket_id)
        return {"id": b.id, "name": b.name, "owner": "", "public": b.public, "created_at": b.created,
                "updated_at": b.updated, "file_size_limit": b.file_size_limit,
                "allowed_mime_types": b.allowed_mime_types, "type": "STANDARD"}

    async def list_buckets(self, call: Call) -> Response:
        return JSONResponse([self._bucket_view(b) for b in list(self.store.buckets)])

    async def get_bucket(self, call: Call) -> Response:
        with storage_errors():
            return JSONResponse(self._bucket_view(call.request.path_params["bucket"]))

    async def create_bucket(self, call: Call) -> Response:
        body = await _json(call.request)
        bucket_id = body.get("id") or body.get("name")
        with storage_errors():
            if not bucket_id:
                raise StorageError(400, "InvalidRequest", "body must have required property 'name'")
            self.store.create_bucket(bucket_id, body.get("name") or bucket_id, bool(body.get("public", False)),
                                     body.get("file_size_limit"), body.get("allowed_mime_types"))
        return JSONResponse({"name": bucket_id})

    async def update_bucket(self, call: Call) -> Response:
        body = await _json(call.request)
        changes = {k: body[k] for k in ("public", "file_size_limit", "allowed_mime_types") if k in body}
        with storage_errors():
            self.store.update_bucket(call.request.path_params["bucket"], **changes)
        return JSONResponse({"message": "Successfully updated"})

    async def empty_bucket(self, call: Call) -> Response:
        with storage_errors():
            self.store.empty_bucket(call.request.path_params["bucket"])
        return JSONResponse({"message": "Successfully emptied"})

    async def delete_bucket(self, call: Call) -> Response:
        with storage_errors():
            self.store.delete_bucket(call.request.path_params["bucket"])
        return JSONResponse({"message": "Successfully deleted"})

    # ---- objects ---------------------------------------------------------------------------------------------

    async def upload(self, call: Call) -> Response:
        upsert = call.request.headers.get("x-upsert", "false").lower() == "true"
        return await self._put(call, upsert=upsert, must_exist=False)

    async def update(self, call: Call) -> Response:
        return await self._put(call, upsert=True, must_exist=True)

    async def _put(self, call: Call, upsert: bool, must_exist: bool) -> Response:
        bucket, path = call.request.path_params["bucket"], call.request.path_params["path"]
        data, content_type, cache_control, metadata = await _object_body(call.request)
        with storage_errors():
            stored = self.store.put(bucket, path, data, content_type, cache_control, metadata,
                                    upsert=upsert, must_exist=must_exist)
        self._meter(call, "upload", f"{bucket}/{path}", len(data))
        return JSONResponse({"Id": stored.id, "Key": f"{bucket}/{path}"})

    async def download(self, call: Call) -> Response:
        stored = self._object(call)
        self._meter(call, "download", f"{stored.bucket}/{stored.name}", len(stored.data))
        return Response(stored.data, media_type=stored.content_type,
                        headers={"etag": stored.etag, "cache-control": stored.cache_control,
                                 "last-modified": stored.updated})

    async def info(self, call: Call) -> Response:
        o = self._object(call)
        return JSONResponse({"id": o.id, "name": o.name, "version": o.id, "bucket_id": o.bucket,
                             "size": len(o.data), "content_type": o.content_type, "cache_control": o.cache_control,
                             "etag": o.etag, "metadata": o.user_metadata, "last_modified": o.updated,
                             "created_at": o.created})

    async def list_objects(self, call: Call) -> Response:
        body = await _json(call.request)
        sort = body.get("sortBy") or {}
        limit, offset = int(body.get("limit", 100)), int(body.get("offset", 0))
        with storage_errors():
            entries = self.store.list(call.request.path_params["bucket"], body.get("prefix") or "",
                                      body.get("search") or "", sort.get("column", "name"),
                                      str(sort.get("order", "asc")).lower() == "desc")
        return JSONResponse(entries[offset:offset + limit])

    async def remove(self, call: Call) -> Response:
        body = await _json(call.request)
        prefixes = body.get("prefixes")
        with storage_errors():
            if not isinstance(prefixes, list):
                raise StorageError(400, "InvalidRequest", "body must have required property 'prefixes'")
            removed = self.store.remove(call.request.path_params["bucket"], prefixes)
        return JSONResponse([o.row() for o in removed])

    def _object(self, call: Call) -> StoredObject:
        with storage_errors():
            return self.store.get(call.request.path_params["bucket"], call.request.path_params["path"])

    def _meter(self, call: Call, operation: str, key: str, size: int) -> None:
        self.ledger.charge(size, {"request_id": call.request_id, "operation": operation, "object": key,
                                  "at": self.iso_time()})


@contextmanager
def storage_errors() -> Iterator[None]:
    """Answer a StorageError from the store as the Storage API's error response."""
    try:
        yield
    except StorageError as exc:
        raise ApiError(exc.status, exc.body()) from None


async def _json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = json.loads(raw) if raw else {}
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise ApiError(400, StorageError(400, "InvalidRequest", "the body must be a JSON object").body())
    return body


async def _object_body(request: Request) -> tuple[bytes, str, str, Any]:
    """(bytes, content type, cache control, user metadata) from a multipart upload or a raw body."""
    content_type = request.headers.get("content-type", "application/octet-stream")
    if not content_type.startswith("multipart/form-data"):
        cache = request.headers.get("cache-control", "max-age=3600")
        return await request.body(), content_type, cache, None
    form = await request.form()
    upload = form.get("file") or next((v for v in form.values() if isinstance(v, UploadFile)), None)
    if not isinstance(upload, UploadFile):
        raise ApiError(400, StorageError(400, "InvalidRequest", "the multipart body has no file part").body())
    cache_seconds = form.get("cacheControl") or "3600"
    raw_metadata = form.get("metadata")
    metadata = json.loads(raw_metadata) if isinstance(raw_metadata, str) else None
    part_type = upload.content_type or "application/octet-stream"
    return await upload.read(), part_type, f"max-age={cache_seconds}", metadata
