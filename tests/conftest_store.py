"""Store fixtures, parametrized over SQLite and PostgreSQL. Use with
``pytest_plugins = ["conftest_store"]``.

``store_url`` gives each test an empty store: a fresh SQLite file, and, when
$THREAD_ANALYZER_TEST_PG_URL names a PostgreSQL server (``.ci/start-postgres.sh`` starts
one and prints the URL), a fresh schema inside a database made for this test session and
dropped after it. Without the variable the PostgreSQL cases skip, saying why.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Iterator

import pytest

PG_ENV = "THREAD_ANALYZER_TEST_PG_URL"
PG_SKIP = (
    f"PostgreSQL store tests need ${PG_ENV} (e.g. postgresql+psycopg://analyzer:analyzer-test@127.0.0.1:5432/analyzer); "
    "run .ci/start-postgres.sh as root to start a server and print the URL"
)
_schemas = itertools.count()


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str | None]:
    """A uniquely named database on the server in $THREAD_ANALYZER_TEST_PG_URL for this
    session (dropped at the end), as a URL string; None when the variable is unset."""
    base = os.environ.get(PG_ENV)
    if not base:
        yield None
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from analyzer.store.database import resolve_url

    url = resolve_url(base)
    name = f"ta_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # a server that is down: say so once, clearly
        admin.dispose()
        pytest.fail(f"cannot create a test database on {url.render_as_string(hide_password=True)}: {exc}")
    try:
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def fresh_pg_schema(database_url: str) -> str:
    """A new, empty schema in the session database; the URL returned uses it first."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    schema = f"t{next(_schemas)}_{uuid.uuid4().hex[:6]}"
    engine = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    url = make_url(database_url).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path, pg_database: str | None) -> str:
    """An empty store's URL on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    if pg_database is None:
        pytest.skip(PG_SKIP)
    return fresh_pg_schema(pg_database)
