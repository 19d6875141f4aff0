"""The one way a read model handles events: a plain function per event kind, registered by
decorator, given the transaction's cursor, the tables and the event.

    groups = Handlers("groups")

    @groups.on(SmartChargingGroup.Renamed)
    def _renamed(curs, t, e): ...

The read models' view (`view.py`) calls every read model's handler for an event
in one transaction, with the tracking position.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from psycopg import Cursor

from projections.tables import Tables

Handler = Callable[[Cursor[Any], Tables, Any], None]


class Handlers:
    def __init__(self, read_model: str):
        self.read_model = read_model
        self._by_kind: dict[type, Handler] = {}

    def on(self, *kinds: type) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            for kind in kinds:
                if kind in self._by_kind:
                    raise ValueError(f"{self.read_model}: {kind.__qualname__} handled twice")
                self._by_kind[kind] = handler
            return handler

        return register

    def get(self, kind: type) -> Handler | None:
        return self._by_kind.get(kind)

    def kinds(self) -> frozenset[type]:
        return frozenset(self._by_kind)
