from .base import EmbedInput, Embedder
from .local import LocalEmbedder

__all__ = ["EmbedInput", "Embedder", "LocalEmbedder"]
