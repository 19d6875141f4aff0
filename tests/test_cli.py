"""`smartcharge operator add EMAIL`: a bad e-mail or password is one clear line and exit code 2.

The values are checked before a password is asked for or a database is started,
so the refusals below touch no database: the data folder stays empty.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import psycopg
import pytest

from conftest import serving
from smartcharge.cli import main
from smartcharge.database import Database
from smartcharge.runtime import Runtime
from smartcharge.settings import Settings


def run(
    tmp_path: Path, email: bytes, stdin: bytes = b"operator-pass\n"
) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "SMARTCHARGE_DATA_DIR": str(tmp_path / "var")}
    env.pop("SMARTCHARGE_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable.encode(), b"-m", b"smartcharge.cli", b"operator", b"add", email],
        input=stdin,
        capture_output=True,
        env=env,
        timeout=60,
        check=False,
    )


def assert_refused_in_one_line(answer: subprocess.CompletedProcess[bytes], *words: str) -> None:
    stderr = answer.stderr.decode(errors="replace")
    assert answer.returncode == 2, stderr
    assert stderr.count("\n") == 1 and "Traceback" not in stderr, stderr
    for word in words:
        assert word in stderr, stderr


@pytest.mark.parametrize(
    ("email", "words"),
    [
        pytest.param(b"ops\xff@example.com", ["email", "control characters"], id="not UTF-8"),
        pytest.param(b"o" * 300 + b"@example.com", ["email", "at most 254"], id="312 characters"),
        pytest.param(b"ops@", ["email", "'ops@' is not an e-mail address"], id="no domain"),
    ],
)
def test_a_bad_email_is_one_line_and_exit_code_2(
    tmp_path: Path, email: bytes, words: list[str]
) -> None:
    answer = run(tmp_path, email)

    assert_refused_in_one_line(answer, "smartcharge: refused:", *words)
    assert not (tmp_path / "var").exists(), "no database was started for a refused e-mail"


def test_a_password_with_a_control_character_is_one_line_and_exit_code_2(tmp_path: Path) -> None:
    answer = run(tmp_path, b"ops@example.com", stdin=b"operator\x01pass\n")

    assert_refused_in_one_line(answer, "password", "control characters")
    assert not (tmp_path / "var").exists()


def test_a_nul_in_the_email_is_refused_before_anything_starts(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A process's arguments cannot hold NUL; main() is what they would reach.
    code = main(["operator", "add", "ops\x00@example.com", "--generate-password"])

    err = capsys.readouterr().err
    assert code == 2
    assert err == "smartcharge: refused: email: must not contain control characters such as NUL\n"


@pytest.mark.postgres
def test_operator_add_records_the_operator_and_starts_nothing_else(
    settings: Settings, database: Database
) -> None:
    """Only the command service: no read-model tables, no followers. The service that starts
    later builds its read models from the store, and the new operator logs in."""
    env = {
        **os.environ,
        "SMARTCHARGE_DATABASE_URL": database.conninfo(),
        "SMARTCHARGE_DATABASE_SCHEMA": str(database.schema),
    }
    added = subprocess.run(
        [sys.executable, "-m", "smartcharge.cli", "operator", "add", "first@example.com"],
        input=b"first-operator-pw\n",
        capture_output=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert added.returncode == 0, added.stderr.decode()
    with psycopg.connect(database.conninfo()) as conn:
        tables = {
            row[0]
            for row in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                (database.schema,),
            )
        }
    assert any(t.endswith("_events") for t in tables), tables  # the event store
    assert not any(t.startswith("rm_") for t in tables), tables

    runtime = Runtime(settings, database).start()
    try:
        with serving(runtime.api) as url:
            answer = httpx.post(
                f"{url}/api/auth/login",
                json={"email": "first@example.com", "password": "first-operator-pw"},
            )
        assert answer.status_code == 200, answer.text
    finally:
        runtime.close()
