"""Pipeline vs bare loop: documents per second, their ratio, peak RSS at two corpus sizes, and re-ingest calls.

Each measurement runs in a fresh subprocess with its own TVDb home (database, objects, Dagster instance), so peak RSS
is that run's alone and no cache is shared. The bare loop calls the same intake and stage functions the Dagster
assets call, without Dagster. Last line: one JSON object with the figures.

    .venv/bin/python bench/ingest_throughput.py [--small 1000] [--large 5000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import write_corpus  # noqa: E402


def _ledger_calls(sessions, batch_id: str) -> dict[str, int]:
    from sqlalchemy import func, select

    from tvdb.db.models import CostEntry

    with sessions() as session:
        rows = session.execute(
            select(CostEntry.service, func.count()).where(CostEntry.batch_id == batch_id).group_by(CostEntry.service)
        )
        return dict(rows.all())


def worker(mode: str, corpus: Path) -> dict:
    """One measured ingest of ``corpus`` in this process (a fresh TVDb home is set by the parent)."""
    from tvdb.ledger import CallContext
    from tvdb.pipeline.stages import STAGES
    from tvdb_assets.definitions import build_definitions
    from tvdb_assets.local_instance import local_instance
    from tvdb_assets.runner import pipeline_services, register_files, run_batch

    defs = build_definitions()
    instance = local_instance()
    documents = sum(1 for p in corpus.iterdir() if p.is_file())
    with pipeline_services(defs) as services:
        services.sessions  # noqa: B018 - open (and migrate) the database before the clock starts

        def ingest_once() -> tuple[str, float]:
            started = time.perf_counter()
            batch_id, _ = register_files(services, [corpus], source="bench")
            if mode == "pipeline":
                _, success = run_batch(defs, instance, batch_id)
                assert success, "pipeline run failed"
            else:
                for stage in STAGES:
                    stage(services, batch_id, CallContext(run_id="bare-loop"))
            return batch_id, time.perf_counter() - started

        first_batch, seconds = ingest_once()
        first_calls = _ledger_calls(services.sessions, first_batch)
        second_batch, second_seconds = ingest_once()
        second_calls = _ledger_calls(services.sessions, second_batch)
    return {
        "mode": mode,
        "documents": documents,
        "seconds": round(seconds, 3),
        "docs_per_second": round(documents / seconds, 1),
        "first_ingest_calls": first_calls,
        "second_ingest_seconds": round(second_seconds, 3),
        "second_ingest_calls": second_calls,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def measure(mode: str, corpus: Path) -> dict:
    with tempfile.TemporaryDirectory(prefix=f"tvdb-bench-{mode}-") as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TVDB_", "DAGSTER_", "SERVICE_MODE"))}
        env["TVDB_HOME"] = home
        result = subprocess.run(
            [sys.executable, __file__, "--worker", mode, str(corpus)],
            env=env, capture_output=True, text=True, check=False,
        )
        if result.returncode != 0:
            raise SystemExit(f"{mode} worker failed:\n{result.stderr[-4000:]}")
        return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=1000, help="documents in the throughput corpus")
    parser.add_argument("--large", type=int, default=5000, help="documents in the memory-growth corpus")
    parser.add_argument("--worker", nargs=2, metavar=("MODE", "CORPUS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker[0], Path(args.worker[1]))))
        return

    with tempfile.TemporaryDirectory(prefix="tvdb-corpus-") as tmp:
        small = write_corpus(Path(tmp) / "small", args.small)
        large = write_corpus(Path(tmp) / "large", args.large)
        size_kb = sum(p.stat().st_size for p in small.iterdir()) / 1024
        print(f"corpus: {args.small} documents ({size_kb:,.0f} KB), and {args.large} for memory growth")
        bare = measure("bare", small)
        pipeline = measure("pipeline", small)
        pipeline_large = measure("pipeline", large)
        bare_large = measure("bare", large)

    ratio = pipeline["docs_per_second"] / bare["docs_per_second"]
    growth = pipeline_large["peak_rss_mb"] / pipeline["peak_rss_mb"]
    for run in (bare, pipeline, bare_large, pipeline_large):
        print(f"{run['mode']:<9} {run['documents']:>5} docs: {run['seconds']:>7.2f} s, "
              f"{run['docs_per_second']:>7.1f} docs/s, peak RSS {run['peak_rss_mb']:>6.1f} MB, "
              f"first ingest calls {run['first_ingest_calls']}, second ingest calls {run['second_ingest_calls'] or 0}")
    print(f"pipeline / bare throughput at {args.small}: {ratio:.2f} (target >= 0.5)")
    print(f"pipeline peak RSS {args.large} / {args.small}: {growth:.2f} (target <= 1.5)")
    second_calls = sum(pipeline["second_ingest_calls"].values()) + sum(pipeline_large["second_ingest_calls"].values())
    print(f"parse + embedding calls on the second ingest of the same corpus: {second_calls} (target 0)")
    print(json.dumps({
        "documents": args.small,
        "pipeline_docs_per_second": pipeline["docs_per_second"],
        "bare_docs_per_second": bare["docs_per_second"],
        "throughput_ratio": round(ratio, 3),
        "peak_rss_mb": {str(args.small): pipeline["peak_rss_mb"], str(args.large): pipeline_large["peak_rss_mb"]},
        "bare_peak_rss_mb": {str(args.small): bare["peak_rss_mb"], str(args.large): bare_large["peak_rss_mb"]},
        "rss_growth": round(growth, 3),
        "second_ingest_calls": second_calls,
        "targets_met": ratio >= 0.5 and growth <= 1.5 and second_calls == 0,
    }))


if __name__ == "__main__":
    main()
