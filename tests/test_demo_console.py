"""`smartcharge demo` as a newcomer reads its console: one line per charger change in plain
words and local time, OCPP frames only with --verbose, and a banner whose command adds an
operator who can then log in to the running demo."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from smartcharge.demo import HOME_USER
from test_demo import Demo

pytestmark = pytest.mark.slow

# "DEMO-CP-2/1: 32 A, priority charge until 06:20 CET", "... 0 A, exclusion time until 21:00 CET"
CHANGE = re.compile(
    r"^DEMO-CP-[12]/1: \d+ A, (free to charge|exclusion time|priority charge)"
    r"( until (\w{3} )?\d\d:\d\d [A-Z]{3,4})?$"
)
FRAME = re.compile(r"\bocpp\b.*(send|receive)", re.IGNORECASE)


@pytest.fixture
def start_demo(embedded_folder: Path, tmp_path: Path) -> Iterator[Callable[..., Demo]]:
    started: list[Demo] = []

    def start(*flags: str) -> Demo:
        demo = Demo.start(embedded_folder, tmp_path / "demo.log", *flags)
        started.append(demo)
        return demo

    yield start
    for demo in started:
        demo.stop()


def press_priority_charge(base: str) -> None:
    driver = {"email": HOME_USER[0], "password": HOME_USER[1]}
    token = httpx.post(f"{base}/api/auth/login", json=driver).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    (group,) = httpx.get(f"{base}/api/me/groups", headers=headers).json()
    pressed = httpx.post(f"{base}/api/me/groups/{group['id']}/priority-charge", headers=headers)
    assert pressed.status_code == 200, pressed.text


def printed_after_banner(demo: Demo) -> list[str]:
    banner_end = demo.console.seen.index(next(s for s in demo.console.seen if "Ctrl+C" in s))
    return [line for line in demo.console.seen[banner_end + 1 :] if line.strip()]


def test_the_console_says_each_change_in_words_and_local_time_without_frames(
    start_demo: Callable[..., Demo],
) -> None:
    demo = start_demo()
    base = demo.base_url()
    demo.console.wait_for("Ctrl+C")
    first = demo.console.wait_for("DEMO-CP-")

    press_priority_charge(base)
    priority = demo.console.wait_for("A, priority charge until")

    assert CHANGE.match(first), first
    assert re.match(
        r"^DEMO-CP-[12]/1: (16|32) A, priority charge until (\w{3} )?\d\d:\d\d CES?T$", priority
    )
    for line in printed_after_banner(demo):
        assert CHANGE.match(line), line
    logged = demo.console.errors.read_text()
    assert not FRAME.search(logged), logged[:2000]
    assert "BootNotification" not in logged + "\n".join(demo.console.seen)


def test_verbose_shows_the_ocpp_frames_too(start_demo: Callable[..., Demo]) -> None:
    demo = start_demo("--verbose")
    demo.base_url()
    demo.console.wait_for("Ctrl+C")
    demo.console.wait_for("DEMO-CP-")  # after its SetChargingProfile, logged as it came

    assert "BootNotification" in demo.console.errors.read_text()


def test_the_banners_command_adds_an_operator_who_logs_in_to_the_running_demo(
    start_demo: Callable[..., Demo], tmp_path: Path
) -> None:
    demo = start_demo()
    base = demo.base_url()
    line = demo.console.wait_for("Add an operator")
    command = shlex.split(line.split("Add an operator", 1)[1])
    assert command[:3] == ["smartcharge", "operator", "add"]
    email = "new.colleague@example.com"
    argv = [sys.executable, "-m", "smartcharge.cli", *command[1:-1], email]
    # Run from elsewhere, without the demo's environment: the command alone finds its database.
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMARTCHARGE_")}

    added = subprocess.run(
        argv, env=env, cwd=tmp_path, input="plum-orchard-sextant-77\n", text=True,
        capture_output=True, timeout=120,
    )  # fmt: skip

    assert added.returncode == 0, added.stderr
    assert f"operator {email} added" in added.stdout
    login = httpx.post(
        f"{base}/api/auth/login", json={"email": email, "password": "plum-orchard-sextant-77"}
    )
    assert login.status_code == 200, login.text
