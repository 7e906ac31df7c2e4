"""The local parser extracts real text from each supported format and names what it cannot read."""

import pytest

from tvdb_resources.parsing.formats import UnparseableDocument, extract

from pathlib import Path

SAMPLES = Path(__file__).resolve().parents[3] / "samples"


def test_multi_page_pdf_gives_each_pages_text(make_pdf):
    result = extract(make_pdf(["First page about budgets.", "Second page about ledgers.", "Third."]), "r.pdf")
    assert result.mime == "application/pdf" and result.pages == 3
    assert "First page about budgets." in result.text and "Second page about ledgers." in result.text


def test_pdf_is_recognised_by_its_bytes_whatever_its_name(make_pdf):
    assert extract(make_pdf(["Named wrongly."]), "upload.bin").mime == "application/pdf"


def test_encrypted_pdf_is_refused_with_the_reason(make_pdf):
    with pytest.raises(UnparseableDocument, match="encrypted PDF"):
        extract(make_pdf(["secret"], password="pw"), "locked.pdf")


@pytest.mark.parametrize("data", [b"%PDF-1.7\n garbage \x00\x01", b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj"])
def test_corrupt_pdf_is_refused_with_the_reason(data):
    with pytest.raises(UnparseableDocument, match="corrupt PDF|no extractable text"):
        extract(data, "broken.pdf")


def test_markdown_and_text_keep_their_words():
    assert extract(b"# Title\n\nSome *words*.", "a.md").text == "# Title\n\nSome *words*."
    assert extract(b"plain words\r\nsecond line", "a.txt").text == "plain words\nsecond line"


def test_non_utf8_text_is_decoded_by_charset_detection():
    french = ("Le système de facturation calcule le coût réel de chaque requête, "
              "et l'opérateur vérifie les dépenses de la journée avant midi. ") * 4
    assert extract(french.encode("cp1252"), "notes.txt").text == french.strip()
    russian = "Система учёта расходов проверяет бюджет каждого сервиса перед вызовом. " * 4
    assert extract(russian.encode("cp1251"), "notes.txt").text == russian.strip()


@pytest.mark.parametrize("data", [bytes(range(256)) * 4, b"\x00\x00\x00text", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"])
def test_binary_junk_with_a_text_extension_is_refused(data):
    with pytest.raises(UnparseableDocument, match="binary content"):
        extract(data, "junk.txt")


def test_html_drops_scripts_styles_and_markup():
    html = b"<html><head><title>Status</title><style>p{}</style><script>alert(1)</script></head>" \
           b"<body><h1>Services</h1><p>All <b>healthy</b>.</p></body></html>"
    text = extract(html, "s.html").text
    assert text.startswith("Status") and "Services" in text and "healthy" in text
    assert "alert" not in text and "<" not in text and "p{}" not in text


def test_csv_rows_are_labelled_with_their_columns():
    text = extract(b"service,cost\nopenai,0.04\nllamaparse,4.50\n", "c.csv").text
    assert text.splitlines() == ["Columns: service, cost", "service: openai; cost: 0.04", "service: llamaparse; cost: 4.50"]


@pytest.mark.parametrize("name, data, reason", [
    ("empty.md", b"", "empty file"), ("blank.txt", b"  \n\n ", "no text"), ("a.docx", b"PK", "unsupported file type"),
    ("noext", b"hello", "unsupported file type (no extension)"),
])
def test_other_refusals(name, data, reason):
    with pytest.raises(UnparseableDocument, match=reason.replace("(", r"\(").replace(")", r"\)")):
        extract(data, name)


def test_every_bundled_sample_parses():
    results = {p.suffix: extract(p.read_bytes(), p.name) for p in SAMPLES.iterdir()}
    assert set(results) == {".pdf", ".md", ".txt", ".html", ".csv"}
    assert results[".pdf"].pages > 1
    assert all(len(r.text) > 200 for r in results.values())
