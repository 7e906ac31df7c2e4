"""Bounded concurrency that keeps order: at most ``width`` calls in flight, results yielded as inputs came."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def _outcome(future: Future) -> object:
    exc = future.exception()
    return exc if exc is not None else future.result()


def in_order(fn: Callable[[T], R], items: Iterable[T], width: int) -> Iterator[tuple[T, R | Exception]]:
    """``(item, fn(item) or the exception it raised)`` for each item. Items are drawn lazily, ``width`` ahead at
    most, so a generator that loads documents holds no more than ``width`` of them."""
    if width <= 1:
        for item in items:
            try:
                yield item, fn(item)
            except Exception as exc:  # noqa: BLE001 - handed to the caller with its item
                yield item, exc
        return
    with ThreadPoolExecutor(max_workers=width) as pool:
        window: deque[tuple[T, Future]] = deque()
        for item in items:
            window.append((item, pool.submit(fn, item)))
            if len(window) >= width:
                done_item, future = window.popleft()
                yield done_item, _outcome(future)
        while window:
            done_item, future = window.popleft()
            yield done_item, _outcome(future)
