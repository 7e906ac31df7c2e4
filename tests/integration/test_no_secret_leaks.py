"""No API key reaches a log, the Dagster instance, the database, the CLI's output or an exception's text.

The emulators here are the project's own, subclassed to behave like the worst provider (or proxy) there is: every
error answer quotes the key the client sent, in full, in its message. Ingests run in real and hybrid mode with
distinctive fake keys and with faults that produce error messages (a wrong key: 401; out of credit: OpenAI's
429 insufficient_quota, LlamaParse's 402; server errors: 500), and everything they leave behind is searched for
the keys: every log record of the process at DEBUG (formatted, with its exception, and its attributes), the
process's stdout/stderr, every Dagster run of the test instance with its event log (STEP_FAILURE error info,
materialization metadata), its job and execution plan snapshots, every row of every table of the product database
(``upload_jobs.error``, ``cost_tracking``, ``circuit_breakers.last_failure``...), every file under TVDb's home and
the Dagster instance's directory, and the str(), repr() and traceback of exceptions the paid clients raise.
"""

from __future__ import annotations

import json
import os
import random
import string
import subprocess
import sys
import traceback
from contextvars import ContextVar
from pathlib import Path

import pytest
from dagster import instance_for_test, serialize_value
from sqlalchemy import select
from starlette.responses import JSONResponse

from tvdb.db.engine import dispose_engine, session_factory
from tvdb.db.models import Base, CostEntry, UploadJob
from tvdb.hashing import sha256_text
from tvdb.ledger import CallContext
from tvdb.tokens import count_tokens
from tvdb_emulators.llamaparse_emulator import LlamaParseEmulator
from tvdb_emulators.openai_emulator import OpenAIEmulator
from tvdb_emulators.openai_inputs import invalid
from tvdb_emulators.server import serve
from tvdb_resources.database import DatabaseResource
from tvdb_resources.embedding import EmbedInput
from tvdb_resources.ledger import CostLedgerResource
from tvdb_resources.paid.llamaparse_parser import LlamaParseParser
from tvdb_resources.paid.openai_embedder import OpenAIEmbedder
from tvdb_resources.parsing import SourceDocument

REPO = Path(__file__).resolve().parents[2]
MARK = "LEAKCHECK"
_rng = random.SystemRandom()


def _tail(n: int = 24) -> str:
    return "".join(_rng.choice(string.ascii_letters + string.digits) for _ in range(n))


OPENAI_KEY = f"sk-{MARK}-{_tail()}"
LLAMAPARSE_KEY = f"llx-{MARK}-{_tail()}"
# The key the emulator expects in a wrong-key scenario: the client's key is then refused, and quoted back.
OTHER_OPENAI_KEY, OTHER_LLAMAPARSE_KEY = "sk-the-account-owners-key", "llx-the-account-owners-key"


def needles(key: str) -> list[str]:
    """The key; its marker (so every prefix of 12+ characters); every 8-character window of its random tail."""
    tail = key.rsplit("-", 1)[1]
    return [key, MARK, *(tail[i:i + 8] for i in range(len(tail) - 7))]


NEEDLES = needles(OPENAI_KEY) + needles(LLAMAPARSE_KEY)


# ---- emulators that quote the caller's key in every error -------------------------------------------------------

_presented: ContextVar[str | None] = ContextVar("presented", default=None)


class QuotesKeys:
    """Mixin: every error answer's message ends with the key the request carried, in full."""

    async def dispatch(self, request, route):
        response = await super().dispatch(request, route)
        if response.status_code < 400:
            return response
        key = self.presented_key(request)
        try:
            body = json.loads(bytes(response.body))
        except ValueError:
            return response
        quote = f" (request made with API key {key})"
        if isinstance(body.get("error"), dict):
            body["error"]["message"] = f"{body['error'].get('message')}{quote}"
        elif isinstance(body.get("detail"), str):
            body["detail"] += quote
        else:
            body["detail"] = f"{body.get('detail')}{quote}"
        headers = {k: v for k, v in response.headers.items() if k.lower() not in ("content-length", "content-type")}
        return JSONResponse(body, status_code=response.status_code, headers=headers)


class QuotingOpenAI(QuotesKeys, OpenAIEmulator):
    def auth_error(self, request):
        return invalid(f"Incorrect API key provided: {self.presented_key(request)}.", code="invalid_api_key",
                       status=401)


class QuotingLlamaParse(QuotesKeys, LlamaParseEmulator):
    pass


