"""The product database as a Dagster resource."""

from __future__ import annotations

from dagster import ConfigurableResource
from pydantic import Field
from sqlalchemy.orm import Session, sessionmaker

from tvdb import settings
from tvdb.db.engine import session_factory


class DatabaseResource(ConfigurableResource):
    url: str = Field(
        default="",
        description="SQLAlchemy URL; pass EnvVar('TVDB_DATABASE_URL') when it holds a password. Empty: the local "
        "SQLite file under .tvdb/.",
    )

    def resolved_url(self) -> str:
        return self.url or settings.database_url()

    def sessions(self) -> sessionmaker[Session]:
        return session_factory(self.resolved_url())
