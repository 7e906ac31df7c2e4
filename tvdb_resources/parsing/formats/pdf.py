"""PDF text through pypdf, with encrypted and corrupt files turned into clear reasons."""

from __future__ import annotations

import io
import logging

from pypdf import PdfReader
from pypdf.errors import PdfReadError, PyPdfError

from .errors import UnparseableDocument

# pypdf logs every recoverable oddity of a malformed file as a warning; the reason we raise is what matters.
logging.getLogger("pypdf").setLevel(logging.ERROR)


def pdf_pages(data: bytes) -> list[str]:
    """The text of each page."""
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise UnparseableDocument("encrypted PDF: remove the password before uploading")
        return [(page.extract_text() or "").strip() for page in reader.pages]
    except UnparseableDocument:
        raise
    except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError,
            RecursionError, OSError) as exc:
        raise UnparseableDocument(f"corrupt PDF: {type(exc).__name__}: {exc}"[:300]) from None
