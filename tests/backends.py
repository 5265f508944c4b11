"""The library backends the store, people and scan tests run on: an SQLite file, and a fresh database on
the PostgreSQL server named by ``$FACEORG_TEST_POSTGRES_URL`` (a URL whose user may create databases,
e.g. ``postgresql://postgres@127.0.0.1:5432/postgres``; ``.ci/run`` starts one). Without that server the
PostgreSQL variants skip, except in CI (``CI=true``), where they fail."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

POSTGRES_URL_ENV = "FACEORG_TEST_POSTGRES_URL"
BACKENDS = ("sqlite", "postgresql")


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI must run the PostgreSQL tests: {reason}")
    pytest.skip(reason)


def admin_url() -> str:
    """The test server's URL (skips or, in CI, fails when it is not set)."""
    url = os.environ.get(POSTGRES_URL_ENV)
    if not url:
        _unavailable(f"no PostgreSQL server for the tests: set {POSTGRES_URL_ENV} "
                     "(e.g. postgresql://postgres@127.0.0.1:5432/postgres)")
    assert url is not None
    return url


def _psycopg_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _with_database(url: str, name: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The reachable test server's URL (once per session)."""
    import psycopg

    url = admin_url()
    try:
        psycopg.connect(_psycopg_url(url), connect_timeout=5).close()
    except psycopg.Error as exc:
        _unavailable(f"the PostgreSQL server {POSTGRES_URL_ENV}={url} is not reachable: {exc}")
    return url


def create_database(server: str) -> str:
    """A fresh empty database on ``server``; returns its URL."""
    import psycopg

    name = f"faceorg_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_psycopg_url(server), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return _with_database(server, name)


def drop_database(server: str, url: str) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    name = make_url(url).database
    with psycopg.connect(_psycopg_url(server), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture()
def postgres_database(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh PostgreSQL database's URL, dropped after the test."""
    server = request.getfixturevalue("postgres_server")
    url = create_database(server)
    try:
        yield url
    finally:
        drop_database(server, url)


@pytest.fixture(params=BACKENDS)
def db_location(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path | str]:
    """Where a test's library lives: ``tmp_path/lib.sqlite``, or a fresh PostgreSQL database's URL."""
    if request.param == "sqlite":
        yield tmp_path / "lib.sqlite"
        return
    yield request.getfixturevalue("postgres_database")


def sqlite_only(location: Path | str, reason: str) -> Path:
    """Skip the PostgreSQL variant of a test that concerns the SQLite file itself, with the reason."""
    if not isinstance(location, Path):
        pytest.skip(f"SQLite only: {reason}")
    return location
