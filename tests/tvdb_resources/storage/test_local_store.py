import pytest

from tvdb.hashing import sha256_bytes
from tvdb_resources.storage import LocalObjectStore, document_key


def test_put_get_exists_round_trip(tmp_path):
    store = LocalObjectStore(root=str(tmp_path))
    key = document_key(sha256_bytes(b"data"))
    assert not store.exists(key)
    store.put(key, b"data")
    store.put(key, b"data")  # idempotent
    assert store.exists(key) and store.get(key) == b"data"
    assert (tmp_path / key).is_file()
    assert not list(tmp_path.rglob(".incoming-*"))


@pytest.mark.parametrize("key", ["../etc/passwd", "documents/../../x", "documents/ab/" + "g" * 64, "/abs/path", ""])
def test_keys_that_are_not_content_addresses_are_refused(tmp_path, key):
    store = LocalObjectStore(root=str(tmp_path))
    with pytest.raises(ValueError, match="content-addressed"):
        store.put(key, b"x")


def test_missing_object_is_a_key_error(tmp_path):
    with pytest.raises(KeyError):
        LocalObjectStore(root=str(tmp_path)).get(document_key("0" * 64))
