"""INSERT ... ON CONFLICT DO NOTHING for the two dialects we run on."""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_ignoring_conflicts(session: Session, model, rows: list[dict], conflict_columns: list[str]) -> int:
    """Insert the rows that do not collide on ``conflict_columns``; returns how many were inserted."""
    if not rows:
        return 0
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    key = getattr(model, conflict_columns[0])
    # Rows go as execute parameters, not .values(rows): a statement with its values inlined is cached by SQLAlchemy
    # together with those values (vectors, texts), one cache entry per row count. RETURNING counts the rows inserted
    # exactly on both dialects, where rowcount of a multi-row insert may be -1.
    statement = dialect.insert(model).on_conflict_do_nothing(index_elements=conflict_columns).returning(key)
    return len(session.execute(statement, rows).all())


def upsert_where(session: Session, model, rows: list[dict], conflict_columns: list[str], update_columns: list[str],
                 where) -> None:
    """Insert the rows; where one collides, overwrite ``update_columns`` only if ``where(excluded)`` holds."""
    if not rows:
        return
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(model)
    statement = statement.on_conflict_do_update(
        index_elements=conflict_columns,
        set_={name: statement.excluded[name] for name in update_columns},
        where=where(statement.excluded),
    )
    session.execute(statement, rows)
