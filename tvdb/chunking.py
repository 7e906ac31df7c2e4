"""Token-aware chunking: windows of cl100k_base tokens with overlap, never longer than the embedding model accepts."""

from __future__ import annotations

from dataclasses import dataclass

from .tokens import encode, encoding


@dataclass(frozen=True)
class ChunkText:
    text: str
    token_count: int


@dataclass(frozen=True)
class Chunker:
    size_tokens: int = 512
    overlap_tokens: int = 64
    max_input_tokens: int = 8192

    def __post_init__(self) -> None:
        if self.size_tokens < 1:
            raise ValueError("chunk size must be at least one token")
        if not 0 <= self.overlap_tokens < self.size_tokens:
            raise ValueError(f"chunk overlap must be in [0, {self.size_tokens}), got {self.overlap_tokens}")
        if self.size_tokens > self.max_input_tokens:
            raise ValueError(
                f"chunk size {self.size_tokens} exceeds the embedding model's limit of {self.max_input_tokens} tokens"
            )

    @property
    def signature(self) -> str:
        """Names the chunking, so chunks made with other settings are kept apart."""
        return f"cl100k:{self.size_tokens}:{self.overlap_tokens}"

    def split(self, text: str) -> list[ChunkText]:
        tokens = encode(text)
        step = self.size_tokens - self.overlap_tokens
        chunks: list[ChunkText] = []
        start = 0
        while start < len(tokens):
            window = tokens[start : start + self.size_tokens]
            chunk = self._decode(window)
            if chunk.text.strip():
                chunks.append(chunk)
            if start + self.size_tokens >= len(tokens):
                break
            start += step
        return chunks

    def _decode(self, window: list[int]) -> ChunkText:
        # A window edge can cut a multi-byte character: drop the partial bytes rather than invent U+FFFD.
        text = encoding().decode_bytes(window).decode("utf-8", errors="ignore")
        count = len(encode(text))
        while count > self.max_input_tokens:  # re-encoding can merge differently; shrink until it fits
            window = window[: len(window) - max(1, len(window) // 100)]
            text = encoding().decode_bytes(window).decode("utf-8", errors="ignore")
            count = len(encode(text))
        return ChunkText(text=text, token_count=count)
