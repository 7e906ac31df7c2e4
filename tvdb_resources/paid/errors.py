"""What a failed paid call means for the caller: retry it, fall back, and whether the provider billed it."""

from __future__ import annotations

from enum import StrEnum


class Billed(StrEnum):
    NO = "no"  # refused before any work (4xx, 5xx): release the hold
    UNKNOWN = "unknown"  # timeout, lost connection, unreadable answer: settle at the reserved amount


class ServiceError(Exception):
    """A paid service failed this call. ``reason`` is the ledger's fallback reason in hybrid mode."""

    reason = "error"
    retryable = True
    fatal = False  # opens the circuit at once

    def __init__(
        self,
        message: str,
        billed: Billed = Billed.NO,
        retry_after: float | None = None,
        reason: str | None = None,
        retryable: bool | None = None,
    ):
        super().__init__(message)
        self.billed = billed
        self.retry_after = retry_after
        if reason is not None:
            self.reason = reason
        if retryable is not None:
            self.retryable = retryable


class RateLimited(ServiceError):
    reason = "rate_limited"


class ServiceUnavailable(ServiceError):
    """Out of quota or credits, bad key, no key: retrying cannot help, the service is unavailable."""

    reason = "quota"
    retryable = False
    fatal = True


class CircuitOpen(ServiceError):
    reason = "circuit_open"
    retryable = False
