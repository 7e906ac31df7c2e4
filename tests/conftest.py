"""Shared fixtures: an isolated TVDb home per test, on SQLite and on the machine's real PostgreSQL."""

from __future__ import annotations

import io
import logging
import os
import uuid
from pathlib import Path

import psycopg
import pytest
from pypdf import PdfWriter

from tvdb.db.engine import dispose_engine, session_factory

pytest_plugins = ["tvdb_emulators.testing"]  # openai_emulator, llamaparse_emulator, supabase_emulator

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
PG_ADMIN_URL = os.environ.get("TVDB_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _postgres_reachable() -> bool:
    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    if not _postgres_reachable():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL}; CI must run the PostgreSQL tests")
        pytest.skip("PostgreSQL is not reachable (set TVDB_TEST_POSTGRES_URL)")
    return PG_ADMIN_URL


@pytest.fixture
def postgres_url(postgres_admin_url):
    """A fresh database on the real server, dropped after the test."""
    name = f"tvdb_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = postgres_admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    url = f"{base}/{name}"
    yield url
    dispose_engine(url)
    with psycopg.connect(postgres_admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'tvdb.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def tvdb_env(monkeypatch, tmp_path, database_url):
    """Environment of an isolated install: its own home, database, objects and Dagster instance."""
    home = tmp_path / "home"
    monkeypatch.setenv("TVDB_HOME", str(home))
    monkeypatch.setenv("TVDB_DATABASE_URL", database_url)
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    for name in ("SERVICE_MODE", "TVDB_OBJECT_STORE_ROOT", "TVDB_MAX_UPLOAD_BYTES", "TVDB_CHUNK_TOKENS",
                 "TVDB_CHUNK_OVERLAP_TOKENS", "TVDB_INBOX", "DAILY_COST_LIMIT_OPENAI", "DAILY_COST_LIMIT_LLAMAPARSE"):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def sessions(tvdb_env, database_url):
    return session_factory(database_url)


@pytest.fixture
def defs(tvdb_env):
    from tvdb_assets.definitions import build_definitions

    return build_definitions()


@pytest.fixture
def services(defs):
    from tvdb_assets.runner import pipeline_services

    with pipeline_services(defs) as built:
        yield built


def pdf_bytes(pages: list[str], password: str | None = None) -> bytes:
    """A real PDF with one text page per entry (fpdf2 writes the text, pypdf encrypts)."""
    from fpdf import FPDF

    pdf = FPDF()
    for text in pages:
        pdf.add_page()
        pdf.set_font("Helvetica", size=12)
        pdf.multi_cell(0, 6, text)
    data = bytes(pdf.output())
    if password is None:
        return data
    writer = PdfWriter(clone_from=io.BytesIO(data))
    writer.encrypt(password)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


class LogRecorder(logging.Handler):
    """Every record, formatted with its exception and stack, plus its attributes (Dagster puts its event there)."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))

    def emit(self, record):
        try:
            self.texts.append(self.format(record))
            self.texts.append(repr(vars(record)))
        except Exception as exc:  # noqa: BLE001 - a record that cannot be formatted is itself evidence
            self.texts.append(f"unformattable record {record.name}: {exc!r} {record.msg!r} {record.args!r}")

    def text(self) -> str:
        return "\n".join(self.texts)


@pytest.fixture
def debug_logs():
    """Every log record at DEBUG and up, from every logger (the suite runs with ``-p no:logging``: no caplog)."""
    recorder = LogRecorder()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(recorder)
    root.setLevel(logging.DEBUG)
    try:
        yield recorder
    finally:
        root.removeHandler(recorder)
        root.setLevel(old_level)


@pytest.fixture
def make_pdf():
    return pdf_bytes
