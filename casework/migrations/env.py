"""Alembic environment for the case store.

The store runs the migrations itself (:func:`casework.store.migrate`) on a connection it has already
opened and locked; that connection arrives in ``config.attributes["connection"]``. Run by hand (for
example ``alembic -c casework/alembic.ini upgrade head``) the URL comes from ``sqlalchemy.url``, or
from ``TRIAGE_DATABASE_URL`` / the default SQLite file, as the store would choose it.
"""

from __future__ import annotations

from alembic import context

from casework.store import make_engine, resolve_url

config = context.config


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=None,  # migrations are written by hand; see casework/store/tables.py for the models
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or resolve_url()
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported for the case store")
run_migrations_online()
