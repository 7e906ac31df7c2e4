"""A synthetic corpus of mixed document types (PDF, Markdown, text, HTML, CSV), deterministic under a seed."""

from __future__ import annotations

import random
from pathlib import Path

WORDS = (
    "budget ledger invoice parser embedding chunk token vector search index document upload batch storage "
    "service fallback limit reservation settle retry quota latency throughput operator runbook webhook sensor "
    "schedule asset partition materialization daily weekly report cost price credit page tier model dimension "
    "health circuit breaker alert threshold spike recovery backup restore migration schema table column row"
).split()
KINDS = ("md", "txt", "html", "csv", "pdf")


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(6, 16))]
    return " ".join(words).capitalize() + f" {rng.randint(0, 99_999)}."


def _paragraphs(rng: random.Random, size: int) -> list[str]:
    paragraphs, total = [], 0
    while total < size:
        paragraph = " ".join(_sentence(rng) for _ in range(rng.randint(3, 8)))
        paragraphs.append(paragraph)
        total += len(paragraph) + 2
    return paragraphs


def _document(kind: str, rng: random.Random, size: int) -> bytes:
    if kind == "csv":
        rows = ["id,service,units,cost_usd,note"]
        while sum(len(r) for r in rows) < size:
            rows.append(f"{len(rows)},{rng.choice(('openai', 'llamaparse'))},{rng.randint(1, 10**6)},"
                        f"{rng.random() * 10:.4f},{_sentence(rng)}")
        return "\n".join(rows).encode()
    paragraphs = _paragraphs(rng, size)
    if kind == "md":
        return ("# " + _sentence(rng) + "\n\n" + "\n\n".join(paragraphs)).encode()
    if kind == "html":
        body = "".join(f"<p>{p}</p>" for p in paragraphs)
        return f"<html><head><title>{_sentence(rng)}</title></head><body>{body}</body></html>".encode()
    if kind == "pdf":
        from fpdf import FPDF

        pdf = FPDF()
        pdf.set_font("Helvetica", size=10)
        pdf.add_page()
        for paragraph in paragraphs:
            pdf.multi_cell(0, 5, paragraph, new_x="LMARGIN", new_y="NEXT")
        return bytes(pdf.output())
    return "\n\n".join(paragraphs).encode()


def write_corpus(folder: Path, count: int, seed: int = 7, min_bytes: int = 2_000, max_bytes: int = 20_000) -> Path:
    """``count`` documents of 2-20 KB of text each, cycling through the five kinds."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    for i in range(count):
        kind = KINDS[i % len(KINDS)]
        (folder / f"doc-{i:05d}.{kind}").write_bytes(_document(kind, rng, rng.randint(min_bytes, max_bytes)))
    return folder
