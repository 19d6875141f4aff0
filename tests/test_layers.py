"""The layers' imports point down (DESIGN.md): the API reaches chargers only through the
ChargerGateway port of ApiContext, so serving it loads no OCPP code."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OCPP_PACKAGES = ("ocpp", "chargers")

IMPORT_THE_API = """
import json, pkgutil, sys
import api, api.app
for module in pkgutil.walk_packages(api.__path__, "api."):
    __import__(module.name)
loaded = [
    name for name in sys.modules
    if name.partition(".")[0] in {packages!r}
]
print(json.dumps(sorted(loaded)))
"""


def test_importing_the_api_imports_no_ocpp_code() -> None:
    """In a fresh interpreter: this test process may hold the gateway's modules already."""
    found = subprocess.run(
        [sys.executable, "-c", IMPORT_THE_API.format(packages=set(OCPP_PACKAGES))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )

    assert json.loads(found.stdout.splitlines()[-1]) == []
