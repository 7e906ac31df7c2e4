"""What the three emulators share: the request pipeline with its faults, the admin API, and the run-time state.

Every API request goes through ``Emulator.dispatch``:

1. ``latency_ms`` is waited out;
2. inside an outage window the answer is 503;
3. a missing or wrong key is the provider's 401;
4. one fault is drawn (``faults.FaultInjector``): ``server_error`` -> 500, scripted ``rate_limit`` -> 429 with
   Retry-After, ``timeout`` before processing -> hang, then 504 -- in all three nothing is processed or billed;
5. the handler runs (it validates, applies rate limits and quotas, does the work and bills it);
6. ``timeout`` after processing holds the (billed) response back for ``hang_s`` or until the client leaves;
   ``malformed`` corrupts the (billed) response body.

The admin API under ``/_emulator/`` bypasses all of that.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .billing import BillingLedger
from .clock import Clock
from .faults import FaultInjector, outage_remaining
from .ids import IdFactory
from .journal import Entry, RequestJournal
from .knobs import Knobs, patched
from .ratelimit import RateLimiter, retry_after_headers

log = logging.getLogger("tvdb_emulators")

RATE_LIMIT_KNOBS = ("rate_limit_requests", "rate_limit_tokens", "rate_limit_window_s")


class ApiError(Exception):
    """An error answer in the provider's own body shape; raise it from a handler."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}

    def response(self) -> Response:
        return JSONResponse(self.body, status_code=self.status, headers=self.headers)


@dataclass
class Call:
    """One API request as a handler sees it."""

    request: Request
    request_id: str
    route: str
    knobs: Any  # the emulator's Knobs subclass, read once so a request sees one consistent configuration
    headers: dict[str, str] = field(default_factory=dict)  # added to the response, error or not


Handler = Callable[[Call], Awaitable[Response]]


@dataclass(frozen=True)
class ApiRoute:
    path: str
    name: str
    methods: tuple[str, ...]
    handler: Handler


