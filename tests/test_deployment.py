"""The deployment files: the production dagster.yaml on the real PostgreSQL, the workspace, docker-compose."""

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from dagster import DagsterInstance

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.postgres
def test_production_dagster_yaml_opens_an_instance_on_postgres(postgres_url, tmp_path, monkeypatch):
    shutil.copy(ROOT / "dagster.yaml", tmp_path / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    monkeypatch.setenv("DAGSTER_POSTGRES_URL", postgres_url.replace("+psycopg", ""))
    with DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert instance.run_coordinator.__class__.__name__ == "QueuedRunCoordinator"
        assert instance.get_runs() == []


def test_workspace_loads_the_code_location():
    workspace = yaml.safe_load((ROOT / "workspace.yaml").read_text())
    module = workspace["load_from"][0]["python_module"]["module_name"]
    assert module == "tvdb_assets.definitions"
    __import__(module)


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose (Debian 1.29) is not installed")
def test_docker_compose_file_is_valid():
    result = subprocess.run(["docker-compose", "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
