"""Values that never change once made, so that copies of an aggregate share them.

The application copies every aggregate it hands a command (`deepcopy`, so that a command
that fails half-way leaves the cached one untouched). A frozen value needs no copy: a
delivery's profiles, with their periods, were most of the time a command spent copying.
"""

from __future__ import annotations

from typing import Any, Self


class Immutable:
    """For frozen dataclasses whose fields are immutable too: copying gives the value itself."""

    __slots__ = ()

    def __copy__(self) -> Self:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Self:
        return self
