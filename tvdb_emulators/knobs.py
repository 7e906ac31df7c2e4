"""The knobs an operator or a test turns: set at start-up, changed at run time over ``POST /_emulator/config``.

One pydantic model per emulator, all sharing the fault and rate-limit knobs, so a typo in a knob name or an
impossible value is a 400 with the reason instead of a silently ignored setting.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

FaultKind = Literal["ok", "server_error", "rate_limit", "timeout", "malformed", "outage"]


class Knobs(BaseModel):
    """Knobs every emulator has."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seed: int = Field(0, description="seeds fault draws and generated ids; same seed + same requests = same run")
    api_key: str | None = Field(None, description="the only key accepted; None accepts any non-empty key")
    latency_ms: float = Field(0.0, ge=0, description="added before every API request is handled")

    error_rate: float = Field(0.0, ge=0, le=1, description="share of requests answered 500 before processing")
    timeout_rate: float = Field(0.0, ge=0, le=1, description="share of requests that hang (see timeout_phase)")
    timeout_phase: Literal["after_processing", "before_processing"] = Field(
        "after_processing",
        description="after_processing: the work is done and billed, then the response is held back; "
        "before_processing: nothing is done or billed, and a client still waiting after hang_s gets a 504",
    )
    hang_s: float = Field(600.0, gt=0, description="how long a hung request is held; ends early if the client leaves")
    malformed_rate: float = Field(0.0, ge=0, le=1, description="share of responses corrupted after processing")
    malformed_mode: Literal["truncated_json", "not_json", "empty"] = "truncated_json"
    fault_routes: list[str] | None = Field(
        None, description="route names that faults apply to (see GET /_emulator/routes); None = every API route"
    )
    next_faults: list[FaultKind] = Field(
        default_factory=list, description="scripted faults for the next in-scope requests, in order, before rates"
    )
    outage_windows: list[tuple[float, float]] = Field(
        default_factory=list, description="[start_s, end_s) on the emulator clock during which every request is 503"
    )

    rate_limit_requests: int | None = Field(None, ge=1, description="requests per window; None = unlimited")
    rate_limit_tokens: int | None = Field(None, ge=1, description="tokens per window; None = unlimited")
    rate_limit_window_s: float = Field(60.0, gt=0)
    injected_retry_after_ms: int = Field(1000, ge=0, description="Retry-After sent with a scripted rate_limit fault")

    @model_validator(mode="after")
    def _rates_fit_one_draw(self) -> Knobs:
        if self.error_rate + self.timeout_rate + self.malformed_rate > 1:
            raise ValueError("error_rate + timeout_rate + malformed_rate must not exceed 1")
        for start, end in self.outage_windows:
            if end <= start:
                raise ValueError(f"outage window [{start}, {end}) ends before it starts")
        return self

    def public(self) -> dict[str, Any]:
        """The knobs as JSON, with the key masked: config is readable over HTTP and ends up in logs."""
        data = self.model_dump(mode="json")
        if data.get("api_key"):
            data["api_key"] = "***"
        return data


class BilledKnobs(Knobs):
    """Knobs of an emulator that bills (OpenAI in tokens, LlamaParse in credits)."""

    insufficient_quota: bool = Field(False, description="refuse billable work as an account out of credit does")
    quota: float | None = Field(None, ge=0, description="cap on total billed units; work past it is refused")


def patched(knobs: Knobs, patch: dict[str, Any], now: float) -> Knobs:
    """``knobs`` with ``patch`` applied and validated.

    ``outage_for_s`` is a shorthand that adds the window [now, now + outage_for_s) to ``outage_windows``.
    """
    patch = dict(patch)
    outage_for = patch.pop("outage_for_s", None)
    merged = {**knobs.model_dump(), **patch}
    if outage_for is not None:
        merged["outage_windows"] = [*merged["outage_windows"], (now, now + float(outage_for))]
    return type(knobs).model_validate(merged)
