"""The project's packages are top-level names (`domain`, `api`, ...): each must resolve to this
project's `src/`, never to a PyPI project of the same name installed beside it."""

from __future__ import annotations

import importlib
import importlib.metadata
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"
PACKAGES = ["domain", "projections", "scheduler", "chargers", "api", "smartcharge"]


@pytest.mark.parametrize("name", PACKAGES)
def test_each_package_resolves_to_our_src(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__file__ is not None
    assert Path(module.__file__).resolve().is_relative_to(SRC / name), module.__file__


@pytest.mark.parametrize("name", PACKAGES)
def test_no_other_installed_distribution_claims_the_name(name: str) -> None:
    claimed_by = importlib.metadata.packages_distributions().get(name, [])
    assert set(claimed_by) <= {"smartcharge"}, f"{name} is also installed by {claimed_by}"
