"""The one retry loop of a paid call (the SDKs' own retries are switched off), honouring Retry-After."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from .errors import ServiceError

T = TypeVar("T")
log = logging.getLogger(__name__)


def with_retries(
    call: Callable[[], T],
    classify: Callable[[Exception], ServiceError],
    attempts: int = 3,
    base_delay: float = 0.5,
    max_delay: float = 20.0,
) -> T:
    """Run ``call``; on a retryable service error wait (Retry-After, else jittered backoff) and try again.

    Raises the classified ``ServiceError`` of the last attempt. Errors ``classify`` does not know propagate as they are.
    """
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except Exception as exc:  # noqa: BLE001 - classify decides what is ours to handle
            error = exc if isinstance(exc, ServiceError) else classify(exc)
            if error is None:
                raise
            if not error.retryable or attempt == attempts:
                raise error from None
            delay = error.retry_after if error.retry_after is not None else base_delay * 2 ** (attempt - 1)
            delay = min(max_delay, delay) * (1 + random.random() * 0.1)
            log.info("retrying after %.2fs (%s, attempt %d of %d)", delay, error.reason, attempt, attempts)
            time.sleep(delay)
    raise AssertionError("unreachable")
