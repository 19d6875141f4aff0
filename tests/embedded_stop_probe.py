"""Not collected by itself (no test_ prefix): test_embedded_stop.py runs it in a pytest of its
own on an embedded PostgreSQL, then signals that pytest while this waits."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import psycopg

from smartcharge.database import Database


def test_waits_for_a_signal(database: Database) -> None:
    with psycopg.connect(database.conninfo()) as conn:
        row = conn.execute("SHOW data_directory").fetchone()
    assert row is not None
    Path(os.environ["PROBE_READY"]).write_text(str(row[0]))
    threading.Event().wait(120)  # the signal ends it long before