class Emulator:
    """Base of the emulators; a subclass names its knobs, billing unit, error bodies and routes."""

    name: ClassVar[str]
    knobs_model: ClassVar[type[Knobs]]
    billing_unit: ClassVar[str]
    billing_group: ClassVar[str]
    api_prefix: ClassVar[str] = ""  # appended to the server URL to give the SDK's base_url

    def __init__(self, **knobs: Any) -> None:
        self.clock = Clock()
        self.startup_knobs = self._checked(self.knobs_model(**knobs))
        self.knobs = self.startup_knobs.model_copy(update={"next_faults": []})  # the script lives in the injector
        self.ledger = BillingLedger(self.billing_unit, self.billing_group)
        self.journal = RequestJournal()
        self.faults = FaultInjector(self.knobs.seed)
        self.ids = IdFactory(self.knobs.seed)
        self.limiter = self._limiter(self.knobs)
        self.faults.script(self.knobs.next_faults)
        self._lock = threading.Lock()
        self._idle = threading.Condition()
        self._in_flight = 0
        self.closing = False  # set by the server on shutdown so hung requests let go
        self.reset_state()
        self.app = Starlette(routes=self._admin_routes() + [self._route(r) for r in self.api_routes()])

    # ---- for subclasses -------------------------------------------------------------------------------------

    def api_routes(self) -> list[ApiRoute]:
        raise NotImplementedError

    def error_body(self, status: int, kind: str, message: str) -> Any:
        """The provider's error body; kind: server_error | unavailable | rate_limited | gateway_timeout |
        unauthorized."""
        raise NotImplementedError

    def presented_key(self, request: Request) -> str | None:
        """The key the client sent (None if none); the default reads ``Authorization: Bearer``."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return None
        return token.strip() or None

    def auth_error(self, request: Request) -> ApiError:
        return ApiError(401, self.error_body(401, "unauthorized", "Invalid API key"))

    def reset_state(self) -> None:
        """Forget stored jobs, files, objects (subclasses extend)."""

    def billing(self) -> dict[str, Any]:
        return self.ledger.snapshot()

    def requests(self) -> list[dict[str, Any]]:
        """The request journal (also ``GET /_emulator/requests``)."""
        return self.journal.entries()

    # ---- knobs and admin ------------------------------------------------------------------------------------

    def _limiter(self, knobs: Knobs) -> RateLimiter:
        return RateLimiter(
            knobs.rate_limit_requests, knobs.rate_limit_tokens, knobs.rate_limit_window_s, self.clock.now
        )

    def _checked(self, knobs: Knobs) -> Knobs:
        unknown = sorted(set(knobs.fault_routes or ()) - set(self.route_names()))
        if unknown:
            raise ValueError(f"unknown fault_routes {unknown}; routes: {self.route_names()}")
        return knobs

    def configure(self, **patch: Any) -> Knobs:
        """Change knobs at run time (the same as ``POST /_emulator/config``); raises ValueError (pydantic's
        ValidationError is one) for an unknown knob or an impossible value."""
        with self._lock:
            old = self.knobs
            new = self._checked(patched(old, patch, self.clock.now()))
            if "next_faults" in patch:
                self.faults.script(new.next_faults)
            new = new.model_copy(update={"next_faults": []})
            if new.seed != old.seed:
                self.faults.reseed(new.seed)
                self.ids.reseed(new.seed)
            if any(getattr(new, k) != getattr(old, k) for k in RATE_LIMIT_KNOBS):
                self.limiter = self._limiter(new)
            self.knobs = new
        log.info("%s emulator knobs changed: %s", self.name, sorted(patch))
        return new

    def reset(self, keep_knobs: bool = False) -> None:
        """Forget billing, requests and stored state; restore start-up knobs unless ``keep_knobs``."""
        with self._lock:
            if not keep_knobs:
                self.knobs = self.startup_knobs.model_copy(update={"next_faults": []})
                self.faults.script(self.startup_knobs.next_faults)
            self.clock.reset()
            self.ledger.reset()
            self.journal.reset()
            self.faults.reseed(self.knobs.seed)
            self.ids.reseed(self.knobs.seed)
            self.limiter = self._limiter(self.knobs)
            self.reset_state()

    def iso_time(self, clock_s: float | None = None) -> str:
        """ISO 8601 UTC time of a moment on the emulator clock (now by default), as responses show times."""
        wall = self.clock.wall() if clock_s is None else self.clock.wall() - (self.clock.now() - clock_s)
        return datetime.fromtimestamp(wall, tz=UTC).isoformat().replace("+00:00", "Z")

    def config_view(self) -> dict[str, Any]:
        return {**self.knobs.public(), "next_faults": self.faults.scripted()}

    def route_names(self) -> list[str]:
        return list(dict.fromkeys(route.name for route in self.api_routes()))

    def _admin_routes(self) -> list[Route]:
        async def get_config(request: Request) -> Response:
            return JSONResponse(self.config_view())

        async def post_config(request: Request) -> Response:
            self.configure(**await admin_body(request))
            return JSONResponse(self.config_view())

        async def reset(request: Request) -> Response:
            self.reset(keep_knobs=bool((await admin_body(request)).get("keep_knobs", False)))
            return JSONResponse({"reset": True, "config": self.config_view()})

        async def clock(request: Request) -> Response:
            self.clock.advance(float((await admin_body(request)).get("advance_s", 0)))
            return JSONResponse({"now_s": self.clock.now(), "wall": self.clock.wall()})

        async def billing(request: Request) -> Response:
            return JSONResponse(self.billing())

        async def requests(request: Request) -> Response:
            return JSONResponse({"requests": self.requests()})

        async def routes(request: Request) -> Response:
            return JSONResponse({"emulator": self.name, "routes": self.route_names()})

        async def knobs(request: Request) -> Response:
            fields = self.knobs_model.model_fields
            return JSONResponse({name: {"default": self.knobs_model().model_dump(mode="json")[name],
                                        "description": field.description} for name, field in fields.items()})

        return [
            Route("/_emulator/config", get_config, methods=["GET"]),
            Route("/_emulator/config", admin_errors(post_config), methods=["POST"]),
            Route("/_emulator/reset", admin_errors(reset), methods=["POST"]),
            Route("/_emulator/clock", admin_errors(clock), methods=["POST"]),
            Route("/_emulator/billing", billing, methods=["GET"]),
            Route("/_emulator/requests", requests, methods=["GET"]),
            Route("/_emulator/routes", routes, methods=["GET"]),
            Route("/_emulator/knobs", knobs, methods=["GET"]),
        ]

    # ---- the request pipeline -------------------------------------------------------------------------------

    def _route(self, route: ApiRoute) -> Route:
        async def endpoint(request: Request) -> Response:
            return await self.dispatch(request, route)

        return Route(route.path, endpoint, methods=list(route.methods), name=route.name)

    async def dispatch(self, request: Request, route: ApiRoute) -> Response:
        with self._idle:
            self._in_flight += 1
        try:
            return await self._answer(request, route)
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Wait until no API request is being handled; False if some still are after ``timeout``.

        A client that gave up (a timeout) leaves its request running here; waiting before ``reset`` keeps that
        request from billing into the next test."""
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout)

    async def _answer(self, request: Request, route: ApiRoute) -> Response:
        started = time.monotonic()
        knobs = self.knobs
        call = Call(request, self.ids.new("request"), route.name, knobs)
        fault = "ok"
        if knobs.latency_ms:
            await asyncio.sleep(knobs.latency_ms / 1000)
        remaining = outage_remaining(knobs, self.clock.now())
        if remaining is not None:
            fault = "outage"
            response = self._fault_response(503, "unavailable", "The service is temporarily unavailable.")
        elif not self._authorised(request, knobs):
            response = self.auth_error(request).response()
        else:
            fault = self.faults.draw(knobs, route.name)
            response = await self._run(call, route, fault)
        for name, value in {**call.headers, "x-request-id": call.request_id}.items():
            response.headers[name] = value
        entry = Entry(
            request_id=call.request_id,
            route=route.name,
            method=request.method,
            path=request.url.path,
            status=response.status_code,
            fault=fault,
            retry_count=request.headers.get("x-stainless-retry-count"),
            at=self.clock.now(),
            duration_ms=round((time.monotonic() - started) * 1000, 3),
        )
        self.journal.record(entry)
        log.debug("%s %s %s -> %s (%s)", self.name, request.method, route.name, response.status_code, fault)
        return response

    def _authorised(self, request: Request, knobs: Knobs) -> bool:
        presented = self.presented_key(request)
        return bool(presented) and (knobs.api_key is None or presented == knobs.api_key)

    async def _run(self, call: Call, route: ApiRoute, fault: str) -> Response:
        knobs = call.knobs
        if fault == "server_error":
            return self._fault_response(500, "server_error", "The server had an error processing your request.")
        if fault == "outage":
            return self._fault_response(503, "unavailable", "The service is temporarily unavailable.")
        if fault == "rate_limit":
            call.headers.update(retry_after_headers(knobs.injected_retry_after_ms / 1000))
            return self._fault_response(429, "rate_limited", "Rate limit reached; please retry later.")
        if fault == "timeout" and knobs.timeout_phase == "before_processing":
            await call.request.body()  # read it so that only a disconnect is left to receive
            await self.hang(call.request, knobs.hang_s)
            return self._fault_response(504, "gateway_timeout", "The request timed out before it was processed.")
        try:
            response = await route.handler(call)
        except ApiError as exc:
            call.headers.update(exc.headers)
            response = exc.response()
        except Exception:
            log.exception("%s emulator failed on %s", self.name, route.name)
            return self._fault_response(500, "server_error", "The emulator failed; see its log.")
        if fault == "timeout":
            self.ledger.annotate(call.request_id, delivery="hung")
            stayed = await self.hang(call.request, knobs.hang_s)
            self.ledger.annotate(call.request_id, delivery="timeout" if not stayed else "late")
        elif fault == "malformed":
            response = corrupted(response, knobs.malformed_mode)
            self.ledger.annotate(call.request_id, delivery="malformed")
        return response

    def _fault_response(self, status: int, kind: str, message: str) -> Response:
        return JSONResponse(self.error_body(status, kind, message), status_code=status)

    async def hang(self, request: Request, seconds: float) -> bool:
        """Hold the request; True if the client was still waiting at the end, False if it gave up."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not self.closing:
            if await request.is_disconnected():
                return False
            await asyncio.sleep(0.02)
        return not self.closing


async def admin_body(request: Request) -> dict[str, Any]:
    body = json.loads(await request.body() or b"{}")
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    return body


def admin_errors(endpoint: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    """An admin endpoint whose bad input (invalid knobs, broken JSON) is a 400 with the reason."""

    async def guarded(request: Request) -> Response:
        try:
            return await endpoint(request)
        except ValidationError as exc:
            return JSONResponse({"error": "invalid knobs", "details": json.loads(exc.json())}, 400)
        except (ValueError, TypeError) as exc:
            return JSONResponse({"error": str(exc)}, 400)

    return guarded


def corrupted(response: Response, mode: str) -> Response:
    """The response with its body broken the way a truncating proxy or an error page would break it."""
    body = bytes(response.body)
    headers = {k: v for k, v in response.headers.items() if k.lower() not in ("content-length", "content-type")}
    if mode == "not_json":
        return Response(b"<html><body><h1>502 Bad Gateway</h1></body></html>", response.status_code,
                        headers, media_type="text/html")
    content = b"" if mode == "empty" else body[: max(1, len(body) // 2)]
    return Response(content, response.status_code, headers, media_type=response.media_type or "application/json")
