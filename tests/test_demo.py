"""`smartcharge demo`: a newcomer's first minute, as a subprocess on its own embedded database."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from smartcharge.demo import HOME_USER, OPERATOR

pytestmark = pytest.mark.slow


class Console:
    """The demo's standard output, line by line, for a test to wait on."""

    def __init__(self, process: subprocess.Popen[str], errors: Path):
        self.errors = errors
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, args=(process,), daemon=True).start()

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)  # the demo has ended

    def wait_for(self, text: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                raise AssertionError(f"the demo ended before printing {text!r}:\n{self.log()}")
            self.seen.append(line)
            if text in line:
                return line
        raise AssertionError(f"{text!r} not printed; the demo printed: {self.seen[-20:]}")

    def log(self) -> str:
        return "\n".join(self.errors.read_text(errors="replace").splitlines()[-40:])


@dataclass
class Demo:
    process: subprocess.Popen[str]
    console: Console
    data_dir: Path

    @classmethod
    def start(cls, data_dir: Path, errors: Path, *flags: str) -> Demo:
        """`smartcharge demo` with `flags` on the embedded database in `data_dir`, on free
        ports, its log in `errors`."""
        env = {
            **os.environ,
            "SMARTCHARGE_DATA_DIR": str(data_dir),
            "SMARTCHARGE_HTTP_PORT": "0",
            "SMARTCHARGE_OCPP_PORT": "0",
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("SMARTCHARGE_DATABASE_URL", None)
        with errors.open("w") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "smartcharge.cli", "demo", *flags],
                env=env,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )
        return cls(process, Console(process, errors), data_dir)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)

    def base_url(self) -> str:
        """The portal's address, from the banner (the demo chose free ports)."""
        self.console.wait_for("Smart charging demo is running")
        return self.console.wait_for("Consumer portal").split()[2].rstrip("/")


@pytest.fixture
def demo(embedded_folder: Path, tmp_path: Path) -> Iterator[Demo]:
    started = Demo.start(embedded_folder, tmp_path / "demo.log")
    try:
        yield started
    finally:
        started.stop()


def test_a_charger_reacts_to_start_priority_charge_within_a_minute(demo: Demo) -> None:
    base, console = demo.base_url(), demo.console
    console.wait_for(" A, ")  # a charger got its exclusion profile and reports its limit

    driver = {"email": HOME_USER[0], "password": HOME_USER[1]}
    login = httpx.post(f"{base}/api/auth/login", json=driver)
    assert login.status_code == 200, login.text
    headers = {"Authorization": f"Bearer {login.json()['token']}"}
    (group,) = httpx.get(f"{base}/api/me/groups", headers=headers).json()
    pressed = httpx.post(f"{base}/api/me/groups/{group['id']}/priority-charge", headers=headers)
    assert pressed.status_code == 200

    line = console.wait_for("A, priority charge until", timeout=60)
    assert "DEMO-CP-" in line
    operator_login = {"email": OPERATOR[0], "password": OPERATOR[1]}
    operator = httpx.post(f"{base}/api/auth/login", json=operator_login)
    assert operator.status_code == 200


def test_stopping_the_demo_stops_its_embedded_database(demo: Demo) -> None:
    """SIGTERM, as a service manager (or a test) sends it: the demo's PostgreSQL stops too."""
    demo.base_url()
    server_pid = demo.data_dir / "demo" / "postgres" / "postmaster.pid"
    assert server_pid.exists()

    demo.process.terminate()

    assert demo.process.wait(timeout=30) == 0, demo.console.log()
    assert not server_pid.exists(), "the demo's PostgreSQL is still running"
