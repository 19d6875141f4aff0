"""The one way a follower handles events: a plain function per event kind, registered by
decorator.

    groups: Handlers[Handler] = Handlers("groups")

    @groups.on(SmartChargingGroup.Renamed)
    def _renamed(curs, t, e): ...

A read model's handler gets the transaction's cursor, the tables and the event; the
read models' view (`view.py`) calls every read model's handler for an event in one
transaction, with the tracking position. The audit log's handlers get the same and
return the entry to record (`audit_log.py`); the scheduler's get the scheduler and the
event (`scheduler/service.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from psycopg import Cursor

from projections.tables import Tables

Handler = Callable[[Cursor[Any], Tables, Any], None]
H = TypeVar("H", bound=Callable[..., Any])


class Handlers(Generic[H]):
    def __init__(self, name: str):
        self.name = name
        self._by_kind: dict[type, H] = {}

    def on(self, *kinds: type) -> Callable[[H], H]:
        def register(handler: H) -> H:
            for kind in kinds:
                if kind in self._by_kind:
                    raise ValueError(f"{self.name}: {kind.__qualname__} handled twice")
                self._by_kind[kind] = handler
            return handler

        return register

    def get(self, kind: type) -> H | None:
        return self._by_kind.get(kind)

    def kinds(self) -> frozenset[type]:
        return frozenset(self._by_kind)
