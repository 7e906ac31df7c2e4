"""``tvdb emulate`` starts all three emulators and prints what to export."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import httpx
import openai
import pytest
from click.testing import CliRunner

from tvdb_emulators.cli import emulate, knob_settings


def test_help_names_the_options():
    result = CliRunner().invoke(emulate, ["--help"])
    assert result.exit_code == 0
    for option in ("--openai-port", "--llamaparse-port", "--supabase-port", "--latency-ms", "--seed"):
        assert option in result.output


def test_emulate_prints_the_exports_and_serves_until_interrupted():
    process = subprocess.Popen(
        [sys.executable, "-m", "tvdb_emulators.cli", "--openai-port", "0", "--llamaparse-port", "0",
         "--supabase-port", "0", "--seed", "4", "--set", "llamaparse.quota=500"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=os.getcwd(),
    )
    try:
        exports: dict[str, str] = {}
        deadline = time.monotonic() + 20
        while len(exports) < 3 and time.monotonic() < deadline:
            line = process.stdout.readline()
            if match := re.match(r"export (\w+)=(\S+)", line):
                exports[match[1]] = match[2]
        assert set(exports) == {"UPLOAD_PIPELINE_OPENAI_BASE_URL", "UPLOAD_PIPELINE_LLAMAPARSE_BASE_URL",
                                "SUPABASE_URL"}
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/v1", exports["UPLOAD_PIPELINE_OPENAI_BASE_URL"])

        client = openai.OpenAI(base_url=exports["UPLOAD_PIPELINE_OPENAI_BASE_URL"], api_key="any", max_retries=0)
        assert client.embeddings.create(model="text-embedding-3-small", input="hi").usage.total_tokens == 1
        assert httpx.get(exports["SUPABASE_URL"] + "/_emulator/config").json()["seed"] == 4
        parse_config = httpx.get(exports["UPLOAD_PIPELINE_LLAMAPARSE_BASE_URL"] + "/_emulator/config").json()
        assert (parse_config["quota"], parse_config["seed"]) == (500, 4)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(10)
    assert process.returncode == 0


def test_set_reaches_one_or_all_emulators():
    settings = knob_settings(("timeout_rate=0.05", "llamaparse.quota=500", "openai.api_key=sk-local"))
    assert settings["openai"] == {"timeout_rate": 0.05, "api_key": "sk-local"}
    assert settings["llamaparse"] == {"timeout_rate": 0.05, "quota": 500}
    assert settings["supabase"] == {"timeout_rate": 0.05}


@pytest.mark.parametrize("setting, complaint", [("no-equals-sign", "is not KNOB=VALUE"),
                                                ("stripe.quota=1", "unknown emulator 'stripe'"),
                                                ("openai.eror_rate=1", "eror_rate")])
def test_bad_settings_are_usage_errors(setting, complaint):
    result = CliRunner().invoke(emulate, ["--openai-port", "0", "--set", setting])
    assert result.exit_code == 2 and complaint in result.output
