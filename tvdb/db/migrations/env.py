from alembic import context

from tvdb.db.migrate import VERSION_TABLE
from tvdb.db.models import Base


def _migrate(connection) -> None:
    context.configure(
        connection=connection, target_metadata=Base.metadata, render_as_batch=True, version_table=VERSION_TABLE
    )
    context.run_migrations()


def run_migrations() -> None:
    connection = context.config.attributes.get("connection")  # given when the caller holds the migration lock
    if connection is not None:
        _migrate(connection)
        return
    with context.config.attributes["engine"].begin() as connection:
        _migrate(connection)


run_migrations()
