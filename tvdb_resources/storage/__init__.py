from .base import ObjectStore, document_key
from .local import LocalObjectStore
from .supabase import CorruptObjectError, SupabaseAuthError, SupabaseObjectStore, SupabaseStorageError

__all__ = [
    "CorruptObjectError", "LocalObjectStore", "ObjectStore", "SupabaseAuthError", "SupabaseObjectStore",
    "SupabaseStorageError", "document_key",
]
