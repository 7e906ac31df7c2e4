"""Settings read from the environment, with the defaults of a local, free, single-machine install."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

SERVICES = ("llamaparse", "openai")
DEFAULT_DAILY_LIMITS = {"llamaparse": Decimal("50.00"), "openai": Decimal("100.00")}
DEFAULT_MAX_UPLOAD_BYTES = 50 * 1024 * 1024


def tvdb_home() -> Path:
    """Where local state lives (SQLite database, objects, Dagster instance): ``$TVDB_HOME`` or ``./.tvdb``."""
    return Path(os.environ.get("TVDB_HOME") or Path.cwd() / ".tvdb").resolve()


def database_url() -> str:
    return os.environ.get("TVDB_DATABASE_URL") or f"sqlite:///{tvdb_home() / 'tvdb.db'}"


def object_store_root() -> Path:
    return Path(os.environ.get("TVDB_OBJECT_STORE_ROOT") or tvdb_home() / "objects").resolve()


def dagster_home() -> Path:
    return Path(os.environ.get("DAGSTER_HOME") or tvdb_home() / "dagster").resolve()


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, got {raw!r}") from None


def max_upload_bytes() -> int:
    return _int_env("TVDB_MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD_BYTES)


def chunk_tokens() -> int:
    return _int_env("TVDB_CHUNK_TOKENS", 512)


def chunk_overlap_tokens() -> int:
    return _int_env("TVDB_CHUNK_OVERLAP_TOKENS", 64)


def default_daily_limit(service: str) -> Decimal:
    raw = os.environ.get(f"DAILY_COST_LIMIT_{service.upper()}")
    if not raw:
        return DEFAULT_DAILY_LIMITS[service]
    try:
        return Decimal(raw)
    except ArithmeticError:
        raise ValueError(f"DAILY_COST_LIMIT_{service.upper()} must be a USD amount, got {raw!r}") from None


def service_mode() -> str:
    mode = (os.environ.get("SERVICE_MODE") or "mock").strip().lower()
    if mode not in {"mock", "real", "hybrid"}:
        raise ValueError(f"SERVICE_MODE must be mock, real or hybrid, got {mode!r}")
    return mode


def parse_tier() -> str:
    return os.environ.get("UPLOAD_PIPELINE_LLAMAPARSE_TIER") or "cost_effective"


def embedding_model() -> str:
    return os.environ.get("UPLOAD_PIPELINE_OPENAI_EMBEDDING_MODEL") or "text-embedding-3-small"


def embedding_dimensions() -> int:
    return _int_env("UPLOAD_PIPELINE_OPENAI_EMBEDDING_DIMENSIONS", 0)


def inbox_dir() -> Path:
    return Path(os.environ.get("TVDB_INBOX") or tvdb_home() / "inbox").resolve()


def rate_limit(service: str, metric: str, default: int) -> int:
    """``RATE_LIMIT_<SERVICE>_RPM`` / ``_TPM``: per-minute limits shared by every worker (runbook defaults)."""
    return _int_env(f"RATE_LIMIT_{service.upper()}_{metric.upper()}", default)


def object_store_kind() -> str:
    kind = (os.environ.get("TVDB_OBJECT_STORE") or "local").strip().lower()
    if kind not in {"local", "supabase"}:
        raise ValueError(f"TVDB_OBJECT_STORE must be local or supabase, got {kind!r}")
    return kind
