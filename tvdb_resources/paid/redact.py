"""Keep secrets out of messages: provider error texts can echo a key back (OpenAI's 401 quotes part of it)."""

from __future__ import annotations

import re

KEY_LIKE = re.compile(r"\b(sk|llx|sb|eyJ)[-_A-Za-z0-9.]{8,}")
MAX_MESSAGE = 300


def redact(text: str, *secrets: str | None) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    return KEY_LIKE.sub("[redacted]", text)[:MAX_MESSAGE]
