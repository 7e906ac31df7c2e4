"""Visible text of an HTML page: scripts, styles and markup dropped, block structure kept as lines."""

from __future__ import annotations

import re

from bs4 import BeautifulSoup

INVISIBLE = ("script", "style", "noscript", "template", "head")
BLANK_RUNS = re.compile(r"\n\s*\n+")


def html_to_text(html: str) -> str:
    soup = BeautifulSoup(html, "html.parser")
    title = soup.title.get_text(strip=True) if soup.title else ""
    for tag in soup(INVISIBLE):
        tag.decompose()
    body = soup.get_text("\n", strip=True)
    text = f"{title}\n\n{body}" if title and not body.startswith(title) else body
    return BLANK_RUNS.sub("\n\n", text).strip()
