from .base import EmbedInput, Embedder, Vector
from .local import LocalEmbedder

__all__ = ["EmbedInput", "Embedder", "LocalEmbedder", "Vector"]
