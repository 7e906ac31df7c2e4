"""``tvdb emulate``: start the three emulators on 127.0.0.1 and print what to export to use them."""

from __future__ import annotations

import json
import threading
from typing import Any

import click

from .server import RunningEmulator, start

# The variable the product reads for each service, and what of the emulator it needs (the SDK's base URL).
ENV_VARS = {
    "openai": "UPLOAD_PIPELINE_OPENAI_BASE_URL",
    "llamaparse": "UPLOAD_PIPELINE_LLAMAPARSE_BASE_URL",
    "supabase": "SUPABASE_URL",
}


def exports(running: dict[str, RunningEmulator]) -> list[str]:
    return [f"export {ENV_VARS[kind]}={emulator.base_url}" for kind, emulator in running.items()]


def knob_settings(settings: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """``("timeout_rate=0.1", "llamaparse.quota=500")`` -> knobs per emulator; values are JSON, else strings."""
    per_kind: dict[str, dict[str, Any]] = {kind: {} for kind in ENV_VARS}
    for setting in settings:
        name, sep, raw = setting.partition("=")
        if not sep:
            raise click.BadParameter(f"{setting!r} is not KNOB=VALUE", param_hint="--set")
        kind, dot, knob = name.rpartition(".")
        if dot and kind not in per_kind:
            raise click.BadParameter(f"unknown emulator {kind!r} in {setting!r}", param_hint="--set")
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
        for target in [kind] if dot else list(per_kind):
            per_kind[target][knob] = value
    return per_kind


@click.command("emulate")
@click.option("--openai-port", type=int, default=8101, show_default=True, help="0 picks a free port")
@click.option("--llamaparse-port", type=int, default=8102, show_default=True)
@click.option("--supabase-port", type=int, default=8103, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--latency-ms", type=float, default=0.0, show_default=True, help="added to every API request")
@click.option("--error-rate", type=float, default=0.0, show_default=True, help="share of requests answered 500")
@click.option("--seed", type=int, default=0, show_default=True, help="makes faults and ids repeatable")
@click.option("--api-key", default=None, help="the only key accepted (default: any non-empty key)")
@click.option("--set", "settings", multiple=True, metavar="[EMULATOR.]KNOB=VALUE",
              help="any other knob, e.g. --set timeout_rate=0.05 --set llamaparse.quota=5000 (see /_emulator/knobs)")
def emulate(openai_port: int, llamaparse_port: int, supabase_port: int, host: str, latency_ms: float,
            error_rate: float, seed: int, api_key: str | None, settings: tuple[str, ...]) -> None:
    """Run local OpenAI, LlamaParse and Supabase Storage emulators until interrupted.

    Knobs can also be changed while they run: POST a JSON object to <url>/_emulator/config.
    """
    common: dict[str, Any] = {"latency_ms": latency_ms, "error_rate": error_rate, "seed": seed, "api_key": api_key}
    extra = knob_settings(settings)
    ports = {"openai": openai_port, "llamaparse": llamaparse_port, "supabase": supabase_port}
    running: dict[str, RunningEmulator] = {}
    try:
        for kind, port in ports.items():
            try:
                running[kind] = start(kind, port=port, host=host, **{**common, **extra[kind]})
            except ValueError as exc:  # pydantic's ValidationError included: a bad knob name or value
                raise click.UsageError(f"{kind}: {exc}") from None
        for kind, emulator in running.items():
            click.echo(f"{kind:<10} {emulator.url}  (admin: {emulator.url}/_emulator/config)")
        click.echo("\nPoint TVDb at them:")
        for line in exports(running):
            click.echo(line)
        click.echo("\nCtrl-C stops them.", err=True)
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        for emulator in running.values():
            emulator.stop()


if __name__ == "__main__":
    emulate()