@pytest.fixture(scope="module")
def quoting_servers():
    openai_server = serve(QuotingOpenAI(api_key=OPENAI_KEY))
    llama_server = serve(QuotingLlamaParse(api_key=LLAMAPARSE_KEY, job_pending_ms=20, job_running_ms=40))
    try:
        yield openai_server, llama_server
    finally:
        openai_server.stop()
        llama_server.stop()


@pytest.fixture
def emulators(quoting_servers):
    for server in quoting_servers:
        server.emulator.wait_idle()
        server.emulator.reset()
    return quoting_servers


# ---- what is searched --------------------------------------------------------------------------------------------


class Haystack:
    def __init__(self):
        self.texts: list[tuple[str, str]] = []
        self.files: list[tuple[Path, bytes]] = []

    def add(self, where: str, text: object) -> None:
        self.texts.append((where, text if isinstance(text, str) else repr(text)))

    def add_tree(self, root: Path) -> None:
        """Every file under ``root``, read now (a test instance's directory goes when the instance closes)."""
        self.files.extend((p, p.read_bytes()) for p in Path(root).rglob("*") if p.is_file())

    def add_database(self, url: str) -> None:
        with session_factory(url)() as session:
            for table in Base.metadata.sorted_tables:
                for row in session.execute(select(table)).mappings():
                    self.add(f"table {table.name}", {k: v for k, v in row.items()})

    def add_instance(self, instance) -> None:
        for run in instance.get_runs():
            self.add(f"run {run.run_id}", serialize_value(run))
            self.add(f"run {run.run_id} job snapshot", serialize_value(instance.get_job_snapshot(run.job_snapshot_id)))
            if run.execution_plan_snapshot_id:
                self.add(f"run {run.run_id} plan snapshot",
                         serialize_value(instance.get_execution_plan_snapshot(run.execution_plan_snapshot_id)))
            for entry in instance.all_logs(run.run_id):
                self.add(f"run {run.run_id} event", serialize_value(entry))
                self.add(f"run {run.run_id} event message", entry.message)
        if instance.root_directory:
            self.add_tree(Path(instance.root_directory))

    def add_exception(self, where: str, exc: BaseException) -> None:
        self.add(f"{where} str", str(exc))
        self.add(f"{where} repr", repr(exc))
        self.add(f"{where} args", exc.args)
        self.add(f"{where} traceback", "".join(traceback.format_exception(exc)))

    def leaks(self) -> list[str]:
        found = []
        for where, text in self.texts:
            for needle in NEEDLES:
                at = text.find(needle)
                if at >= 0:
                    found.append(f"{where}: {text[max(0, at - 120):at + 80]!r}")
                    break
        raw = [needle.encode() for needle in NEEDLES]
        for path, data in self.files:
            if any(needle in data for needle in raw):
                found.append(f"file {path}")
        return found

    def joined(self) -> str:
        return "\n".join(text for _, text in self.texts)


# ---- the ingests -------------------------------------------------------------------------------------------------


def write_docs(folder: Path, make_pdf) -> Path:
    folder.mkdir(parents=True)
    (folder / "guide.md").write_text("# Guide\n\nHow budgets, holds and ledgers keep paid calls in check.\n")
    (folder / "notes.txt").write_text("Operator notes: rotate keys, watch the daily limits, read the ledger.\n")
    (folder / "report.pdf").write_bytes(make_pdf(["A one page report about reservations and settlements."]))
    return folder


def pipeline_env(home: Path, database_url: str, mode: str, openai_server, llama_server) -> dict[str, str]:
    return {
        "TVDB_HOME": str(home), "DAGSTER_HOME": str(home / "dagster"), "TVDB_DATABASE_URL": database_url,
        "SERVICE_MODE": mode,
        "UPLOAD_PIPELINE_OPENAI_API_KEY": OPENAI_KEY, "UPLOAD_PIPELINE_OPENAI_BASE_URL": openai_server.base_url,
        "UPLOAD_PIPELINE_LLAMAPARSE_API_KEY": LLAMAPARSE_KEY,
        "UPLOAD_PIPELINE_LLAMAPARSE_BASE_URL": llama_server.base_url,
    }


CLEARED = ("SERVICE_MODE_OPENAI", "SERVICE_MODE_LLAMAPARSE", "TVDB_OBJECT_STORE", "TVDB_OBJECT_STORE_ROOT",
           "DAILY_COST_LIMIT_OPENAI", "DAILY_COST_LIMIT_LLAMAPARSE", "TVDB_MAX_UPLOAD_BYTES")

