"""The test suite's embedded PostgreSQL (SMARTCHARGE_TEST_EMBEDDED=1) stops when pytest is
ended by SIGTERM or SIGINT, as when it finishes: no `postgres -D` of its folder is left."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
TESTS = Path(__file__).parent


def servers_of(data_dir: str) -> list[str]:
    listed = subprocess.run(["ps", "-eww", "-o", "args"], capture_output=True, text=True).stdout
    return [line for line in listed.splitlines() if "postgres" in line and data_dir in line]


def wait_for(condition: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return True
        time.sleep(0.1)  # polling another process, which no event of ours can tell
    return False


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signalled_test_run_stops_its_embedded_postgres(
    tmp_path: Path, signum: signal.Signals
) -> None:
    ready = tmp_path / "ready"
    env = {**os.environ, "SMARTCHARGE_TEST_EMBEDDED": "1", "PROBE_READY": str(ready)}
    run = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         str(TESTS / "embedded_stop_probe.py")],
        cwd=TESTS.parent, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        assert wait_for(ready.exists, 120), "the probe never got its database"
        data_dir = ready.read_text()
        assert servers_of(data_dir), "no embedded server found while the probe runs"

        run.send_signal(signum)
        output, _ = run.communicate(timeout=60)

        assert wait_for(lambda: not servers_of(data_dir), 30), (servers_of(data_dir), output)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
