"""Worker processes for the integration tests, run as scripts: ``python workers.py budget SPEC.json``.

Each worker is a separate interpreter (its own engine, connection pool and SDK client), so the budget is shared
only through the database, as it is between the pipeline's real worker processes.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from pathlib import Path


def _wait_for(path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} did not appear within {timeout}s")
        time.sleep(0.005)


def budget_worker(spec: dict) -> dict:
    """Embed ``spec["texts"]`` one request each, until the budget refuses a call; report what happened."""
    from tvdb.hashing import sha256_text
    from tvdb.ledger import CallContext
    from tvdb.reservations import BudgetExceeded, Reservations
    from tvdb.tokens import count_tokens
    from tvdb_resources.database import DatabaseResource
    from tvdb_resources.embedding import EmbedInput
    from tvdb_resources.ledger import CostLedgerResource
    from tvdb_resources.paid.openai_embedder import OpenAIEmbedder

    url = spec["database_url"]
    embedder = OpenAIEmbedder(
        ledger=CostLedgerResource(database=DatabaseResource(url=url)),
        api_key=spec["api_key"], base_url=spec["base_url"], timeout_seconds=30,
    )
    items = [EmbedInput(text, sha256_text(text), count_tokens(text)) for text in spec["texts"]]
    Reservations(url).remaining("openai")  # engine open and schema checked before the start line
    embedder._client()
    Path(spec["ready_file"]).touch()
    _wait_for(Path(spec["go_file"]), timeout=60)

    report = {"worker": spec["worker"], "ok": 0, "ok_tokens": 0, "refused": None, "error": None,
              "started": time.time(), "first_ok": None, "last_ok": None}
    context = CallContext(run_id=f"worker-{spec['worker']}", asset="budget_concurrency", batch_id="budget")
    for index, item in enumerate(items):
        try:
            vectors = embedder.embed([item], context)
        except BudgetExceeded as exc:
            report["refused"] = {"index": index, "tokens": item.tokens, "needed": str(exc.needed),
                                 "remaining": str(exc.remaining)}
            break
        except Exception as exc:  # noqa: BLE001 - reported to the test, which fails on it
            report["error"] = f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"
            break
        if len(vectors) != 1:
            report["error"] = f"{len(vectors)} vectors for one input"
            break
        now = time.time()
        report["first_ok"] = report["first_ok"] or now
        report["last_ok"] = now
        report["ok"] += 1
        report["ok_tokens"] += item.tokens
    report["finished"] = time.time()
    return report


WORKERS = {"budget": budget_worker}


def main(argv: list[str]) -> int:
    kind, spec_path = argv[1], Path(argv[2])
    report = WORKERS[kind](json.loads(spec_path.read_text()))
    print("REPORT " + json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
