"""The ``tvdb`` command as users run it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tvdb.cli.main import cli

SAMPLES = Path(__file__).resolve().parents[3] / "samples"
TVDB = Path(sys.executable).with_name("tvdb")


def _run(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_ingest_samples_json_reports_every_file_and_the_costs(tvdb_env):
    result = _run("ingest", str(SAMPLES), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["documents_ingested"] == 5 and report["documents_failed"] == 0
    assert report["chunks"] == report["embeddings"] > 0
    assert report["cost_usd"] == 0 and report["shadow_cost_usd"] > 0
    assert report["parse_calls"] == 5 and report["embedding_calls"] >= 1
    assert sorted(Path(f["path"]).name for f in report["files"]) == sorted(p.name for p in SAMPLES.iterdir())
    assert all(f["status"] == "done" and f["error"] is None for f in report["files"])

    again = json.loads(_run("ingest", str(SAMPLES), "--json").output)
    assert (again["parse_calls"], again["embedding_calls"], again["cost_usd"], again["shadow_cost_usd"]) == (0, 0, 0, 0)
    assert again["documents_ingested"] == 5


@pytest.fixture
def docs(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    return folder


def test_ingest_exits_1_and_names_the_reason_when_a_file_fails(tvdb_env, docs):
    (docs / "ok.txt").write_text("Some useful words for the index.")
    (docs / "empty.txt").write_bytes(b"")
    result = _run("ingest", str(docs))
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert any(line.startswith("failed") and "empty.txt" in line and "empty file" in line for line in lines)
    assert any(line.startswith("done") and "ok.txt" in line for line in lines)
    assert "1 ingested, 1 failed" in lines[-1]


def test_oversized_files_follow_the_configured_limit(tvdb_env, docs, monkeypatch):
    monkeypatch.setenv("TVDB_MAX_UPLOAD_BYTES", "100")
    (docs / "big.txt").write_text("word " * 100)
    report = json.loads(_run("ingest", str(docs), "--json").output)
    assert report["documents_failed"] == 1
    assert "upload limit" in report["files"][0]["error"]


def test_status_counts_uploads_documents_chunks_embeddings(tvdb_env):
    _run("ingest", str(SAMPLES))
    status = json.loads(_run("status", "--json").output)
    assert status["uploads"]["done"] == 5 and status["uploads"]["failed"] == 0
    assert status["documents"] == 5 and status["chunks"] == status["embeddings"] > 0


def test_costs_json_has_the_runbook_keys(tvdb_env, monkeypatch):
    monkeypatch.setenv("DAILY_COST_LIMIT_OPENAI", "150.00")
    _run("ingest", str(SAMPLES))
    costs = json.loads(_run("costs", "--json").output)
    assert costs["daily_limits"] == {"llamaparse": 50.0, "openai": 150.0, "total": 200.0}
    assert costs["daily_usage"]["total"] == 0
    assert costs["remaining_budget"]["total"] == 200.0
    assert costs["shadow_usage"]["llamaparse"] > 0
    assert "remaining" in _run("costs").output


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=False)
def test_the_installed_entry_point_ingests_the_samples(tmp_path, database_url):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TVDB_", "DAGSTER_", "SERVICE_MODE"))}
    env["TVDB_HOME"] = str(tmp_path / "home")
    result = subprocess.run([str(TVDB), "ingest", str(SAMPLES), "--json"], env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["documents_ingested"] == 5
    assert (tmp_path / "home" / "tvdb.db").is_file() and (tmp_path / "home" / "dagster" / "dagster.yaml").is_file()


def test_mode_shows_sets_and_clears_the_run_time_override(tvdb_env, monkeypatch):
    monkeypatch.setenv("SERVICE_MODE", "real")
    shown = json.loads(_run("mode", "--json").output)
    assert shown["openai"] == {"mode": "real", "source": "SERVICE_MODE"}
    assert "hybrid" in _run("mode", "set", "hybrid").output
    assert "mock" in _run("mode", "set", "mock", "--service", "openai").output
    shown = json.loads(_run("mode", "--json").output)
    assert (shown["llamaparse"]["mode"], shown["openai"]["mode"]) == ("hybrid", "mock")
    assert shown["openai"]["source"].startswith("database override")
    _run("mode", "clear")
    assert {v["mode"] for v in json.loads(_run("mode", "--json").output).values()} == {"real"}
    assert CliRunner().invoke(cli, ["mode", "set", "turbo"]).exit_code == 2


def test_budget_set_changes_limits_multiplier_and_strict_at_run_time(tvdb_env):
    assert _run("budget", "set", "--service", "openai", "--limit", "150.00", "--multiplier", "0.1", "--strict").exit_code == 0
    costs = json.loads(_run("costs", "--json").output)
    assert costs["daily_limits"]["openai"] == 15.0 and costs["daily_limits"]["llamaparse"] == 50.0
    assert costs["strict_limits"] == {"llamaparse": False, "openai": True}
    assert _run("budget", "set", "--multiplier", "1", "--no-strict").exit_code == 0
    assert json.loads(_run("costs", "--json").output)["daily_limits"]["openai"] == 150.0
    assert CliRunner().invoke(cli, ["budget", "set", "--limit", "lots"]).exit_code == 2
