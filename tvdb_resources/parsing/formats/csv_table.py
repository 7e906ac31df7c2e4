"""A CSV table as text that embeds well: one line per row, each value labelled with its column."""

from __future__ import annotations

import csv
import io

from .errors import UnparseableDocument


def csv_to_text(text: str) -> str:
    sample = text[:8192]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    rows = [row for row in csv.reader(io.StringIO(text), dialect) if any(cell.strip() for cell in row)]
    if not rows:
        raise UnparseableDocument("CSV has no rows")
    header, body = rows[0], rows[1:]
    if not body:
        return ", ".join(header)
    lines = [f"Columns: {', '.join(header)}"]
    for row in body:
        cells = (f"{name}: {value}" for name, value in zip(header, row, strict=False) if value.strip())
        lines.append("; ".join(cells))
    return "\n".join(lines)
