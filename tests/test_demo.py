"""`smartcharge demo`: a newcomer's first minute, as a subprocess on its own embedded database."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conftest import free_port
from smartcharge.demo import HOME_USER, OPERATOR

pytestmark = pytest.mark.slow


class Console:
    """The demo's standard output, line by line, for a test to wait on."""

    def __init__(self, process: subprocess.Popen[str]):
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, args=(process,), daemon=True).start()

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, text: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            self.seen.append(line)
            if text in line:
                return line
        raise AssertionError(f"{text!r} not printed; the demo printed: {self.seen[-20:]}")


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[str, Console]]:
    http_port, ocpp_port = free_port(), free_port()
    env = {
        **os.environ,
        "SMARTCHARGE_DATA_DIR": str(tmp_path),
        "SMARTCHARGE_HTTP_PORT": str(http_port),
        "SMARTCHARGE_OCPP_PORT": str(ocpp_port),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("SMARTCHARGE_DATABASE_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "smartcharge.cli", "demo"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    console = Console(process)
    try:
        yield f"http://127.0.0.1:{http_port}", console
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_a_charger_reacts_to_start_priority_charge_within_a_minute(
    demo: tuple[str, Console],
) -> None:
    base, console = demo
    console.wait_for("Smart charging demo is running")
    console.wait_for("(A)")  # a charger got its exclusion profile and reports its limit

    driver = {"email": HOME_USER[0], "password": HOME_USER[1]}
    login = httpx.post(f"{base}/api/auth/login", json=driver)
    assert login.status_code == 200, login.text
    headers = {"Authorization": f"Bearer {login.json()['token']}"}
    (group,) = httpx.get(f"{base}/api/me/groups", headers=headers).json()
    pressed = httpx.post(f"{base}/api/me/groups/{group['id']}/priority-charge", headers=headers)
    assert pressed.status_code == 200

    line = console.wait_for("priority charge: full power", timeout=60)
    assert "DEMO-CP-" in line
    operator_login = {"email": OPERATOR[0], "password": OPERATOR[1]}
    operator = httpx.post(f"{base}/api/auth/login", json=operator_login)
    assert operator.status_code == 200
