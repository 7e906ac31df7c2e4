from .base import ObjectStore, document_key
from .local import LocalObjectStore

__all__ = ["ObjectStore", "LocalObjectStore", "document_key"]
