"""Start-up failures are one paragraph naming the setting to change, never a traceback:
the port taken, the database unreachable, refusing the login, or missing."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest
from typer.testing import CliRunner

from central_logger.cli import app as cli
from tests.support.live import free_port

runner = CliRunner()


def serve(database_url: str, port: int) -> tuple[int, str]:
    result = runner.invoke(
        cli,
        ["serve", "--port", str(port)],
        env={"DATABASE_URL": database_url, "API_KEYS": "{}", "ENVIRONMENT": "production"},
    )
    return result.exit_code, result.stderr


def assert_one_paragraph(text: str) -> None:
    assert "Traceback" not in text
    assert len(text.strip().splitlines()) == 1, text


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield int(holder.getsockname()[1])


def test_a_taken_port_is_named_with_the_way_out(database_url: str, taken_port: int) -> None:
    code, err = serve(database_url, taken_port)
    assert code == 1
    assert_one_paragraph(err)
    assert f"port {taken_port} on 127.0.0.1 is taken (address already in use)" in err
    assert f"make run PORT={taken_port + 1}" in err


def _with(url: str, *, user: str | None = None, dbname: str | None = None) -> str:
    """The suite's database URL with another user or database name."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if user is not None:
        netloc = f"{user}@{netloc.rpartition('@')[2]}"
    return urlunsplit(parts._replace(netloc=netloc, path=f"/{dbname}" if dbname else parts.path))


def test_a_database_refusing_the_login_names_database_url(database_url: str) -> None:
    code, err = serve(_with(database_url, user="no_such_user_17"), free_port())
    assert code == 1
    assert_one_paragraph(err)
    assert "DATABASE_URL" in err
    assert "refused the login" in err
    assert "unset DATABASE_URL to use the embedded PostgreSQL" in err


def test_an_unreachable_database_names_database_url(database_url: str) -> None:
    url = f"postgresql+psycopg://user:secret-pw@127.0.0.1:{free_port()}/logger_db"
    code, err = serve(url, free_port())
    assert code == 1
    assert_one_paragraph(err)
    assert "could not be reached" in err
    assert "correct the host and port in DATABASE_URL" in err
    assert "secret-pw" not in err  # the password is never echoed


def test_a_missing_database_says_so(database_url: str) -> None:
    code, err = serve(_with(database_url, dbname="central_logger_no_such_db"), free_port())
    assert code == 1
    assert_one_paragraph(err)
    assert "has no such database" in err
