"""Alembic environment for the store. The store runs migrations on open, passing its own
connection (already inside the transaction) in ``config.attributes["connection"]``; from the
command line (``alembic -x url=...``) a connection is made from that URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from analyzer.store.schema import metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from analyzer.store.database import make_engine, resolve_url

    engine = make_engine(resolve_url(context.get_x_argument(as_dictionary=True).get("url")))
    with engine.connect() as conn:
        _run(conn)
        conn.commit()


# Alembic executes this file as the module "env_py"; imported as part of the package
# (by a tool walking it), it does nothing.
if __name__ == "env_py":
    _main()
