from tvdb.tokens import count_tokens, encode


def test_cl100k_counts_are_the_real_encodings():
    # Known cl100k_base encodings: a different encoding would give other ids.
    assert encode("hello world") == [15339, 1917]
    assert count_tokens("") == 0


def test_special_token_text_is_counted_as_plain_text():
    assert count_tokens("<|endoftext|>") > 1
