"""Bad input at the door: each refused file is a failed upload with a reason, and nothing leaves the storage root."""

import os

import pytest
from sqlalchemy import select

from tvdb.db.models import UploadJob
from tvdb.pipeline.intake import Intake, unsafe_filename_reason


@pytest.fixture
def intake(services):
    return Intake(services.sessions, services.store, max_bytes=1024)


@pytest.mark.parametrize(
    "name, data, reason",
    [
        ("empty.txt", b"", "empty file"),
        ("../../etc/passwd", b"root:x:0:0", "unsafe file name"),
        ("..\\..\\boot.ini", b"x", "unsafe file name"),
        ("bell\x07.txt", b"x", "control characters"),
        ("big.txt", b"a" * 2048, "over the 0.0 MB upload limit"),
        ("report.docx", b"PK\x03\x04", "unsupported file type .docx"),
        ("scan.pdf", b"not a pdf", "corrupt PDF"),
    ],
)
def test_refused_files_are_failed_uploads_with_a_reason(intake, services, name, data, reason):
    batch = intake.open_batch("test")
    result = intake.add_bytes(batch, name, data, "test")
    assert result.status == "failed"
    assert reason in result.error
    with services.sessions() as session:
        job = session.get(UploadJob, result.upload_id)
    assert (job.status, job.error, job.storage_key) == ("failed", result.error, None)


def test_stored_bytes_are_content_addressed_inside_the_root(intake, services, tvdb_env):
    batch = intake.open_batch("test")
    first = intake.add_bytes(batch, "a.txt", b"same bytes", "test")
    second = intake.add_bytes(batch, "b.txt", b"same bytes", "test")
    assert first.sha256 == second.sha256
    assert first.status == "stored"
    root = tvdb_env / "objects"
    stored = [os.path.join(d, f) for d, _, files in os.walk(root) for f in files]
    assert stored == [str(root / "documents" / first.sha256[:2] / first.sha256)]


def test_a_traversal_name_writes_nothing_anywhere(intake, tmp_path):
    before = set(tmp_path.rglob("*"))
    intake.add_bytes(intake.open_batch("test"), "../../../../tmp/evil.txt", b"payload", "test")
    created = {p for p in set(tmp_path.rglob("*")) - before if p.is_file()}
    assert not any(p.read_bytes() == b"payload" for p in created)
    assert not os.path.exists("/tmp/evil.txt") or open("/tmp/evil.txt", "rb").read() != b"payload"


def test_oversized_file_on_disk_is_refused_before_it_is_read(intake, tmp_path, services):
    path = tmp_path / "huge.txt"
    path.write_bytes(b"x" * 4096)
    result = intake.add_file(intake.open_batch("test"), path)
    assert result.status == "failed" and "4096" not in result.error and "upload limit" in result.error
    with services.sessions() as session:
        assert session.scalar(select(UploadJob.size_bytes).where(UploadJob.id == result.upload_id)) == 4096


def test_unreadable_file_is_a_failed_upload(intake, tmp_path):
    result = intake.add_file(intake.open_batch("test"), tmp_path / "missing.txt")
    assert result.status == "failed" and "cannot read file" in result.error


@pytest.mark.parametrize("name", ["report.pdf", "notes (final).md", "données.txt"])
def test_ordinary_names_are_safe(name):
    assert unsafe_filename_reason(name) is None