# mode, OpenAI knobs, LlamaParse knobs, what the error must say (upload errors in real mode, the ledger's fallback
# reasons in hybrid mode), and the answer the emulator must have given at least once.
SCENARIOS = {
    "real-llamaparse-wrong-key": ("real", {}, {"api_key": OTHER_LLAMAPARSE_KEY}, "LlamaParse rejected the API key", 401),
    "real-llamaparse-500": ("real", {}, {"error_rate": 1.0}, "LlamaParse: 500", 500),
    "real-llamaparse-out-of-credits": ("real", {}, {"insufficient_quota": True}, "402 payment required", 402),
    "real-openai-wrong-key": ("real", {"api_key": OTHER_OPENAI_KEY}, {}, "OpenAI rejected the API key", 401),
    "real-openai-insufficient-quota": ("real", {"insufficient_quota": True}, {}, "insufficient_quota", 429),
    "real-openai-500": ("real", {"error_rate": 1.0}, {}, "OpenAI: 500", 500),
    "hybrid-wrong-keys": ("hybrid", {"api_key": OTHER_OPENAI_KEY}, {"api_key": OTHER_LLAMAPARSE_KEY},
                          {"unauthorized"}, 401),
    "hybrid-500-and-out-of-credits": ("hybrid", {"error_rate": 1.0}, {"insufficient_quota": True},
                                      {"error", "quota"}, None),
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_a_failing_ingest_leaves_no_key_anywhere(scenario, emulators, debug_logs, tmp_path, monkeypatch, make_pdf,
                                                 capfd):
    mode, openai_knobs, llama_knobs, expected, status = SCENARIOS[scenario]
    openai_server, llama_server = emulators
    openai_server.emulator.configure(**openai_knobs)
    llama_server.emulator.configure(**llama_knobs)
    home = tmp_path / "home"
    url = f"sqlite:///{tmp_path / 'tvdb.db'}"
    for name in CLEARED:
        monkeypatch.delenv(name, raising=False)
    for name, value in pipeline_env(home, url, mode, openai_server, llama_server).items():
        monkeypatch.setenv(name, value)

    from tvdb_assets.definitions import build_definitions
    from tvdb_assets.runner import pipeline_services, register_files, run_batch

    haystack = Haystack()
    defs = build_definitions()
    with instance_for_test() as instance:
        with pipeline_services(defs) as services:
            batch_id, _ = register_files(services, [write_docs(tmp_path / "docs", make_pdf)])
        run_id, success = run_batch(defs, instance, batch_id)
        haystack.add_instance(instance)
        failures = [e for e in instance.all_logs(run_id) if e.dagster_event and e.dagster_event.is_step_failure]
    for server in emulators:
        server.emulator.wait_idle()
    haystack.add_database(url)
    dispose_engine(url)
    haystack.add_tree(home)
    out, err = capfd.readouterr()
    haystack.add("stdout", out)
    haystack.add("stderr", err)
    for i, text in enumerate(debug_logs.texts):
        haystack.add(f"log record {i}", text)

    # The faults happened and produced error messages, or the test would prove nothing.
    answers = {e["status"] for server in emulators for e in server.emulator.requests()}
    assert status is None or status in answers, answers
    assert any(e["status"] >= 400 for server in emulators for e in server.emulator.requests())
    with session_factory(url)() as session:
        errors = [e for e in session.scalars(select(UploadJob.error)) if e]
        reasons = set(session.scalars(select(CostEntry.fallback_reason).where(CostEntry.fallback_reason.is_not(None))))
    dispose_engine(url)
    if mode == "real":
        assert not success and failures
        assert any(expected in e for e in errors), errors
        assert all(expected in e or "circuit open" in e for e in errors), errors  # a fatal error opens the circuit
        assert expected in "".join(serialize_value(f) for f in failures)
    else:
        assert success and expected <= reasons, reasons
        assert "falling back to the local service" in haystack.joined()
    assert len(debug_logs.texts) > 50  # DEBUG really was on: the SDKs' and SQLAlchemy's records are in there

    assert not haystack.leaks(), "\n".join(haystack.leaks())


def test_the_cli_prints_and_stores_no_key_even_at_debug(emulators, tmp_path, make_pdf):
    """``tvdb ingest --json`` in a subprocess with the root logger at DEBUG, in real mode with
    OpenAI answering 500 (quoting the key back): its stdout, its stderr and every file it leaves (SQLite database,
    Dagster instance)."""
    openai_server, llama_server = emulators
    openai_server.emulator.configure(error_rate=1.0)
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if k not in CLEARED and not k.startswith("SERVICE_MODE")}
    env |= pipeline_env(home, f"sqlite:///{home / 'tvdb.db'}", "real", openai_server, llama_server)
    program = ("import logging, sys; logging.basicConfig(level=logging.DEBUG, stream=sys.stderr); "
               "from tvdb.cli.main import cli; cli()")
    result = subprocess.run(
        [sys.executable, "-c", program, "ingest", str(write_docs(tmp_path / "docs", make_pdf)), "--json"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 1, result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert report["documents_failed"] == 3
    assert all("OpenAI: 500" in f["error"] for f in report["files"])
    assert "DEBUG" in result.stderr and "HTTP Request" in result.stderr  # the SDKs' DEBUG records were printed
    assert 500 in {e["status"] for e in openai_server.emulator.requests()}
    haystack = Haystack()
    haystack.add("stdout", result.stdout)
    haystack.add("stderr", result.stderr)
    haystack.add_tree(home)
    assert not haystack.leaks(), "\n".join(haystack.leaks())


def _embed(server, url, **knobs):
    server.emulator.configure(**knobs)
    embedder = OpenAIEmbedder(ledger=CostLedgerResource(database=DatabaseResource(url=url)), api_key=OPENAI_KEY,
                              base_url=server.base_url)
    text = "a text to embed"
    embedder.embed([EmbedInput(text, sha256_text(text), count_tokens(text))], CallContext())


def _parse(server, url, make_pdf, **knobs):
    server.emulator.configure(**knobs)
    parser = LlamaParseParser(ledger=CostLedgerResource(database=DatabaseResource(url=url)), api_key=LLAMAPARSE_KEY,
                              base_url=server.base_url, poll_interval_seconds=0.05)
    data = make_pdf(["A page to parse."])
    parser.parse(SourceDocument(sha256_text(str(knobs)), "doc.pdf", "application/pdf", data), CallContext())


FAULTS = {
    "openai wrong key": ("openai", {"api_key": OTHER_OPENAI_KEY}),
    "openai insufficient_quota": ("openai", {"insufficient_quota": True}),
    "openai 500": ("openai", {"error_rate": 1.0}),
    "openai 503 outage": ("openai", {"outage_for_s": 60}),
    "llamaparse wrong key": ("llamaparse", {"api_key": OTHER_LLAMAPARSE_KEY}),
    "llamaparse out of credits": ("llamaparse", {"insufficient_quota": True}),
    "llamaparse 500": ("llamaparse", {"error_rate": 1.0}),
}


def test_exceptions_of_the_paid_clients_never_carry_a_key(emulators, debug_logs, tmp_path, make_pdf, monkeypatch):
    """The paid clients called directly (the key a literal, not an EnvVar): what they raise, in str(), repr(),
    args and the formatted traceback (the SDK's exception, which quotes the key, must not be chained into it)."""
    openai_server, llama_server = emulators
    monkeypatch.setattr("tvdb_resources.paid.retry.time.sleep", lambda seconds: None)  # retries without the waits
    haystack = Haystack()
    raised = {}
    for name, (service, knobs) in FAULTS.items():
        for server in emulators:
            server.emulator.reset()
        url = f"sqlite:///{tmp_path / (name.replace(' ', '-') + '.db')}"
        with pytest.raises(Exception) as caught:
            if service == "openai":
                _embed(openai_server, url, **knobs)
            else:
                _parse(llama_server, url, make_pdf, **knobs)
        raised[name] = caught.value
        haystack.add_exception(name, caught.value)
        haystack.add_database(url)
        dispose_engine(url)
        statuses = {e["status"] for server in emulators for e in server.emulator.requests()}
        assert statuses & {401, 402, 429, 500, 503}, (name, statuses)
    for i, text in enumerate(debug_logs.texts):
        haystack.add(f"log record {i}", text)
    # The control: the providers did quote the key (in the SDK exception the client caught and did not chain).
    assert OPENAI_KEY in str(raised["openai 500"].__context__) and raised["openai 500"].__suppress_context__
    assert LLAMAPARSE_KEY in str(raised["llamaparse 500"].__context__)
    assert "rejected the API key" in str(raised["openai wrong key"])
    assert "500" in str(raised["openai 500"]) and "500" in str(raised["llamaparse 500"])
    assert not haystack.leaks(), "\n".join(haystack.leaks())
