"""Free local text extraction: the mock parser, and the emulator's source of parsed text.

``extract`` picks the format from the bytes (PDF magic) and the file name's extension, and raises
``UnparseableDocument`` with a reason an operator can act on for anything it cannot turn into text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import PurePath

from tvdb.pricing import price_table

from .csv_table import csv_to_text
from .errors import UnparseableDocument
from .html_page import html_to_text
from .pdf import pdf_pages
from .text import decode_text

__all__ = ["Extraction", "UnparseableDocument", "extract", "detect_mime", "pdf_pages", "SUPPORTED_EXTENSIONS"]

PDF_MAGIC = b"%PDF-"
TEXT_MIMES = {
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".txt": "text/plain",
    ".text": "text/plain",
    ".html": "text/html",
    ".htm": "text/html",
    ".csv": "text/csv",
}
SUPPORTED_EXTENSIONS = frozenset({".pdf", *TEXT_MIMES})


@dataclass(frozen=True)
class Extraction:
    text: str
    pages: int
    mime: str


def detect_mime(data: bytes, filename: str) -> str:
    """The document's type from its first bytes and its extension; raises for what we do not parse."""
    suffix = PurePath(filename).suffix.lower()
    if data.startswith(PDF_MAGIC):
        return "application/pdf"
    if suffix == ".pdf":
        raise UnparseableDocument("corrupt PDF: the file does not start with a PDF header")
    if suffix in TEXT_MIMES:
        return TEXT_MIMES[suffix]
    shown = suffix or "(no extension)"
    raise UnparseableDocument(
        f"unsupported file type {shown}; supported: {', '.join(sorted(SUPPORTED_EXTENSIONS))}"
    )


def text_pages(text: str) -> int:
    """Billable pages of a text-like document, as the price table defines them."""
    return max(1, math.ceil(len(text) / price_table().chars_per_text_page))


def extract(data: bytes, filename: str) -> Extraction:
    if not data:
        raise UnparseableDocument("empty file")
    mime = detect_mime(data, filename)
    if mime == "application/pdf":
        pages = pdf_pages(data)
        text = "\n\n".join(pages).strip()
        if not text:
            raise UnparseableDocument("PDF has no extractable text (scanned images need OCR)")
        return Extraction(text=text, pages=len(pages), mime=mime)
    decoded = decode_text(data)
    if mime == "text/html":
        text = html_to_text(decoded)
    elif mime == "text/csv":
        text = csv_to_text(decoded)
    else:
        text = decoded.strip()
    if not text:
        raise UnparseableDocument("document has no text")
    return Extraction(text=text, pages=text_pages(text), mime=mime)
