"""Bytes to text: UTF-8 when it is, otherwise the charset charset-normalizer detects; binary junk is refused."""

from __future__ import annotations

from charset_normalizer import from_bytes

from .errors import UnparseableDocument

# Share of control characters (other than tab, newline, carriage return, form feed) above which text is junk.
MAX_CONTROL_SHARE = 0.01


def _looks_binary(text: str) -> bool:
    controls = sum(1 for ch in text if ch < " " and ch not in "\t\n\r\f")
    return controls > MAX_CONTROL_SHARE * max(1, len(text))


def decode_text(data: bytes) -> str:
    if b"\x00" in data:
        raise UnparseableDocument("binary content: the file contains NUL bytes, it is not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        best = from_bytes(data).best()
        if best is None:
            raise UnparseableDocument("binary content: no text encoding fits the bytes") from None
        text = str(best)
    if _looks_binary(text):
        raise UnparseableDocument("binary content: too many control characters for a text file")
    return text.replace("\r\n", "\n")
