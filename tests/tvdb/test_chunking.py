import pytest

from tvdb.chunking import Chunker
from tvdb.tokens import count_tokens, encode

TEXT = " ".join(f"Sentence number {i} talks about budgets, ledgers and parsers." for i in range(300))


def test_windows_have_the_configured_size_and_overlap():
    chunker = Chunker(size_tokens=100, overlap_tokens=20)
    chunks = chunker.split(TEXT)
    total = count_tokens(TEXT)
    assert len(chunks) == -(-(total - 20) // 80)  # ceil((total - overlap) / step)
    assert all(c.token_count <= 100 for c in chunks)
    assert all(c.token_count == count_tokens(c.text) for c in chunks)
    first, second = encode(chunks[0].text), encode(chunks[1].text)
    assert first[-20:] == second[:20]  # the overlap is the last 20 tokens of the previous window


def test_short_text_is_one_chunk_identical_to_the_text():
    assert [c.text for c in Chunker(512, 64).split("A short note.")] == ["A short note."]


def test_no_chunk_exceeds_the_model_limit_even_when_size_equals_it():
    chunker = Chunker(size_tokens=50, overlap_tokens=0, max_input_tokens=50)
    assert all(c.token_count <= 50 for c in chunker.split("ünïcödé " * 400 + "数据 " * 400))


def test_window_edges_do_not_invent_replacement_characters():
    chunks = Chunker(size_tokens=7, overlap_tokens=2).split("数据管道的成本控制 " * 50)
    assert chunks and all("\ufffd" not in c.text for c in chunks)


@pytest.mark.parametrize(
    "size, overlap, limit, message",
    [(0, 0, 8192, "at least one token"), (100, 100, 8192, "overlap"), (9000, 10, 8192, "exceeds the embedding model")],
)
def test_invalid_settings_are_refused(size, overlap, limit, message):
    with pytest.raises(ValueError, match=message):
        Chunker(size, overlap, limit)


def test_signature_names_the_settings():
    assert Chunker(256, 32).signature == "cl100k:256:32"
