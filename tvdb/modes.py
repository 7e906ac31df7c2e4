"""Which mode each service runs in, and why: a run-time override in the database beats the environment.

Workers read the mode on every call, so ``tvdb mode set hybrid`` takes effect on the next call of every running
worker, with no restart.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from .db.models import ServiceControl
from .db.upsert import insert_ignoring_conflicts
from .settings import SERVICES, service_mode

MODES = ("mock", "real", "hybrid")


@dataclass(frozen=True)
class ModeDecision:
    service: str
    mode: str
    source: str  # e.g. "database override", "SERVICE_MODE_OPENAI", "SERVICE_MODE", "default"


def _env_mode(service: str) -> ModeDecision:
    name = f"SERVICE_MODE_{service.upper()}"
    raw = (os.environ.get(name) or "").strip().lower()
    if raw:
        if raw not in MODES:
            raise ValueError(f"{name} must be one of {', '.join(MODES)}, got {raw!r}")
        return ModeDecision(service, raw, name)
    source = "SERVICE_MODE" if os.environ.get("SERVICE_MODE") else "default"
    return ModeDecision(service, service_mode(), source)


def effective_mode(session: Session, service: str) -> ModeDecision:
    override = session.scalar(select(ServiceControl.mode_override).where(ServiceControl.service == service))
    if override:
        return ModeDecision(service, override, "database override (tvdb mode set)")
    return _env_mode(service)


def effective_modes(sessions: sessionmaker[Session]) -> dict[str, ModeDecision]:
    with sessions() as session:
        return {service: effective_mode(session, service) for service in SERVICES}


def set_mode(sessions: sessionmaker[Session], mode: str | None, service: str | None = None) -> None:
    """Override the mode of one service, or of all (``mode=None`` clears the override)."""
    if mode is not None and mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    targets = [service] if service else list(SERVICES)
    unknown = set(targets) - set(SERVICES)
    if unknown:
        raise ValueError(f"unknown service {sorted(unknown)[0]!r}; services: {', '.join(SERVICES)}")
    with sessions.begin() as session:
        insert_ignoring_conflicts(session, ServiceControl, [dict(service=s) for s in targets], ["service"])
        session.execute(update(ServiceControl).where(ServiceControl.service.in_(targets)).values(mode_override=mode))
