from .base import DocumentParser, ParsedText, SourceDocument, UnparseableDocument
from .local import LocalParser

__all__ = ["DocumentParser", "LocalParser", "ParsedText", "SourceDocument", "UnparseableDocument"]
