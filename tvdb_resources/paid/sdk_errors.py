"""Exceptions of the Stainless-generated SDKs (openai, llama_cloud), classified: retry, fall back, and whether the
request was billed. Both SDKs share the exception names, so one classifier serves both."""

from __future__ import annotations

from types import ModuleType

import httpx

from .errors import Billed, RateLimited, ServiceError, ServiceUnavailable
from .redact import redact


def _retry_after(response: httpx.Response | None) -> float | None:
    if response is None:
        return None
    for header, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = response.headers.get(header)
        if value:
            try:
                return float(value) * scale
            except ValueError:
                continue
    return None


def _unknown_outcome(message: str) -> ServiceError:
    # It may have been billed: a retry under the same hold could pay twice, so it is not retried here.
    error = ServiceError(message, billed=Billed.UNKNOWN)
    error.retryable = False
    return error


def classify_sdk_error(exc: Exception, sdk: ModuleType, provider: str, api_key: str | None) -> ServiceError | None:
    if isinstance(exc, sdk.RateLimitError):
        if getattr(exc, "code", None) == "insufficient_quota":
            return ServiceUnavailable(f"{provider}: insufficient_quota (the account is out of credit)")
        return RateLimited(f"{provider}: 429 rate limited", retry_after=_retry_after(exc.response))
    if isinstance(exc, (sdk.AuthenticationError, sdk.PermissionDeniedError)):
        return ServiceUnavailable(f"{provider} rejected the API key ({exc.status_code})", reason="unauthorized")
    if isinstance(exc, sdk.APIStatusError):
        if exc.status_code == 402:
            return ServiceUnavailable(f"{provider}: 402 payment required (out of credits)")
        code = getattr(exc, "code", None) or ""
        message = f"{provider}: {exc.status_code} {code} {redact(str(exc.message), api_key)}"
        error = ServiceError(" ".join(message.split()), retry_after=_retry_after(exc.response))
        error.retryable = exc.status_code >= 500 or exc.status_code in (408, 409)
        return error
    if isinstance(exc, sdk.APITimeoutError):
        return _unknown_outcome(f"{provider}: request timed out")
    if isinstance(exc, sdk.APIConnectionError):
        if isinstance(exc.__cause__, httpx.ConnectError):
            return ServiceError(f"{provider}: connection refused")  # nothing was sent: retryable, not billed
        return _unknown_outcome(f"{provider}: connection lost mid-request")
    if isinstance(exc, (ValueError, sdk.APIResponseValidationError)):  # openai raises JSONDecodeError as is
        return _unknown_outcome(f"{provider}: unreadable response body")
    return None
